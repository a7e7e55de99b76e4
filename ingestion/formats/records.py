"""JSON lists of records as tabular chunks: OpenDataSoft exports and API responses.

Layouts read (one record = one row, its keys the columns):

- API v1 ``/api/records/1.0/search`` response ``{"nhits": …, "records": [...]}`` and the v1
  ``json`` export (a bare list): each record ``{"datasetid", "recordid", "fields": {...},
  "geometry": GeoJSON, "record_timestamp"}``;
- API v2.1 ``/records`` response ``{"total_count": …, "results": [...]}`` and the v2.1
  ``exports/json`` (a bare list of flat objects); v2.0 wraps each as ``{"record": {"fields"}}``.

``geo_point_2d`` is written ``"lat, lon"`` as in the CSV exports (v1 gives ``[lat, lon]``,
v2.1 ``{"lon", "lat"}``); objects and lists (``geo_shape``…) become JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ingestion.formats.errors import FormatError
from ingestion.formats.headers import HeaderField, parse_headers
from ingestion.formats.limits import check_count
from ingestion.formats.values import finite

ODS_V1 = "ods_records_v1"
ODS_V2 = "ods_records_v2"
V1_META = ("recordid", "record_timestamp")  # kept as columns: the record's id and publication time


def layout(doc, name: str) -> tuple[str, list]:
    """(layout name, list of records) of a parsed JSON document; :class:`FormatError` otherwise."""
    records = doc
    if isinstance(doc, dict):
        for key in ("records", "results"):
            if isinstance(doc.get(key), list):
                records = doc[key]
                break
        else:
            raise FormatError(
                f"{name} : ni une FeatureCollection GeoJSON ni une liste d'enregistrements "
                "(export OpenDataSoft « records » / « results »)"
            )
    if not isinstance(records, list):
        raise FormatError(f"{name} : liste d'enregistrements attendue")
    sample = next((r for r in records if isinstance(r, dict)), {})
    if "fields" in sample or "record" in sample:
        return ODS_V1, records
    return ODS_V2, records


def flatten(record, kind: str) -> tuple[dict, tuple[float, float] | None]:
    """(column → value, (lon, lat) or None) of one record; ``ValueError`` if it is not an object."""
    if not isinstance(record, dict):
        raise ValueError("enregistrement qui n'est pas un objet JSON")
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:  # "\udc00" is valid JSON but no character: nothing can store it
        raise ValueError(
            f"texte illisible : demi-caractère UTF-16 isolé ({exc.object[exc.start : exc.end]!a})"
        ) from None
    point = None
    if kind == ODS_V1:
        inner = record.get("record") if isinstance(record.get("record"), dict) else record
        fields = inner.get("fields")
        if fields is None:
            fields = {}
        if not isinstance(fields, dict):
            raise ValueError("« fields » n'est pas un objet")
        row = {k: inner.get(k) for k in V1_META if k in inner}
        row.update(fields)
        geometry = inner.get("geometry")
        if isinstance(geometry, dict) and isinstance(geometry.get("coordinates"), list):
            c = geometry["coordinates"]
            if geometry.get("type") == "Point" and len(c) >= 2 and finite(c[0]) and finite(c[1]):
                point = (float(c[0]), float(c[1]))
            if "geo_shape" not in row and geometry.get("type") != "Point":
                row["geometry"] = geometry
    else:
        row = dict(record)
    out = {}
    for key, value in row.items():
        if key == "geo_point_2d":
            value, xy = _latlon(value)
            point = point or xy
        elif isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False)
        out[str(key)] = value
    return out, point


def _latlon(value) -> tuple[str | None, tuple[float, float] | None]:
    """``"lat, lon"`` text and (lon, lat) of a v1 ``[lat, lon]`` or v2.1 ``{"lon", "lat"}`` point."""
    if isinstance(value, dict):
        lat, lon = value.get("lat"), value.get("lon")
    elif isinstance(value, list) and len(value) == 2:
        lat, lon = value
    else:
        return (None if value is None else str(value)), None
    if not (finite(lat) and finite(lon)):
        return json.dumps(value, ensure_ascii=False), None
    return f"{lat}, {lon}", (float(lon), float(lat))


def record_chunks(doc, path: Path, options, progress=None) -> Iterator:
    """Chunks of a parsed JSON list of records (see the module docstring)."""
    from ingestion.formats.tabular import RecordChunk

    kind, records = layout(doc, path.name)
    check_count(len(records), "enregistrements", path.name, options.limits)
    flat: list[tuple[dict | None, tuple | None, str | None]] = []
    names: dict[str, None] = {}
    for r in records:
        try:
            row, xy = flatten(r, kind)
        except ValueError as exc:
            flat.append((None, None, str(exc)))
            continue
        names.update(dict.fromkeys(row))
        flat.append((row, xy, None))
    columns: list[HeaderField] = parse_headers(list(names))
    unit = "enregistrement de la liste"
    for start in range(0, max(len(flat), 1), options.chunk_rows):
        part = flat[start : start + options.chunk_rows]
        chunk = RecordChunk(columns, [], [], unit, geometry=[], crs="EPSG:4326", meta={"format": kind})
        for i, (row, xy, error) in enumerate(part, start=start + 1):
            if row is None:
                chunk.broken.append((i, f"enregistrement n° {i} : {error}", json.dumps(records[i - 1], default=str)))
                continue
            chunk.rows.append([row.get(n) for n in names])
            chunk.numbers.append(i)
            chunk.geometry.append(xy)
        progress and progress(path.stat().st_size * (start + len(part)) // max(len(flat), 1))
        if chunk.rows or chunk.broken:
            yield chunk
