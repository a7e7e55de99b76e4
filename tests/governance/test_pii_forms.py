"""Every written form of French personal data the recognisers must catch, and look-alikes they must not."""

import pytest
from stdnum.fr import nir

from governance.analyzer import analyze
from governance.pii import context
from governance.recognizers import all_recognizers


def found(text, entity):
    return [text[r.start : r.end] for r in analyze(text) if r.entity_type == entity]


def score(text, entity):
    return max((r.score for r in analyze(text) if r.entity_type == entity), default=0.0)


# -- NIR ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "nir_text",
    ["1 85 05 78 006 084 91", "185057800608491", "1.85.05.78.006.084.91", "1 8 5 0 5 7 8 0 0 6 0 8 4 9 1"],
)
def test_nir_with_valid_key_scores_high_alone(nir_text):
    assert found(f"Dossier transmis : {nir_text}.", "FR_NIR") == [nir_text]
    assert score(f"Dossier transmis : {nir_text}.", "FR_NIR") >= 0.9


@pytest.mark.parametrize("word", ["N° de sécurité sociale", "Assuré", "NIR", "sécu"])
def test_nir_without_key_needs_a_context_word(word):
    assert found("Réf. 1850578006084 archivée", "FR_NIR") == []
    text = f"{word} : 1 85 05 78 006 084"
    assert found(text, "FR_NIR") == ["1 85 05 78 006 084"]
    assert 0.5 <= score(text, "FR_NIR") < 0.9


@pytest.mark.parametrize("dept", ["2A", "2B"])
def test_corsica_nir(dept):
    body = f"2690{5}{dept}123456"
    valid = body + nir.calc_check_digits(body)
    spaced = f"{valid[0]} {valid[1:3]} {valid[3:5]} {valid[5:7]} {valid[7:10]} {valid[10:13]} {valid[13:]}"
    assert found(f"Patiente {spaced} vue ce jour", "FR_NIR") == [spaced]


# -- phones ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "phone",
    [
        "06 12 34 56 78",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "06/12/34/56/78",
        "0612345678",
        "+33 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
        "0033 6 12 34 56 78",
        "O6 12 34 56 78",  # letter O typed for zero
        "+32 4 123 45 67",
        "+41 22 123 45 67",
        "+49 30 1234567",
        "+39 02 1234 5678",
        "+34 91 123 45 67",
        "+352 21 12 34 56",
    ],
)
def test_phone_forms(phone):
    assert found(f"Secrétariat : {phone} merci", "PHONE_NUMBER") == [phone]


def test_internal_extensions():
    assert found("Joindre le service au 01 45 67 89 10 poste 4521", "PHONE_NUMBER") == ["01 45 67 89 10", "4521"]
    assert found("Standard 01 45 67 89 10 p. 4521", "PHONE_NUMBER") == ["01 45 67 89 10", "4521"]
    assert found("Voir le rapport p. 1234 et suivantes", "PHONE_NUMBER") == []


@pytest.mark.parametrize(
    "text",
    [
        "Rendez-vous le 01/02/2024 10:30 au cabinet",
        "SIRET 732 829 320 00074",
        "SIRET employeur : 004 463 816 00829",
        "Montant 1 234 567,89 € réglé",
        "Commande n° 0612345678 expédiée",
        "Facture 2024-0612345678",
        "Ticket R2026-000123 du 12.03.2024",
        "Né le 12/03/1985 à Lyon",
    ],
)
def test_no_phone_nor_nir_in_numbers_dates_and_amounts(text):
    hits = [r for r in analyze(text) if r.entity_type in ("PHONE_NUMBER", "FR_NIR")]
    assert hits == [], text


# -- places ------------------------------------------------------------------------------------
def test_postcode_and_commune():
    text = "3, AVENUE FOCH - 69006 LYON CEDEX 06"
    assert found(text, "FR_ADDRESS") == ["3, AVENUE FOCH"]
    assert found(text, "FR_POSTCODE") == ["69006"] and found(text, "LOCATION") == ["LYON"]
    assert found("Envoi au 75700 PARIS CEDEX 07", "FR_POSTCODE") == ["75700"]
    assert found("Montant 15000 EUR", "FR_POSTCODE") == [] and found("En 2024 Paris a gagné", "FR_POSTCODE") == []
    assert found("Département 96000 Nulle-Part", "FR_POSTCODE") == []  # 96 is no département


@pytest.mark.parametrize(
    "text,address,postcode",
    [
        ("Domicile : douze rue des Lilas 75013 Paris", "douze rue des Lilas", "75013"),
        ("vingt-deux avenue de la République, 13001 Marseille", "vingt-deux avenue de la République", "13001"),
        ("Rue de la Loi 16, 1000 Bruxelles", "Rue de la Loi 16", "1000"),
        ("Bahnhofstrasse 12, 8001 Zürich", "Bahnhofstrasse 12", "8001"),
        ("Via Roma 10, 10121 Torino", "Via Roma 10", "10121"),
        ("45 route de Chêne, CH-1208 Genève", "45 route de Chêne", "1208"),
    ],
)
def test_french_and_foreign_addresses(text, address, postcode):
    assert found(text, "FR_ADDRESS") == [address]
    assert found(text, "FR_POSTCODE") == [postcode]


# -- persons -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text,name",
    [
        ("Patient : Jean DUPONT, né le 3 mai", "Jean DUPONT"),
        ("Patiente DUPONT Marie-Claire hospitalisée", "DUPONT Marie-Claire"),
        ("Vu par J-L ABRAS ce matin", "J-L ABRAS"),
        ("Courrier signé Z.Phillot hier", "Z.Phillot"),
        ("adressé par le Dr.Martin pour avis", "Martin"),
        ("adressé par le DrLEFEBVRE pour avis", "LEFEBVRE"),
        ("Mme LE GOFF Anne a appelé", "LE GOFF Anne"),
        ("Compte rendu rédigé par Kasia FERRAND", "Kasia FERRAND"),
    ],
)
def test_person_forms(text, name):
    assert found(text, "PERSON") == [name]


@pytest.mark.parametrize(
    "text",
    [
        "CENTRE HOSPITALIER UNIVERSITAIRE\nService de Cardiologie",
        "Compte Rendu de consultation",
        "Il habite 12 rue Victor Hugo.",
        "Responsable : à désigner",
    ],
)
def test_no_person_in_headers_streets_and_labels(text):
    assert found(text, "PERSON") == [], text


def test_context_words_are_defined_once():
    lists = {v for k, v in vars(context).items() if k.isupper()}
    for rec in all_recognizers():
        if rec.context:
            assert tuple(rec.context) in lists, rec.name


@pytest.mark.parametrize("nir_text", ["1 60 07 97 347 907", "1.56.07.33.712.859", "2 9 7 0 3 6 9 1 3 2 1 0 7"])
def test_nir_without_key_in_its_own_grouping_scores_medium_without_context(nir_text):
    text = f"pt GARCIA Jules ({nir_text}) vu ce jour"
    assert found(text, "FR_NIR") == [nir_text]
    assert 0.5 <= score(text, "FR_NIR") < 0.9
    assert found("pt GARCIA Jules (2.82.02.67.244.981.71)", "FR_NIR") == []  # wrong key: context needed


@pytest.mark.parametrize(
    "text,name",
    [
        ("adressé par le Dr Józef Ribeiro pour avis", "Józef Ribeiro"),
        ("Fille : TRAORE ŁUKASZ joignable le soir", "TRAORE ŁUKASZ"),
        ("Suivi par MARQUES FRIEDRICH, tél. poste 4521", "MARQUES FRIEDRICH"),
        ("Personne à prévenir : Carre Paulina", "Carre Paulina"),
        ("- M. Kevin Zhang, VP Engineering", "Kevin Zhang"),
        ("Suivi par I. JACQUET, tél. 03 12 34 56 78", "I. JACQUET"),  # « jacquet » is also a French word
    ],
)
def test_foreign_letters_labelled_pairs_and_job_titles(text, name):
    assert found(text, "PERSON") == [name]


@pytest.mark.parametrize(
    "text",
    [
        "MAIRIE DE LACROIX — Service état civil",
        "CENTRE HOSPITALIER DE SAINTE ANNE\nService de cardiologie",
        "- ✓ Correction RÉSERVE 1 (Patch Management)",
        "Audit de Conformité ISO 27001 : Maturité RGPD excellente",
    ],
)
def test_no_person_in_institution_towns_and_headings(text):
    assert found(text, "PERSON") == [], text


def test_places_known_or_after_a_preposition():
    assert found("Politique de sécurité : Conforme\nNote : Satisfaisant", "LOCATION") == []
    assert found("Les équipes sont venues de Mulhouse hier", "LOCATION") == ["Mulhouse"]
    assert found("Extension à la Métropole de Bordeaux, en lien", "LOCATION") == ["Bordeaux"]
    text = "138 rue Valentine Marion\n29958 Le Roux CEDEX 09"
    assert found(text, "FR_POSTCODE") == ["29958"] and found(text, "LOCATION") == ["Le Roux"]


@pytest.mark.parametrize(
    "text,places",
    [
        ("Cabinet externe : Deloitte France\n- Partner", ["France"]),
        ("Périmètre : Siège Paris (150 collaborateurs)", ["Paris"]),
        ("Mme Sarah McDonald, VP Europe", ["Europe"]),
        ("coordonné avec l'ARS Hauts-de-France.", ["Hauts-de-France"]),
        ("Au CHU de Lille, nous avons", ["Lille"]),
        ("avec la Préfecture de la Gironde, la Région Nouvelle-Aquitaine", ["Gironde", "Nouvelle-Aquitaine"]),
        ("Convocation à Tours le 3 mai", ["Tours"]),  # a French word: a place after « à »
        ("Cher confrère, je vous adresse", []),  # a département, but a French word: needs « à », « en »…
        ("Tours de table prévus en mai", []),
        ("Réunion du projet Phoenix", []),  # a code name
        ("Je vais aux meetups Paris.js", []),
        ("Vu ce jour M. Paris et Jean Lyon", []),  # a title or a first name before: a person
    ],
)
def test_known_place_names_on_their_own(text, places):
    assert found(text, "LOCATION") == places


def test_a_person_wins_over_a_place_name_and_a_commune_over_a_person():
    text = "Personne à prévenir : Dominique VALETTE (04 21 66 12 13)"  # « Dominique » is also a country
    assert found(text, "PERSON") == ["Dominique VALETTE"] and found(text, "LOCATION") == []
    text = "Adresse : 87 rue Gallet, 64688 Maurice\nContact : 01 23 45 67 89"
    assert found(text, "LOCATION") == ["Maurice"] and found(text, "PERSON") == []


@pytest.mark.parametrize(
    "text,people",
    [
        ("Partenariat avec le cabinet Michael Page (consultant : M. Marc Durand)", ["Marc Durand"]),
        ("Prestataire suggéré : Synacktiv (M. Fabien Perigaud)", ["Fabien Perigaud"]),
        ("- AXA Cyber : M. Thomas Buberl", ["Thomas Buberl"]),
        ("- Juridique : Maître Didier Martin (Bredin Prat, conseil)", ["Didier Martin"]),
        ("Docteur en informatique à l'Université Claude Bernard.", []),
        ("Je contacte M. Jean-Marc Bideau chez Hiscox (notre courtier)", ["Jean-Marc Bideau"]),
        ("Il est hébergé chez Paul Martin, son frère.", ["Paul Martin"]),
        ("Participants : Jean Dupont, Mme Martin", ["Jean Dupont", "Martin"]),
        ("Chef de projet : M. Thomas Weber, Métropole de Lyon", ["Thomas Weber"]),
        ("  - Microsoft DART (M. John Lambert)", ["John Lambert"]),
        ("M. Weber : INSA Lyon avec le Pr. Frédéric Fotiadu", ["Weber", "Frédéric Fotiadu"]),
        ("Fille : MERLE Maja joignable le soir", ["MERLE Maja"]),
    ],
)
def test_organisations_named_like_people(text, people):
    assert found(text, "PERSON") == people
