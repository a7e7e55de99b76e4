"""Addresses, postcodes and communes.

- French streets: ``12 bis rue Victor Hugo``, ``douze rue des Lilas`` (number in words),
  ``3, AVENUE FOCH``; a street without number scores lower.
- Foreign streets: number after the name (``Rue de la Loi 16``, ``Via Roma 10``,
  ``Bahnhofstrasse 12``).
- Postcode + commune: five digits with a valid département prefix (01–95, 2A/2B, 97x, 98x)
  followed by a commune name, optionally ``CEDEX`` and its number; the postcode is
  FR_POSTCODE, the commune LOCATION. Four-digit (Belgian, Swiss, Luxembourg ``L-``) and
  German codes count only right after a street. A postcode on its own needs context.
- Known place names on their own (``governance.pii.place_names``): « Deloitte France »,
  « Siège Paris », « VP Europe », « l'ARS Hauts-de-France ».
"""

from __future__ import annotations

import re

from governance.pii import context
from governance.pii.base import SpanRecognizer
from governance.pii.letters import LOW, UP, WS
from governance.pii.place_names import find_places

STREET_TYPES = (
    "rue|avenue|av\\.|bd|boulevard|place|allée|allee|impasse|chemin|route|quai|cours|square|passage|"
    "faubourg|rond-point|esplanade|promenade|voie|sentier|résidence|lotissement|hameau|cité|parvis|mail|sente|ruelle|"
    "villa|clos|domaine|montée|traverse|chaussée|za|zi|zac"
)
NUMBER_WORDS = (
    "un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|"
    "vingt|trente|quarante|cinquante|soixante|cent"
)
SMALL = "de|du|des|la|le|les|l'|l’|d'|d’|à|aux|en|et|sur|sous"
NAME_TOKEN = rf"(?:(?:{SMALL}){WS}+|(?:l['’]|d['’])?[{UP}0-9][\w'’\-]*{WS}*)"
NAME = rf"(?:{NAME_TOKEN}){{1,6}}"
NUMBER = (
    rf"(?:\d{{1,4}}(?:{WS}?(?:bis|ter|quater|[A-D])\b)?|(?i:(?:{NUMBER_WORDS})(?:[\- ](?:et[\- ])?(?:{NUMBER_WORDS}))*)"
    rf"(?:{WS}(?i:bis|ter))?)"
)
FR_STREET = re.compile(rf"(?<![\w,])(?:{NUMBER},?{WS}+)?(?i:\b(?:{STREET_TYPES}))\b{WS}+{NAME}")
FOREIGN_TYPES = "Rue|Avenue|Chaussée|Boulevard|Place|Via|Viale|Corso|Piazza|Calle|Avenida|Plaza|Paseo|Rua|Largo"
GERMAN = rf"[{UP}][{LOW}]+(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm)"
FOREIGN_STREET = re.compile(
    rf"(?<!\d{WS})\b(?:(?:{FOREIGN_TYPES}){WS}+{NAME}|{GERMAN}{WS}+)(\d{{1,4}}[a-z]?)\b(?!{WS}?(?:bis|ter)\b)"
)
COMMUNE = rf"[{UP}][{UP}{LOW}'’\-]*(?:(?:{WS}|-)(?:(?:sur|sous|en|le|la|les|de|du|des|lès|lez)(?:{WS}|-))?[{UP}][{UP}{LOW}'’\-]*)*"
FR_POSTCODE = r"(?:0[1-9]|[1-8]\d|9[0-5]|2[AB]|97[1-8]|98[0-9])\d{3}"
POSTCODE_CITY = re.compile(
    rf"(?<![\w\-])(?:F-)?({FR_POSTCODE})\b{WS}+({COMMUNE})(?:{WS}+(?:CEDEX|Cedex|cedex)(?:{WS}+\d{{1,2}})?)?"
)
FOREIGN_CITY = re.compile(rf"^,?{WS}*(?:(?:CH|L|B|D|I|E)-)?(\d{{4,5}})\b{WS}+({COMMUNE})")
AFTER_STREET = re.compile(rf"^(?:,|{WS}-|{WS})?{WS}*(?:\n{WS}*)?")
POSTCODE_ALONE = re.compile(rf"(?<![\w\-,.])({FR_POSTCODE})(?![\w\-,.]\d?)")
NOT_COMMUNE = {"CEDEX", "EUR", "Euros", "Euro", "Habitants", "Hab", "Ans", "Et"}
ARTICLES = {"Le", "La", "Les", "LE", "LA", "LES"}  # a commune only with its name (« Le Havre »)
TRAILING_SMALL = {"de", "du", "des", "la", "le", "les", "et", "à", "aux", "en", "sur", "sous"}
STREET_SCORE, BARE_STREET_SCORE, FOREIGN_SCORE = 0.75, 0.4, 0.65
POSTCODE_SCORE, COMMUNE_SCORE, POSTCODE_ALONE_SCORE = 0.7, 0.6, 0.2
PLACE_NAME_SCORE = 0.9  # above the model's: Presidio keeps it inside a model span (« CHU de Lille »)
PLACE_NAME_REASON = "nom de lieu connu"


def _trim(text: str, start: int, end: int) -> int:
    """Cut the street name before a postcode it swallowed, then drop trailing particles."""
    words = text[start:end].rstrip(" \t\u00a0,").split(" ")
    cut = next(
        (i for i, w in enumerate(words) if i > 1 and re.fullmatch(r"(?:[A-Z]{1,2}-\d{4}|\d{5}),?", w)), len(words)
    )
    words = words[:cut]
    while len(words) > 1 and (words[-1].lower() in TRAILING_SMALL or not words[-1]):
        words.pop()
    return start + len(" ".join(words).rstrip(","))


class FrPlaceRecognizer(SpanRecognizer):
    ENTITIES = ("FR_ADDRESS", "FR_POSTCODE", "LOCATION")
    CONTEXT = context.PLACE

    def spans(self, text: str):
        streets = [(m.start(), m.end(), FOREIGN_SCORE) for m in FOREIGN_STREET.finditer(text)]
        for m in FR_STREET.finditer(text):
            if any(s <= m.start() < e for s, e, _ in streets):
                continue
            end = _trim(text, m.start(), m.end())
            numbered = not re.match(rf"(?i:{STREET_TYPES})\b", text[m.start() :])
            streets.append((m.start(), end, STREET_SCORE if numbered else BARE_STREET_SCORE))
        codes, communes = [], []
        for s, e, score in streets:
            yield s, e, "FR_ADDRESS", score, "adresse"
            gap = AFTER_STREET.match(text[e:])
            rest = text[e + gap.end() :]
            f = FOREIGN_CITY.match(rest)
            if f and not re.fullmatch(FR_POSTCODE, f.group(1)) and f.group(2) not in NOT_COMMUNE:
                base = e + gap.end()
                codes.append((base + f.start(1), base + f.end(1)))
                yield base + f.start(1), base + f.end(1), "FR_POSTCODE", POSTCODE_SCORE, "code postal étranger"
                communes.append((base + f.start(2), base + f.end(2)))
                yield base + f.start(2), base + f.end(2), "LOCATION", COMMUNE_SCORE, "commune"
        for m in POSTCODE_CITY.finditer(text):
            city = m.group(2)
            if city in ARTICLES or city.split()[0] in NOT_COMMUNE:
                continue
            codes.append((m.start(1), m.end(1)))
            yield m.start(1), m.end(1), "FR_POSTCODE", POSTCODE_SCORE, "code postal + commune"
            cend = m.start(2) + len(re.split(rf"{WS}+(?:CEDEX|Cedex)\b", city)[0])
            communes.append((m.start(2), cend))
            yield m.start(2), cend, "LOCATION", COMMUNE_SCORE, "commune"
        for m in POSTCODE_ALONE.finditer(text):
            if not any(s <= m.start(1) < e for s, e in codes):
                yield m.start(1), m.end(1), "FR_POSTCODE", POSTCODE_ALONE_SCORE, "code postal seul"
        for s, e in find_places(text):
            if not any(cs < e and s < ce for cs, ce in communes):  # « 64688 Maurice »: the commune's
                yield s, e, "LOCATION", PLACE_NAME_SCORE, PLACE_NAME_REASON
