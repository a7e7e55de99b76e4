"""NIR (numéro de sécurité sociale) in every written form.

Sex, year, month, département (``2A``/``2B`` for Corsica), commune, order number, then the
two-digit key (97 − n mod 97, Corsica rule applied by python-stdnum). Digits may be grouped
(``1 85 05 78 006 084 91``), dotted, or spaced one by one. A valid key scores high on its own;
a 13-character NIR without key, or one whose key is wrong (a typo), scores low and is reported
only next to a context word (« N° de sécurité sociale », « assuré », « NIR », « sécu »). The
13 characters without key written in the NIR's own grouping (« 1 85 05 78 006 084 »,
« 1.85.05.78.006.084 ») or spaced one by one score medium on their own: no other French number
is written so. A wrong key always needs a context word.
"""

from __future__ import annotations

import re

from stdnum.fr import nir as stdnum_nir

from governance.pii import context
from governance.pii.base import SpanRecognizer

SEP = r"[ .\-\u00a0]?"
CANDIDATE = re.compile(
    rf"(?<![\w.])(?<!\d[ .\-])[12378](?:{SEP}[\dAB]){{12}}(?:{SEP}\d){{0,2}}(?!{SEP}\d)(?!\w)",
)
STRUCTURE = re.compile(r"^[12378]\d{2}(?:0[1-9]|1[0-2]|[2-9]\d)(?:\d{2}|2[AB])\d{6}$")
# The NIR's own grouping (sex, year, month, département, commune, order), or one by one.
GROUPED = re.compile(r"^\d([ .\u00a0])\d\d\1\d\d\1[\dAB]{2}\1\d{3}\1\d{3}(?:\1\d\d)?$|^[\dAB](?: [\dAB]){12,14}$")
VALID_SCORE = 0.95
GROUPED_SCORE = 0.5  # medium on its own; + context (0.35) → 0.85, still below a valid key
WEAK_SCORE = 0.3  # + context (0.35) → 0.65: medium


def _compact(s: str) -> str:
    return re.sub(r"[ .\-\u00a0]", "", s)


class FrNirRecognizer(SpanRecognizer):
    ENTITIES = ("FR_NIR",)
    CONTEXT = context.NIR

    def spans(self, text: str):
        for m in CANDIDATE.finditer(text):
            raw = m.group()
            value = _compact(raw)
            if not STRUCTURE.match(value[:13]):
                continue
            if len(value) == 15 and stdnum_nir.is_valid(value):
                yield m.start(), m.end(), "FR_NIR", VALID_SCORE, "NIR, clé valide"
                continue
            if value[0] not in "12":
                continue
            end = m.end()
            if len(value) == 14:  # 13 characters and a stray digit: keep the 13
                end = m.start() + _offset_of(raw, 13)
            reason = "NIR sans clé" if len(value) != 15 else "NIR, clé invalide"
            grouped = len(value) != 15 and GROUPED.match(text[m.start() : end])
            score = GROUPED_SCORE if grouped else WEAK_SCORE
            yield m.start(), end, "FR_NIR", score, reason


def _offset_of(raw: str, n: int) -> int:
    """Offset just after the n-th significant character of ``raw``."""
    seen = 0
    for i, ch in enumerate(raw):
        if ch not in " .-\u00a0":
            seen += 1
            if seen == n:
                return i + 1
    return len(raw)
