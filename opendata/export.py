"""Streaming export of one Parquet dataset to CSV, Parquet, JSON and GeoJSON.

DuckDB's ``COPY … TO`` streams CSV, Parquet and JSON in bounded memory (``memory_limit``
caps it, spilling if needed). GeoJSON is built row by row in SQL (one Feature text per
row) and written from Arrow record batches, so memory stays bounded by the batch size.
Timestamps are written in ISO 8601 UTC in the text formats; Parquet keeps native types.
Columns whose name starts with ``_`` are lake bookkeeping and never exported.

Spreadsheet formulas (OWASP "CSV injection"): in the CSV export only, a TEXT cell starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single quote
(``=HYPERLINK(…)`` → ``'=HYPERLINK(…)``), so a spreadsheet opening the file shows text
instead of running a formula. Numeric and time columns are never touched (``-3.5`` stays a
number). Parquet and JSON keep the original value: they carry types, are read by programs
rather than spreadsheets, and a re-user must get the data exactly as published; the quote
is the CSV's presentation safeguard, not a change of the data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

LAT_NAMES = ("lat", "latitude")
LON_NAMES = ("lon", "lng", "longitude")
NUMERIC = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "DOUBLE",
    "REAL",
)
GEOJSON_BATCH_ROWS = 50_000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # first characters a spreadsheet may evaluate


@dataclass(frozen=True)
class Column:
    name: str
    type: str

    @property
    def is_numeric(self) -> bool:
        return self.type.startswith("DECIMAL") or self.type in NUMERIC

    @property
    def is_time(self) -> bool:
        return self.type.startswith("TIMESTAMP") or self.type == "DATE"


@dataclass(frozen=True)
class Geometry:
    """How a dataset is located: a lat/lon pair, or one WKT column."""

    lat: str | None = None
    lon: str | None = None
    wkt: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for c in (self.lat, self.lon, self.wkt) if c)


@dataclass(frozen=True)
class ExportedFile:
    format: str
    path: Path
    bytes: int
    sha256: str
    sha1: str  # the only algorithm DCAT-AP 2.1.1 admits for spdx:checksum


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def prepare(con) -> None:
    """Session settings for exports: UTC timestamps, bounded memory."""
    con.execute("SET TimeZone='UTC'")
    con.execute("SET preserve_insertion_order=true")


def columns(con, source: str) -> list[Column]:
    rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_string(source)})").fetchall()
    return [Column(r[0], r[1]) for r in rows if not r[0].startswith("_")]


def detect_geometry(cols: list[Column]) -> Geometry | None:
    by_name = {c.name.lower(): c for c in cols}
    lat = next((by_name[n] for n in LAT_NAMES if n in by_name and by_name[n].is_numeric), None)
    lon = next((by_name[n] for n in LON_NAMES if n in by_name and by_name[n].is_numeric), None)
    if lat and lon:
        return Geometry(lat=lat.name, lon=lon.name)
    wkt = next(
        (
            c
            for c in cols
            if c.type == "VARCHAR" and (c.name.lower() in ("geometry", "wkt") or c.name.lower().endswith("_wkt"))
        ),
        None,
    )
    return Geometry(wkt=wkt.name) if wkt else None


def text_expr(col: Column) -> str:
    """SQL expression rendering ``col`` for text formats (ISO 8601 UTC for timestamps)."""
    q = quote(col.name)
    if col.type == "TIMESTAMP WITH TIME ZONE":
        return f"strftime({q}, '%Y-%m-%dT%H:%M:%SZ')"
    if col.type.startswith("TIMESTAMP"):
        return f"strftime({q}, '%Y-%m-%dT%H:%M:%S')"
    return q


def csv_expr(col: Column) -> str:
    """``text_expr`` with spreadsheet formulas neutralised in text columns (see the module docstring)."""
    if col.type != "VARCHAR":
        return text_expr(col)
    q = quote(col.name)
    starts = ", ".join(sql_string(c) for c in FORMULA_STARTS)
    quote_char = sql_string("'")
    return f"CASE WHEN left({q}, 1) IN ({starts}) THEN {quote_char} || {q} ELSE {q} END"


def text_select(cols: list[Column], source: str, expr=text_expr) -> str:
    return (
        "SELECT "
        + ", ".join(f"{expr(c)} AS {quote(c.name)}" for c in cols)
        + f" FROM read_parquet({sql_string(source)})"
    )


def _geometry_expr(geo: Geometry) -> str:
    if geo.wkt:
        return f"CASE WHEN {quote(geo.wkt)} IS NULL THEN NULL ELSE ST_AsGeoJSON(ST_GeomFromText({quote(geo.wkt)}))::JSON END"
    lat, lon = quote(geo.lat), quote(geo.lon)
    return (
        f"CASE WHEN {lat} IS NULL OR {lon} IS NULL THEN NULL "
        f"ELSE json_object('type', 'Point', 'coordinates', json_array({lon}, {lat})) END"
    )


def geojson_select(cols: list[Column], geo: Geometry, source: str) -> str:
    props = [c for c in cols if c.name not in geo.columns]
    properties = (
        "json_object(" + ", ".join(f"{sql_string(c.name)}, {text_expr(c)}" for c in props) + ")"
        if props
        else "json_object()"
    )
    feature = f"json_object('type', 'Feature', 'geometry', {_geometry_expr(geo)}, 'properties', {properties})::VARCHAR"
    return f"SELECT {feature} AS feature FROM read_parquet({sql_string(source)})"


def digests(path: Path) -> tuple[str, str]:
    """SHA-256 and SHA-1 of the file, in one read."""
    h256, h1 = hashlib.sha256(), hashlib.sha1()  # SHA-1: a published checksum, not a security use
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h256.update(chunk)
            h1.update(chunk)
    return h256.hexdigest(), h1.hexdigest()


def _write_geojson(con, sql: str, path: Path) -> None:
    reader = con.execute(sql).to_arrow_reader(GEOJSON_BATCH_ROWS)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write('{"type":"FeatureCollection","features":[\n')
        first = True
        for batch in reader:
            features = batch.column(0).to_pylist()
            if not features:
                continue
            out.write(("" if first else ",\n") + ",\n".join(features))
            first = False
        out.write("\n]}\n")


def write(con, source: str, fmt: str, path: Path, cols: list[Column], geo: Geometry | None = None) -> ExportedFile:
    """Write ``source`` (a Parquet URI) as ``fmt`` to the local ``path``."""
    target = sql_string(str(path))
    if fmt == "csv":
        con.execute(
            f"COPY ({text_select(cols, source, csv_expr)}) TO {target} (FORMAT csv, HEADER true, DELIMITER ',')"
        )
    elif fmt == "json":
        con.execute(f"COPY ({text_select(cols, source)}) TO {target} (FORMAT json, ARRAY true)")
    elif fmt == "parquet":
        select = "SELECT " + ", ".join(quote(c.name) for c in cols) + f" FROM read_parquet({sql_string(source)})"
        con.execute(f"COPY ({select}) TO {target} (FORMAT parquet, COMPRESSION zstd)")
    elif fmt == "geojson":
        if geo is None:
            raise ValueError("GeoJSON demandé pour un jeu de données sans géométrie")
        _write_geojson(con, geojson_select(cols, geo, source), path)
    else:
        raise ValueError(f"format inconnu « {fmt} »")
    return ExportedFile(fmt, path, path.stat().st_size, *digests(path))
