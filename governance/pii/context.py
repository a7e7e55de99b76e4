"""Context words, defined once: Presidio raises a medium match to a report when one of them is near.

Presidio compares them with the lower-cased tokens before the match (see
``governance.analyzer.lower_lemma``), so each entry is one lower-case token.
"""

NIR = (
    "sécurité",
    "sociale",
    "sécu",
    "secu",
    "nir",
    "nss",
    "ss",
    "vitale",
    "insee",
    "assuré",
    "assurée",
    "immatriculation",
)
PHONE = (
    "téléphone",
    "tél",
    "tel",
    "télé",
    "portable",
    "mobile",
    "joindre",
    "joignable",
    "appeler",
    "fixe",
    "numéro",
    "phone",
    "fax",
    "standard",
    "secrétariat",
    "poste",
    "contact",
)
ADDRESS = ("adresse", "domicile", "habite", "demeurant", "résidant", "domicilié", "domiciliée", "réside")
POSTCODE = ("postal", "cp", "code_postal", "codepostal", "cedex", "adresse", "commune", "ville")
PLACE = tuple(dict.fromkeys(ADDRESS + POSTCODE))
PERSON = (
    "nom",
    "prénom",
    "patient",
    "patiente",
    "né",
    "née",
    "docteur",
    "dr",
    "madame",
    "monsieur",
    "mme",
    "signé",
    "interne",
    "infirmier",
    "infirmière",
    "demandeur",
    "contact",
)
# Labels written right before a name (« Fille : », « Suivi par », « pt »): a pair of unknown
# names is a person only just after one of them (several words each, so not Presidio context).
NAME_LABELS = (
    "pt",
    "patient",
    "patiente",
    "nom",
    "demandeur",
    "demandeuse",
    "contact",
    "suivi par",
    "vu par",
    "vue par",
    "adressé par",
    "adressée par",
    "à prévenir",
    "fille",
    "fils",
    "épouse",
    "époux",
    "conjoint",
    "conjointe",
    "mère",
    "père",
    "frère",
    "sœur",
    "tuteur",
    "tutrice",
    "référent",
    "référente",
    "déclarant",
    "déclarante",
    "destinataire",
)
EMAIL = ("courriel", "mail", "email", "e-mail", "mél", "adresse")
IBAN = ("iban", "rib", "bancaire", "compte", "virement")
SIRET = ("siret", "établissement", "entreprise", "société")
SIREN = ("siren", "entreprise", "société", "rcs")
PLATE = ("immatriculation", "immatriculé", "plaque", "véhicule", "voiture", "camion", "stationné")
