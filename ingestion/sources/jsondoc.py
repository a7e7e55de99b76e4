"""Shared helpers for JSON inputs: strict loading with a French error, stable ids, points."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ingestion.sources.base import FileRejected


def load_json(path: Path):
    """Parse a JSON file (UTF-8, BOM tolerated) or raise :class:`FileRejected` naming line and column."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(
            f"{path.name} : le fichier n'est pas en UTF-8 ({exc.reason} à l'octet {exc.start})"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        hint = ""
        line = text.splitlines()[exc.lineno - 1] if exc.lineno - 1 < len(text.splitlines()) else ""
        if "$" in line:
            hint = " — gabarit avec un marqueur non substitué (ex. $DATASTREAM-ID)"
        elif _leading_zero(line):
            hint = " — nombre écrit avec un zéro initial (ex. 006), interdit en JSON"
        raise FileRejected(
            f"{path.name} : JSON invalide ligne {exc.lineno}, colonne {exc.colno} ({exc.msg}){hint}"
        ) from None


def _leading_zero(line: str) -> bool:
    import re

    return re.search(r":\s*0\d", line) is not None


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
        if isinstance(c, (list, tuple)) and len(c) >= 2 and all(isinstance(x, (int, float)) for x in c[:2]):
            flat.append((float(c[0]), float(c[1])))
        elif isinstance(c, (list, tuple)):
            for x in c:
                walk(x)

    walk(coords)
    if not flat:
        return None, None
    return sum(p[1] for p in flat) / len(flat), sum(p[0] for p in flat) / len(flat)


def json_lines(path: Path, tick=None):
    """(line number, object or None, error message or None) for every non-blank line."""
    with open(path, "rb") as f:
        done = 0
        for number, line in enumerate(f, start=1):
            done += len(line)
            if tick and number % 10_000 == 0:
                tick(done)
            if not line.strip():
                continue
            try:
                yield number, json.loads(line.decode("utf-8-sig")), None
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                yield number, None, f"ligne JSON invalide ({exc})"
        if tick:
            tick(done)


def first(obj: dict, *keys):
    """Value of the first key present and not null (field name variants across exports)."""
    for k in keys:
        if obj.get(k) is not None:
            return obj[k]
    return None
