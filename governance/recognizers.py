"""French recognisers Presidio lacks, and the one place where every recogniser is registered.

Each recogniser is a small class; :data:`RECOGNIZERS` lists them (add a class there to
register it). Checksums are validated with python-stdnum. Structure-only matches (NIR
without its key, SIREN, postcodes) start with a low score and need a context word (or the
column name, passed as context by the scanner) to be reported.
"""

from __future__ import annotations

import re

from presidio_analyzer import Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import EmailRecognizer, IbanRecognizer, PhoneRecognizer, SpacyRecognizer
from stdnum.fr import nir as stdnum_nir
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

LANG = "fr"
CASE_SENSITIVE = re.DOTALL | re.MULTILINE
SEP = r"[ .\u00a0]?"
WS = r"[ \t\u00a0]"  # never a newline: the scanner joins column values one per line


def _compact(text: str) -> str:
    return re.sub(r"[\s.\-\u00a0]", "", text).upper()


class FrNirRecognizer(PatternRecognizer):
    """NIR (numéro de sécurité sociale): sex, year, month, department (2A/2B), commune, order, key.

    With its key (15 characters) the key must be valid (97 − n mod 97, Corsica rule applied by
    stdnum). Without the key (13 characters, frequent in real documents) the structure is
    checked and a context word is needed. Digit-by-digit spacing is accepted.
    """

    STRUCTURE = re.compile(r"^[12378]\d{2}(0[1-9]|1[0-2]|[2-9]\d)(\d{2}|2[AB])\d{6}(\d{2})?$")

    def __init__(self):
        body = rf"\b[12378]{SEP}\d{SEP}\d{SEP}[0-9]{SEP}\d{SEP}(?:\d|A|B){SEP}[0-9AB](?:{SEP}\d){{6}}"
        super().__init__(
            supported_entity="FR_NIR",
            name="FrNirRecognizer",
            supported_language=LANG,
            patterns=[Pattern("nir", body + rf"(?:{SEP}\d{SEP}\d)?\b", 0.4)],
            context=["sécurité", "sociale", "sécu", "nir", "ss", "vitale", "insee", "assuré", "immatriculation"],
            global_regex_flags=CASE_SENSITIVE,
        )

    def validate_result(self, pattern_text: str):
        value = _compact(pattern_text)
        if not self.STRUCTURE.match(value):
            return False
        if len(value) == 15:
            return stdnum_nir.is_valid(value)
        return None  # 13 characters: structure only, context decides


class FrSiretRecognizer(PatternRecognizer):
    """SIRET (14 digits, Luhn checksum via stdnum; La Poste's special rule included)."""

    def __init__(self):
        super().__init__(
            supported_entity="FR_SIRET",
            name="FrSiretRecognizer",
            supported_language=LANG,
            patterns=[Pattern("siret", r"\b\d{3}[ \u00a0]?\d{3}[ \u00a0]?\d{3}[ \u00a0]?\d{5}\b", 0.5)],
            context=["siret", "établissement", "entreprise", "société"],
        )

    def validate_result(self, pattern_text: str):
        return None if stdnum_siret.is_valid(_compact(pattern_text)) else False


class FrSirenRecognizer(PatternRecognizer):
    """SIREN (9 digits, Luhn). Nine digits are common, so a context word is needed."""

    def __init__(self):
        super().__init__(
            supported_entity="FR_SIREN",
            name="FrSirenRecognizer",
            supported_language=LANG,
            patterns=[Pattern("siren", r"\b\d{3}[ \u00a0]?\d{3}[ \u00a0]?\d{3}\b", 0.2)],
            context=["siren", "entreprise", "société", "rcs"],
        )

    def validate_result(self, pattern_text: str):
        return None if stdnum_siren.is_valid(_compact(pattern_text)) else False


class FrLicencePlateRecognizer(PatternRecognizer):
    """French plates: SIV ``AA-123-AA`` (no I, O, U; not SS/WW-prefixed series) and old FNI ``123 ABC 75``."""

    LETTER = "[A-HJ-NP-TV-Z]"

    def __init__(self):
        siv = rf"\b(?!SS|WW){self.LETTER}{{2}}[- ]\d{{3}}[- ]{self.LETTER}{{2}}\b"
        siv_compact = rf"\b(?!SS|WW){self.LETTER}{{2}}\d{{3}}{self.LETTER}{{2}}\b"
        fni = r"\b\d{1,4}[ -][A-Z]{2,3}[ -](?:0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-6])\b"
        super().__init__(
            supported_entity="FR_LICENCE_PLATE",
            name="FrLicencePlateRecognizer",
            supported_language=LANG,
            patterns=[Pattern("siv", siv, 0.7), Pattern("siv_compact", siv_compact, 0.4), Pattern("fni", fni, 0.3)],
            context=["immatriculation", "immatriculé", "plaque", "véhicule", "voiture", "camion", "stationné"],
            global_regex_flags=CASE_SENSITIVE,
        )


STREET_TYPES = (
    "rue|avenue|av\\.|bd|boulevard|place|allée|allee|impasse|chemin|route|quai|cours|square|passage|"
    "faubourg|rond-point|esplanade|promenade|voie|sentier|résidence|lotissement|hameau|cité|parvis|mail|sente|ruelle"
)
NAME_WORD = (
    r"(?:(?:de|du|des|la|le|les|l'|l’|d'|d’|à|aux|en|et|sur|sous)"
    + WS
    + r"+|(?:[A-ZÉÈÊÀÂÎÔÛÇ0-9][\w'’\-]*)"
    + WS
    + "*){1,6}"
)


class FrAddressRecognizer(PatternRecognizer):
    """Street addresses: ``12 bis rue Victor Hugo, 59000 Lille``; a street without number scores lower."""

    def __init__(self):
        number = rf"\b\d{{1,4}}(?:{WS}?(?:bis|ter|quater|[A-D]))?,?{WS}+"
        street = rf"(?i:{STREET_TYPES}){WS}+{NAME_WORD}"
        city = rf"(?:,?{WS}*\d{{5}}{WS}+[A-ZÉÈ][\w\-']+(?:[ \-][A-ZÉÈ][\w\-']+)*)?"
        super().__init__(
            supported_entity="FR_ADDRESS",
            name="FrAddressRecognizer",
            supported_language=LANG,
            patterns=[Pattern("numbered", number + street + city, 0.75), Pattern("street", r"\b" + street + city, 0.4)],
            context=["adresse", "domicile", "habite", "demeurant", "résidant", "domicilié"],
            global_regex_flags=CASE_SENSITIVE,
        )

    def invalidate_result(self, pattern_text: str):
        words = pattern_text.split()
        return words[-1] in ("de", "du", "des", "la", "le", "les", "et", "à", "aux", "en", "sur", "sous")


class FrPostcodeRecognizer(PatternRecognizer):
    """French postcodes (01000–98999); on their own they need context (column name, « code postal »)."""

    def __init__(self):
        super().__init__(
            supported_entity="FR_POSTCODE",
            name="FrPostcodeRecognizer",
            supported_language=LANG,
            patterns=[Pattern("postcode", r"\b(?:0[1-9]|[1-8]\d|9[0-8])\d{3}\b", 0.2)],
            context=["postal", "cp", "code_postal", "codepostal", "cedex"],
        )


class FrPhoneRecognizer(PatternRecognizer):
    """French numbers as written: ``06 12 34 56 78``, ``06.12.34.56.78``, ``+33 6 12…``, ``(33) 6…``, ``0033…``."""

    def __init__(self):
        prefix = rf"(?:(?:\+|00){WS}?33{WS}?(?:\(0\){WS}?)?|\(33\){WS}?|\b0)"
        super().__init__(
            supported_entity="PHONE_NUMBER",
            name="FrPhoneRecognizer",
            supported_language=LANG,
            patterns=[Pattern("fr_phone", prefix + r"[1-9](?:[ \t.\-]?\d{2}){4}\b", 0.7)],
            context=["téléphone", "tél", "tel", "portable", "mobile", "joindre", "appeler", "fixe", "numéro", "phone"],
        )


class FrSpacedEmailRecognizer(PatternRecognizer):
    """E-mails mangled with spaces or ``(at)`` around the ``@`` (the built-in recogniser misses them)."""

    def __init__(self):
        at = rf"(?:{WS}+@{WS}*|{WS}*@{WS}+|{WS}*[\(\[]at[\)\]]{WS}*)"
        super().__init__(
            supported_entity="EMAIL_ADDRESS",
            name="FrSpacedEmailRecognizer",
            supported_language=LANG,
            patterns=[Pattern("spaced_email", r"\b[\w.+\-]+" + at + r"[\w\-]+(?:\.[\w\-]+)*\.[a-z]{2,}\b", 0.6)],
            context=["courriel", "mail", "email", "e-mail", "adresse"],
        )


def _builtin():
    return [
        EmailRecognizer(supported_language=LANG, context=["courriel", "mail", "email", "e-mail", "mél"]),
        IbanRecognizer(supported_language=LANG, context=["iban", "rib", "bancaire", "compte", "virement"]),
        PhoneRecognizer(
            supported_language=LANG,
            supported_regions=("FR",),  # +<country> numbers parse whatever the region
            context=["téléphone", "tél", "tel", "portable", "mobile", "joindre", "appeler", "numéro"],
        ),
        SpacyRecognizer(supported_language=LANG, supported_entities=["PERSON", "LOCATION"]),
    ]


# The registry: every recogniser the platform uses, built-in (configured for France) and French.
RECOGNIZERS = (
    _builtin,
    FrNirRecognizer,
    FrSiretRecognizer,
    FrSirenRecognizer,
    FrLicencePlateRecognizer,
    FrAddressRecognizer,
    FrPostcodeRecognizer,
    FrPhoneRecognizer,
    FrSpacedEmailRecognizer,
)


def all_recognizers() -> list:
    out = []
    for factory in RECOGNIZERS:
        made = factory()
        out.extend(made if isinstance(made, list) else [made])
    return out
