"""French recognisers on real-looking French strings (one spaCy model load per session)."""

import pytest

from governance.analyzer import analyze


def found(text, entity):
    return [text[r.start : r.end] for r in analyze(text) if r.entity_type == entity]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Numéro de sécurité sociale : 1 85 05 78 006 084 91.", "1 85 05 78 006 084 91"),  # valid key
        ("NIR 185057800608491 transmis.", "185057800608491"),
        ("Assuré né en Corse, NIR 2 69 05 2A 123 456 ?", None),  # see below
        ("Carte Vitale n° 1 8 5 0 5 7 8 0 0 6 0 8 4 9 1", "1 8 5 0 5 7 8 0 0 6 0 8 4 9 1"),  # digit by digit
    ],
)
def test_nir_forms(text, expected):
    hits = found(text, "FR_NIR")
    if expected:
        assert hits == [expected]
    else:
        assert hits, "13-character NIR with a context word must be found"


def test_nir_with_wrong_key_needs_context_and_corsica_key_checked():
    assert found("1 85 05 78 006 084 92", "FR_NIR") == []
    hits = [r for r in analyze("sécurité sociale 1 85 05 78 006 084 92") if r.entity_type == "FR_NIR"]
    assert len(hits) == 1 and 0.5 <= hits[0].score < 0.9  # a typo in the key: medium score
    from stdnum.fr import nir

    corsica = "269052A123456"
    valid = corsica + nir.calc_check_digits(corsica)
    assert found(f"NIR {valid}", "FR_NIR") == [valid]


def test_siret_siren_plate_address_postcode():
    assert found("SIRET 732 829 320 00074", "FR_SIRET") == ["732 829 320 00074"]
    assert found("SIRET 732 829 320 00075", "FR_SIRET") == []
    assert found("Véhicule AB-123-CD stationné", "FR_LICENCE_PLATE") == ["AB-123-CD"]
    assert found("plaque SS-123-AB", "FR_LICENCE_PLATE") == []
    text = "Il habite au 12 bis rue Victor Hugo, 59000 Lille depuis mai."
    assert found(text, "FR_ADDRESS") == ["12 bis rue Victor Hugo"]
    assert found(text, "FR_POSTCODE") == ["59000"] and found(text, "LOCATION") == ["Lille"]
    assert found("code postal 59000", "FR_POSTCODE") == ["59000"]


@pytest.mark.parametrize(
    "phone", ["06 12 34 56 78", "06.12.34.56.78", "+33 6 12 34 56 78", "(33) 6 12 34 56 78", "0033 6 12 34 56 78"]
)
def test_french_phone_formats(phone):
    assert found(f"Appelez le {phone} demain", "PHONE_NUMBER") == [phone]


def test_email_iban_person_and_no_false_positive_on_codes():
    assert found("écrire à marie.dubois@orange.fr", "EMAIL_ADDRESS") == ["marie.dubois@orange.fr"]
    assert found("courriel : dupont @ mairie-valdelys.fr", "EMAIL_ADDRESS") == ["dupont @ mairie-valdelys.fr"]
    assert found("IBAN FR76 3000 6000 0112 3456 7890 189", "IBAN_CODE") == ["FR76 3000 6000 0112 3456 7890 189"]
    assert found("IBAN FR76 3000 6000 0112 3456 7890 189", "LOCATION") == []
    assert found("Le dossier est suivi par Mme Claire Fontaine.", "PERSON") == ["Claire Fontaine"]
    for code in ("R2026-000123", "D01", "2026-03-01T10:00:00Z", "AQ01", "50.6312"):
        assert analyze(code) == [], code
