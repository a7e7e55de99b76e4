"""Shared helpers for JSON inputs: strict loading with a French error, stable ids, points."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ingestion.formats import jsontext
from ingestion.formats.errors import FormatError
from ingestion.formats.limits import beyond, check_size, read_document
from ingestion.formats.values import finite
from lakehouse.settings import LimitsSettings


def load_json(path: Path, limits: LimitsSettings):
    """Parse a JSON file read whole (UTF-8, BOM tolerated) under the limits, or raise
    :class:`~ingestion.formats.errors.FormatError` naming the file, line and column."""
    return jsontext.parse_bytes(read_document(path, limits), path.name, limits)


def fingerprint(obj) -> str:
    """Stable id of a JSON value (sorted keys), for inputs without identifiers."""
    return "sha1:" + hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:20]


def point(geometry) -> tuple[float | None, float | None]:
    """(lat, lon) of a GeoJSON geometry: the point itself, else the mean of its vertices."""
    if not isinstance(geometry, dict):
        return None, None
    coords = geometry.get("coordinates")
    flat: list[tuple[float, float]] = []

    def walk(c):
        if isinstance(c, (list, tuple)) and len(c) >= 2 and all(finite(x) for x in c[:2]):
            flat.append((float(c[0]), float(c[1])))
        elif isinstance(c, (list, tuple)):
            for x in c:
                walk(x)

    walk(coords)
    if not flat:
        return None, None
    return sum(p[1] for p in flat) / len(flat), sum(p[0] for p in flat) / len(flat)


def json_lines(path: Path, limits: LimitsSettings, tick=None):
    """(line number, object or None, error message or None) for every non-blank line.

    A line longer than ``max_line_bytes`` refuses the whole file (it is never read whole).
    """
    check_size(path, limits)
    with open(path, "rb") as f:
        done = 0
        for number, line in enumerate(iter(lambda: f.readline(limits.max_line_bytes + 2), b""), start=1):
            done += len(line)
            if tick and number % 10_000 == 0:
                tick(done)
            if len(line.rstrip(b"\r\n")) > limits.max_line_bytes:
                raise FormatError(
                    f"{path.name}, ligne {number} : longueur {beyond(limits, 'max_line_bytes', 'octets')}"
                )
            if not line.strip():
                continue
            try:
                yield number, jsontext.parse_bytes(line, "ligne JSON invalide", limits), None
            except FormatError as exc:
                yield number, None, str(exc)
        if tick:
            tick(done)


def first(obj: dict, *keys):
    """Value of the first key present and not null (field name variants across exports)."""
    for k in keys:
        if obj.get(k) is not None:
            return obj[k]
    return None
