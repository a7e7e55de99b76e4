"""Video-protection event metadata (JSON or JSON lines) → ``cctv.events``.

Metadata only: fields that would carry pictures (``image``, ``snapshot``, ``frame``,
``thumbnail``…) are dropped before anything is stored, quarantine included.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ingestion.datasets import CCTV_EVENTS
from ingestion.formats.limits import check_count
from ingestion.formats.values import parse_datetime
from ingestion.sources import register
from ingestion.sources.base import MAPPING_ERRORS, Batch, Context, FileRejected, RowReject, Source, mapping_reject
from ingestion.sources.jsondoc import first, json_lines, load_json

IMAGE_KEYS = ("image", "images", "snapshot", "frame", "frames", "thumbnail", "picture", "photo", "jpeg", "video")


def _metadata_only(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if not any(k.lower().startswith(p) for p in IMAGE_KEYS)}


@register
class CctvSource(Source):
    name = "cctv"
    label = "Événements de vidéoprotection (métadonnées JSON, jamais d'images)"
    suffixes = (".json", ".jsonl", ".ndjson")
    datasets = (CCTV_EVENTS,)

    def read(self, path: Path, ctx: Context) -> Iterator[Batch]:
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            batch = Batch(CCTV_EVENTS, [], [], "ligne du fichier JSON lines")
            items = json_lines(path, ctx.limits, ctx.tick)
        else:
            doc = load_json(path, ctx.limits)
            events = doc.get("events") if isinstance(doc, dict) and "events" in doc else doc
            events = events if isinstance(events, list) else [events]
            check_count(len(events), "événements", path.name, ctx.limits)
            batch = Batch(CCTV_EVENTS, [], [], "événement n° (ordre dans le fichier)")
            items = ((n, e, None) for n, e in enumerate(events, start=1))
        for number, obj, error in items:
            if error or not isinstance(obj, dict):
                batch.rejects.append(RowReject(number, None, error or "un objet JSON est attendu", None))
                continue
            obj = _metadata_only(obj)
            try:
                batch.records.append(to_event(obj, ctx.tz))
                batch.numbers.append(number)
            except MAPPING_ERRORS as exc:
                batch.rejects.append(mapping_reject(number, exc, obj, "occurred_at"))
        if not batch.records and not batch.rejects:
            raise FileRejected(f"{path.name} : aucun événement dans le fichier")
        yield batch


def to_event(obj: dict, tz: str) -> dict:
    when = first(obj, "occurred_at", "ts", "time", "timestamp")
    occurred, zone = parse_datetime(when, tz=tz) if when is not None else (None, None)
    event_id, camera = first(obj, "event_id", "id"), first(obj, "camera_id", "camera")
    return {
        "event_id": None if event_id is None else str(event_id),
        "camera_id": None if camera is None else str(camera),
        "event_type": first(obj, "event_type", "type"),
        "occurred_at": occurred,
        "source_tz": zone,
        "zone": first(obj, "zone", "area"),
        "confidence": first(obj, "confidence", "score"),
    }
