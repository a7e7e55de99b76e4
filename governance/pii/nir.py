"""NIR (numéro de sécurité sociale) in every written form.

Sex, year, month, département (``2A``/``2B`` for Corsica), commune, order number, then the
two-digit key (97 − n mod 97, Corsica rule applied by python-stdnum). Digits may be grouped
(``1 85 05 78 006 084 91``), dotted, or spaced one by one. A valid key scores high on its own;
a 13-character NIR without key, or one whose key is wrong (a typo), scores low and is reported
only next to a context word (« N° de sécurité sociale », « assuré », « NIR », « sécu »).
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
VALID_SCORE = 0.95
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
            yield m.start(), end, "FR_NIR", WEAK_SCORE, reason


def _offset_of(raw: str, n: int) -> int:
    """Offset just after the n-th significant character of ``raw``."""
    seen = 0
    for i, ch in enumerate(raw):
        if ch not in " .-\u00a0":
            seen += 1
            if seen == n:
                return i + 1
    return len(raw)
