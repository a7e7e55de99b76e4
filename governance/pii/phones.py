"""Phone numbers as French documents write them, and neighbouring countries' numbers.

French national numbers: ``06 12 34 56 78``, dots, dashes, slashes, no separator, letter O
typed for zero; international: ``+33 6…``, ``+33 (0)6…``, ``0033 6…``, ``(33) 6…``, ``+32``, ``+41``,
``+49``, ``+39``, ``+34``, ``+352``… (length checked by ``phonenumbers``). Short internal
extensions (« poste 4521 », « p. 4521 ») are phones too. Dates, amounts, order numbers and
SIRET are kept out by the grouping rule (one separator kind, even groups) and digit boundaries.
"""

from __future__ import annotations

import re

import phonenumbers
from stdnum.fr import siret as stdnum_siret

from governance.pii import context
from governance.pii.base import SpanRecognizer

D = "[0-9Oo]"
S = r"[ .\-/\u00a0]"
NOT_BEFORE = r"(?<![\w+/.\-])(?<![\d][ .\-/])"
NOT_AFTER = rf"(?!{S}?[0-9]|[\w,]\d)"
NATIONAL = re.compile(rf"{NOT_BEFORE}[0Oo]{S}?[1-9](?:{S}?{D}){{8}}{NOT_AFTER}")
INTERNATIONAL = re.compile(
    rf"(?<![\w+])(?:(?:\+|[0O]{{2}}){S}?[1-9]\d{{0,2}}|\(\+?[1-9]\d{{0,2}}\))(?:{S}?\(0\))?(?:{S}{{0,2}}{D}){{6,12}}{NOT_AFTER}"
)
EXTENSION = re.compile(r"\b(?:poste|ext\.?|extension|p\.)[ \u00a0]?(?:n°[ \u00a0]?)?(\d{3,5})\b", re.IGNORECASE)
NEGATIVE = re.compile(
    r"(?i)(?:commande|facture|dossier|réf\.?|référence|siret|siren|client|ticket|contrat)(?:\s*(?:n°|no\.?|num\.?))?(?:\W+\w+)?\W{0,3}$"
)
AFTER_NUMBER = re.compile(r"\d[ ,;)]*$")
SCORE = 0.7
EXTENSION_SCORE = 0.6
SHORT_SCORE = 0.35


def _national_ok(raw: str) -> bool:
    """One separator kind and even digit groups (« 06 12 34 56 78 », « 0612345678 »): not a date."""
    seps = set(re.findall(S, raw))
    if len(seps) > 1:
        return False
    groups = re.split(S, raw)
    return all(len(g) % 2 == 0 for g in groups) or (len(groups) == 5 and len(groups[0]) == 2)


def _international_ok(raw: str) -> bool:
    digits = re.sub(r"^(?:00|\(\+?)(\d+)\)?", r"+\1", re.sub(r"[Oo]", "0", raw))
    if stdnum_siret.is_valid(re.sub(r"\D", "", digits)):
        return False
    try:
        number = phonenumbers.parse(digits, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_possible_number(number)


class FrPhoneRecognizer(SpanRecognizer):
    ENTITIES = ("PHONE_NUMBER",)
    CONTEXT = context.PHONE

    def spans(self, text: str):
        taken = []
        for m in INTERNATIONAL.finditer(text):
            if _international_ok(m.group()) and not NEGATIVE.search(text[max(0, m.start() - 30) : m.start()]):
                taken.append((m.start(), m.end()))
                yield m.start(), m.end(), "PHONE_NUMBER", SCORE, "numéro international"
        for m in NATIONAL.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken) or not _national_ok(m.group()):
                continue
            score = SCORE if not NEGATIVE.search(text[max(0, m.start() - 25) : m.start()]) else SHORT_SCORE
            yield m.start(), m.end(), "PHONE_NUMBER", score, "numéro français"
        for m in EXTENSION.finditer(text):
            after_number = AFTER_NUMBER.search(text[max(0, m.start() - 3) : m.start()])
            score = EXTENSION_SCORE if after_number or not m.group().lower().startswith("p.") else SHORT_SCORE
            yield m.start(1), m.end(1), "PHONE_NUMBER", score, "poste interne"
