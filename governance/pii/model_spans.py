"""Tidying of the spaCy model's PERSON and LOCATION spans in French documents.

The model tags many capitalised words: headings and labels (« Conforme », « Registre »), job
titles (« VP Engineering »), brands (« DataCorp ») and institutions (« Métropole de Lyon »).
A model person is kept when it holds a name-like word that is not only French words; a model
place when it is a known place (``governance.pii.lexicon``), holds one (cut to it), or follows
a locative word (« à », « de », « en ») without being a French word.
"""

from __future__ import annotations

import re

from governance.pii.lexicon import LOCATIVE, all_french_words, is_place_name
from governance.pii.persons import JOB_TITLES, is_first_name, is_name_word
from governance.pii.place_names import ambiguous

TITLE = re.compile(
    r"^(?:(?:M\.|MM\.|Mme|Mmes|Mlle|Dr\.?|Me|Pr\.?|Maître|Monsieur|Madame|Mademoiselle|Professeur|Docteur)\s+)+"
)
LABEL = re.compile(r"[ \t]*:")
# « MAIRIE DE LACROIX », « Centre hospitalier de Sainte-Anne »: an institution's place, no person
INSTITUTION = (
    r"(?i:\b(?:mairie|h[oô]pital|centre hospitalier|clinique|chu|ehpad|pr[ée]fecture|universit[ée]|lyc[ée]e|coll[èe]ge|[ée]cole)"
    r"\s+(?:de|du|des|d['’])\s*)"
)
INSTITUTION_BEFORE, INSTITUTION_START = re.compile(INSTITUTION + "$"), re.compile(INSTITUTION)
SAINT = re.compile(r"(?i)^(?:saint|sainte|st|ste)\b")
CAMEL_CASE = re.compile(r"^(?!Mc|Mac|O['’])[A-Z][a-z]+[A-Z]")  # brand names (« SecurePay »), not « McDonald »
INITIAL = re.compile(r"[A-ZÀ-Þ](?:\.|-[A-ZÀ-Þ]\.?)")  # « I. JACQUET », « J-L ABRAS »: a name, whatever its words
POSTCODE_BEFORE = re.compile(r"\d{4,5}[ \t]+$")
WORDS = re.compile(r"[^\W\d_][\w'’\-]*")


def keep_model_span(text: str, r, rules) -> bool:
    """Tidy one model span in place; False when it is no personal data.

    Dropped: spans overlapping a rule's, with digits, a lone word used as a label
    (« Constat : », « Responsable : »), persons and places as in the module docstring. Cut: the
    part after a line break, a leading title (« Mme Claire Fontaine » → « Claire Fontaine »).
    """
    span = text[r.start : r.end]
    if any(p.start < r.end and r.start < p.end for p in rules) or any(ch.isdigit() for ch in span):
        return False
    r.end = r.start + len(span.split("\n")[0].rstrip())
    if " " not in text[r.start : r.end] and LABEL.match(text, r.end):
        return False
    if r.entity_type == "PERSON":
        return _keep_person(text, r)
    if r.entity_type == "LOCATION":
        return _keep_place(text, r)
    return r.start < r.end


def _keep_person(text: str, r) -> bool:
    """Cut a leading title; drop ordinary words, job titles, brands, « Métropole de Lyon »."""
    m = TITLE.match(text[r.start : r.end])
    if m:
        r.start += m.end()
    words = WORDS.findall(text[r.start : r.end])
    if not any(ch.isupper() for ch in text[r.start : r.end]) or not any(map(is_name_word, words)):
        return False
    if any(w.lower() in JOB_TITLES for w in words) or any(map(CAMEL_CASE.search, words)):
        return False  # « VP Engineering », « Lead GLOBALTECH », « DataCorp »
    if not m and not INITIAL.match(text, r.start) and not any(map(is_first_name, words)):
        places = [w for w in words if len(w) > 2 and is_place_name(w)]
        rest = [w for w in words if w not in places and len(w) > 1]  # initials are no French words
        if all_french_words(words) or (places and all_french_words(rest)):
            return False  # « Responsable », « Dette bancaire », « Métropole de Lyon »
    return r.start < r.end


def _keep_place(text: str, r) -> bool:
    """A known place, the known place inside the span, or a name after « à », « de »…

    A place name that is also a French word or a first name needs « à », « de »… or a postcode
    before it (« Cher confrère », « Tours de table »; « 59000 Lille »).
    """
    before = text[max(0, r.start - 12) : r.start]
    locative = bool(LOCATIVE.search(before))
    if not locative and not POSTCODE_BEFORE.search(before) and ambiguous(text[r.start : r.end]):
        return False
    if is_place_name(text[r.start : r.end]):
        return True
    place = _known_place(text, r.start, r.end)
    if place:
        r.start, r.end = place  # « Métropole de Bordeaux » → « Bordeaux »
        return True
    words = WORDS.findall(text[r.start : r.end])
    if not locative or all_french_words(words):
        return False  # « Conforme », « Wavestone (Mme …) »
    return all(map(is_name_word, words))


def _known_place(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The longest run of words inside a span that is a known place name, if any."""
    words = [(start + m.start(), start + m.end()) for m in WORDS.finditer(text[start:end])]
    for n in range(len(words) - 1, 0, -1):
        for i in range(len(words) - n + 1):
            s, e = words[i][0], words[i + n - 1][1]
            if text[s:e][0].isupper() and is_place_name(text[s:e]):
                return s, e
    return None


def institution_place(text: str, r) -> bool:
    """A person-looking span that names an institution's town (« MAIRIE DE LACROIX », « SAINTE ANNE »)."""
    span = text[r.start : r.end]
    before = text[max(0, r.start - 30) : r.start]
    return bool(INSTITUTION_BEFORE.search(before) or INSTITUTION_START.match(span) or SAINT.match(span))
