"""Column scan: propose tags per column from a sample, with evidence.

Rules (OpenMetadata's max-score rule tags a column on a single false positive; this does not):
- only text columns are scanned (numbers, booleans, dates, timestamps are skipped);
- the column name is given to Presidio as context (« reporter_phone » boosts phone patterns);
- structured columns: an entity is proposed when it is found in at least ``hit_rate`` of the
  non-null sampled values with a mean score ≥ ``min_score``; NER entities (person, location)
  also need varied values (distinct ratio ≥ ``ner_min_distinct``), so codes and categories
  are not taken for names or places;
- distinct values are analysed once (weighted by their count); the spaCy model only runs on
  columns with a capitalised word (names, places), pattern recognisers on every text column;
- free-text columns (long, many words: citizen reports, social posts) are analysed text by
  text, and an entity is proposed when found in at least ``free_text_hit_rate`` of texts.
Each proposal keeps entity types, hit rates, scores, sample size, recognisers and time.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import pyarrow as pa

from governance import analyzer
from governance.levels import ENTITY_POLICIES, FREE_TEXT_TAG, level_for_tags, max_level, tags_for_entities

NER = set(analyzer.NER_ENTITIES)
SEPARATOR = "\n"
# A word starting with a letter that is not ASCII/Latin-1 lower case, followed by letters only.
CAPITALISED_WORD = re.compile(r"\b[^\W\d_a-zß-ÿ][^\W\d_]+")
NAME_HINTS = {
    "phone": "téléphone",
    "tel": "téléphone",
    "telephone": "téléphone",
    "mobile": "téléphone",
    "email": "courriel",
    "mail": "courriel",
    "courriel": "courriel",
    "name": "nom",
    "nom": "nom",
    "address": "adresse",
    "adresse": "adresse",
    "postcode": "postal",
    "zip": "postal",
    "cp": "postal",
    "postal": "postal",
    "nir": "nir",
    "ssn": "sécurité",
    "secu": "sécurité",
    "plate": "immatriculation",
    "immatriculation": "immatriculation",
    "iban": "iban",
    "rib": "iban",
    "siret": "siret",
    "siren": "siren",
}


@dataclass(frozen=True)
class ScanConfig:
    sample_size: int = 200
    hit_rate: float = 0.3
    min_score: float = 0.5
    free_text_hit_rate: float = 0.02
    free_text_min_hits: int = 2
    free_text_min_chars: int = 40
    free_text_min_words: int = 6
    ner_min_distinct: float = 0.1
    batch_size: int = 64


def is_text(t: pa.DataType) -> bool:
    return (
        pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
        if hasattr(pa.types, "is_string_view")
        else (pa.types.is_string(t) or pa.types.is_large_string(t))
    )


def name_context(column: str) -> list[str]:
    parts = [p for p in column.lower().replace("-", "_").split("_") if p]
    return sorted(set(parts) | {NAME_HINTS[p] for p in parts if p in NAME_HINTS})


def needs_ner(values: list[str]) -> bool:
    """Person and place names need a capitalised word; codes, numbers, dates and e-mails never reach the model."""
    return any(CAPITALISED_WORD.search(v) for v in values)


def _joined_analysis(values: list[str], context: list[str], threshold: float, ner: bool = True) -> list[list]:
    """Analyse many short values in ONE spaCy document (one line each), results split back per value."""
    doc, starts, pos = [], [], 0
    for v in values:
        v = v.replace("\n", " ")
        starts.append(pos)
        doc.append(v)
        pos += len(v) + len(SEPARATOR)
    text = SEPARATOR.join(doc)
    per_value: list[list] = [[] for _ in values]
    import bisect

    for r in analyzer.analyze(text, context=context, threshold=threshold, ner=ner):
        i = bisect.bisect_right(starts, r.start) - 1
        end_of_value = starts[i] + len(doc[i])
        if r.end <= end_of_value:  # spans crossing a line belong to no single value
            per_value[i].append(r)
    return per_value


def _entity_evidence(per_value: list[list], weights: list[int], non_null: int) -> dict:
    hits, scores, recognizers = Counter(), defaultdict(list), defaultdict(set)
    for results, w in zip(per_value, weights):
        seen = set()
        for r in results:
            scores[r.entity_type].append(r.score)
            recognizers[r.entity_type].add((r.recognition_metadata or {}).get("recognizer_name", "?"))
            seen.add(r.entity_type)
        for e in seen:
            hits[e] += w
    return {
        e: {
            "hits": hits[e],
            "hit_rate": round(hits[e] / non_null, 4) if non_null else 0.0,
            "mean_score": round(sum(scores[e]) / len(scores[e]), 3),
            "max_score": round(max(scores[e]), 3),
            "recognizers": sorted(recognizers[e]),
        }
        for e in sorted(hits)
    }


def scan_column(name: str, array: pa.ChunkedArray | pa.Array, config: ScanConfig = ScanConfig()) -> dict:
    """Proposal for one column of a sample."""
    started = time.perf_counter()
    out = {"type": str(array.type), "kind": "skipped", "tags": [], "level": "PUBLIC", "evidence": {}}
    if not is_text(array.type):
        out["evidence"] = {"skipped": "type non textuel"}
        return out
    values = [v for v in array.to_pylist() if v is not None and str(v).strip()]
    counts = Counter(values)
    distinct = list(counts)
    non_null = len(values)
    mean_chars = sum(len(v) for v in values) / non_null if non_null else 0
    mean_words = sum(len(v.split()) for v in values) / non_null if non_null else 0
    free_text = mean_chars >= config.free_text_min_chars and mean_words >= config.free_text_min_words
    out["kind"] = "free_text" if free_text else "text"
    context = name_context(name)
    ner = free_text or needs_ner(distinct)
    if not distinct:
        per_value = []
    elif free_text:
        per_value = analyzer.analyze_batch(
            distinct, context=context, threshold=config.min_score, batch_size=config.batch_size
        )
    else:
        per_value = _joined_analysis(distinct, context, config.min_score, ner=ner)
    entities = _entity_evidence(per_value, [counts[v] for v in distinct], non_null)
    distinct_ratio = len(distinct) / non_null if non_null else 0.0
    proposed = []
    for e, ev in entities.items():
        if e not in ENTITY_POLICIES:
            continue
        if free_text:
            ok = ev["hits"] >= config.free_text_min_hits and ev["hit_rate"] >= config.free_text_hit_rate
        else:
            ok = ev["hit_rate"] >= config.hit_rate and ev["mean_score"] >= config.min_score
            named = bool({"nom", "adresse"} & set(context))
            if e in NER and distinct_ratio < config.ner_min_distinct and not named:
                ok = False
                ev["rejected"] = f"valeurs peu variées (ratio distinct {distinct_ratio:.2f})"
        ev["proposed"] = ok
        if ok:
            proposed.append(e)
    tags = tags_for_entities(proposed)
    if free_text and tags:
        tags = sorted(set(tags) | {FREE_TEXT_TAG})
    out.update(
        tags=tags,
        level=level_for_tags(tags),
        evidence={
            "entities": entities,
            "sample_size": non_null,
            "distinct": len(distinct),
            "context": context,
            "ner": ner,
            "rule": "free_text" if free_text else "hit_rate",
            "thresholds": {
                "hit_rate": config.free_text_hit_rate if free_text else config.hit_rate,
                "min_score": config.min_score,
            },
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
    return out


def scan_table(
    dataset: str,
    table: pa.Table,
    config: ScanConfig = ScanConfig(),
    *,
    rows_total: int | None = None,
    fingerprints: dict | None = None,
) -> dict:
    """Proposal for a whole (sampled) table."""
    started = time.perf_counter()
    columns = {
        f.name: scan_column(f.name, table.column(f.name), config) for f in table.schema if not f.name.startswith("_")
    }
    return {
        "dataset": dataset,
        "scanned_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "sample_rows": table.num_rows,
        "rows_total": rows_total,
        "config": asdict(config),
        "recognizers": sorted({r.name for r in analyzer.get_analyzer().registry.recognizers}),
        "schema_fingerprint": schema_fingerprint(table.schema),
        **(fingerprints or {}),
        "level": max_level(*(c["level"] for c in columns.values())),
        "columns": columns,
        "seconds": round(time.perf_counter() - started, 3),
    }


def schema_fingerprint(schema: pa.Schema) -> str:
    body = json.dumps([(f.name, str(f.type)) for f in schema if not f.name.startswith("_")])
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def mark_changes(new: dict, previous: dict | None) -> dict:
    """Flag columns whose proposed tags differ from the previous proposal (review needed)."""
    old_cols = (previous or {}).get("columns", {})
    for name, col in new["columns"].items():
        old = old_cols.get(name)
        col["changed"] = previous is not None and (
            old is None and bool(col["tags"]) or old is not None and sorted(old.get("tags", [])) != sorted(col["tags"])
        )
        if old is not None:
            col["previous_tags"] = old.get("tags", [])
    new["previous_scanned_at"] = (previous or {}).get("scanned_at")
    return new
