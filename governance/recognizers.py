"""French recognisers Presidio lacks, and the one place where every recogniser is registered.

Each recogniser is a small class; :data:`RECOGNIZERS` lists them (add a class there to
register it). The personal-data ones (NIR, phones, places, person names) live in
``governance.pii``, their context words in ``governance.pii.context``. Checksums are
validated with python-stdnum. Structure-only matches (NIR without its key or with a wrong
key, SIREN, postcodes on their own) start with a low score and need a context word (or the
column name, passed as context by the scanner) to be reported.
"""

from __future__ import annotations

import re

from presidio_analyzer import Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import EmailRecognizer, IbanRecognizer, SpacyRecognizer
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from governance.pii import context
from governance.pii.nir import FrNirRecognizer
from governance.pii.persons import FrPersonRecognizer
from governance.pii.phones import FrPhoneRecognizer
from governance.pii.places import FrPlaceRecognizer

LANG = "fr"
CASE_SENSITIVE = re.DOTALL | re.MULTILINE
WS = r"[ \t\u00a0]"  # never a newline: the scanner joins column values one per line


def _compact(text: str) -> str:
    return re.sub(r"[\s.\-\u00a0]", "", text).upper()


class FrSiretRecognizer(PatternRecognizer):
    """SIRET (14 digits, Luhn checksum via stdnum; La Poste's special rule included)."""

    def __init__(self):
        super().__init__(
            supported_entity="FR_SIRET",
            name="FrSiretRecognizer",
            supported_language=LANG,
            patterns=[Pattern("siret", r"\b\d{3}[ \u00a0]?\d{3}[ \u00a0]?\d{3}[ \u00a0]?\d{5}\b", 0.5)],
            context=list(context.SIRET),
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
            context=list(context.SIREN),
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
            context=list(context.PLATE),
            global_regex_flags=CASE_SENSITIVE,
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
            context=list(context.EMAIL),
        )


def _builtin():
    return [
        EmailRecognizer(supported_language=LANG, context=list(context.EMAIL)),
        IbanRecognizer(supported_language=LANG, context=list(context.IBAN)),
        SpacyRecognizer(supported_language=LANG, supported_entities=["PERSON", "LOCATION"]),
    ]


# The registry: every recogniser the platform uses, built-in (configured for France) and French.
RECOGNIZERS = (
    _builtin,
    FrNirRecognizer,
    FrPhoneRecognizer,
    FrPlaceRecognizer,
    FrPersonRecognizer,
    FrSiretRecognizer,
    FrSirenRecognizer,
    FrLicencePlateRecognizer,
    FrSpacedEmailRecognizer,
)


def all_recognizers() -> list:
    out = []
    for factory in RECOGNIZERS:
        made = factory()
        out.extend(made if isinstance(made, list) else [made])
    return out
