"""Business files (CSV, Excel, OpenDocument, zipped shapefiles, GeoJSON) → one dataset per declared file kind.

Detection is automatic: encoding, delimiter, title lines, dBase-typed headers (which give
column types), decimal commas, ``#N/A``/``mq`` nulls, coordinate columns and their CRS
(Lambert-93 is projected to WGS84). The YAML files of :mod:`ingestion.config` name each
dataset (source, owner service, key) and override what cannot be guessed. A file that no
entry matches still ingests, as ``fichiers.<folder or file name>``, its header line (below a
metadata block) and column types detected by :func:`~ingestion.formats.detect.detect`, or
given by a schema file (``ctx.options["schema"]``, a
:class:`~ingestion.formats.schema.TableSchema`). The schema each dataset was read with is
put in ``ctx.options["schemas"]`` (a dict the caller passes) for the registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from ingestion import config as file_config
from ingestion.formats.detect import DETECTED_SUFFIXES, detect
from ingestion.formats.headers import HeaderField, snake
from ingestion.formats.schema import ColumnSchema, TableSchema
from ingestion.formats.schema import convert as convert_typed
from ingestion.formats.tabular import ReadOptions, RecordChunk, read_records
from ingestion.formats.values import (
    DEFAULT_NULLS,
    DEFAULT_TZ,
    is_null,
    parse_datetime,
    parse_dms,
    parse_int,
    parse_number,
    to_wgs84,
)
from ingestion.sources import register
from ingestion.sources.base import Batch, Context, FileRejected, RowReject, Source
from ingestion.spec import UTC_TS, Column, DatasetSpec

ARROW = {
    "string": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "date": pa.date32(),
    "timestamp": UTC_TS,
    "dms": pa.float64(),
    "bool": pa.bool_(),
}
# Detected (or user-given) column types → the kinds above.
SCHEMA_KINDS = {
    "integer": "int64",
    "decimal": "float64",
    "boolean": "bool",
    "date": "date",
    "datetime": "timestamp",
    "text": "string",
    "geometry": "string",
    "json": "string",
}
LAT_NAMES = ("lat", "latitude", "coord_y", "point_y", "y", "y_wgs84")
LON_NAMES = ("lon", "lng", "long", "longitude", "coord_x", "point_x", "x", "x_wgs84")
UNMATCHED_SOURCE, UNMATCHED_OWNER = "fichiers", "a_definir"


@register
class BusinessFileSource(Source):
    name = "fichiers"
    label = "Fichiers métier : CSV, Excel, OpenDocument (.ods), shapefile zippé, GeoJSON, JSON d'enregistrements (types détectés)"
    suffixes = (".csv", ".tsv", ".xlsx", ".xlsm", ".ods", ".zip", ".shp", ".geojson", ".json")
    dataset_source = UNMATCHED_SOURCE  # lake folder of the files no configuration entry names
    key_columns: tuple[str, ...] = ()  # columns identifying a record when the file has them

    def read(self, path: Path, ctx: Context) -> Iterator[Batch]:
        entry = ctx.options.get("dataset_config") or file_config.find(path)
        plan = None
        read_opts = (entry.read if entry else {}) | {k: v for k, v in ctx.options.items() if k in file_config.READ_KEYS}
        schema: TableSchema | None = ctx.options.get("schema")
        if schema is None and entry is None and path.suffix.lower() in DETECTED_SUFFIXES:
            schema = detect(path, ctx.limits, read_opts.get("sheet"))
        options = ReadOptions(
            encoding=read_opts.get("encoding") or (schema.encoding if schema else None),
            delimiter=read_opts.get("delimiter") or (schema.separator if schema else None),
            header_rows=read_opts.get("header_rows"),
            header_line=schema.header_line if schema else None,
            sheet=read_opts.get("sheet") or (schema.sheet if schema else None),
            limits=ctx.limits,
        )
        for chunk in read_records(path, options, ctx.tick):
            if plan is None:
                plan = Plan(path, entry, chunk, read_opts, ctx, schema, self.dataset_source, self.key_columns)
                if schema is not None and isinstance(ctx.options.get("schemas"), dict):
                    ctx.options["schemas"][plan.spec.qualified_name] = schema
            yield plan.batch(chunk)


class Plan:
    """How the columns of one file become the dataset's typed columns (built from its header)."""

    def __init__(
        self,
        path: Path,
        entry,
        first: RecordChunk,
        read_opts: dict,
        ctx: Context,
        schema: TableSchema | None = None,
        source: str = UNMATCHED_SOURCE,
        key_columns: tuple[str, ...] = (),
    ):
        self.entry = entry
        self.decimal = read_opts.get("decimal", "auto")
        self.date_format = read_opts.get("date_format")
        self.tz = read_opts.get("tz") or ctx.tz or DEFAULT_TZ
        self.crs = read_opts.get("crs")
        self.nulls = tuple(read_opts.get("nulls") or DEFAULT_NULLS)
        overrides = entry.columns if entry else {}
        self.schema = schema
        self.fields: list[tuple[int, str, str, dict]] = []  # (position, output name, type, override)
        self.typed: dict[int, ColumnSchema] = {}  # position → detected or given column schema
        columns: list[Column] = []
        for i, hf in enumerate(first.columns):
            o = overrides.get(hf.name) or overrides.get(hf.original) or {}
            typed = schema and (schema.column(hf.name) or schema.column(hf.original))
            if typed and not o.get("type"):
                self.typed[i] = typed
            kind = o.get("type") or (SCHEMA_KINDS[typed.type] if typed else hf.inferred_type)
            out_name = o.get("rename") or hf.name
            self.fields.append((i, out_name, kind, o))
            columns.append(
                Column(
                    out_name,
                    ARROW[kind],
                    o.get("description") or f"Colonne « {_label(hf)} » du fichier",
                    required=bool(o.get("required")),
                    unit=o.get("unit"),
                    min=o.get("min"),
                    max=o.get("max"),
                )
            )
        try:
            self.coords = self._coordinates(first)
        except KeyError as exc:
            raise FileRejected(f"{path.name} : colonne de coordonnées {exc} déclarée mais absente du fichier") from None
        names = {c.name for c in columns}
        if self.coords and not {"lat", "lon"} & names:
            columns += [
                Column("lat", pa.float64(), "Latitude WGS84", unit="deg", min=-90, max=90),
                Column("lon", pa.float64(), "Longitude WGS84", unit="deg", min=-180, max=180),
            ]
        if any(k == "timestamp" for _, _, k, _ in self.fields):
            columns.append(Column("source_tz", pa.string(), "Fuseau horaire d'origine des horodatages"))
        if entry and entry.row_number:
            columns.insert(
                0,
                Column(
                    entry.row_number, pa.int64(), f"Numéro d'ordre dans le fichier ({first.row_unit})", required=True
                ),
            )
        if entry:
            self.spec = DatasetSpec(
                entry.source,
                entry.name,
                entry.owner_service,
                entry.description or f"Fichier {path.name}",
                tuple(columns),
                key=entry.key,
            )
        else:
            stem = snake(path.parent.name if path.parent.name else path.stem)
            self.spec = DatasetSpec(
                source,
                stem,
                UNMATCHED_OWNER,
                f"Fichier {path.name} (sans configuration : colonnes détectées)",
                tuple(columns),
                key=tuple(k for k in key_columns if k in names) if set(key_columns) <= names else (),
            )

    def _coordinates(self, first: RecordChunk) -> dict | None:
        """Where lat/lon come from: geometry, a "lat, lon" column, or an x/y pair of columns."""
        declared = dict(self.entry.coordinates) if self.entry else {}
        by_name = {out: i for i, out, _, _ in self.fields} | {hf.name: i for i, hf in enumerate(first.columns)}
        if declared.get("latlon"):
            return {"latlon": by_name[declared["latlon"]], "format": declared.get("format")}
        if declared.get("x") or declared.get("lon"):
            x, y = declared.get("x") or declared.get("lon"), declared.get("y") or declared.get("lat")
            return {
                "x": by_name[x],
                "y": by_name[y],
                "format": declared.get("format"),
                "crs": declared.get("crs") or self.crs,
            }
        if first.geometry is not None:
            return {"geometry": True, "crs": declared.get("crs") or self.crs or first.crs}
        latlon = [i for i, c in self.typed.items() if c.label == "latlon_wgs" or c.name == "geo_point_2d"]
        if latlon:  # OpenDataSoft's geo_point_2d "48.87, 2.30"
            return {"latlon": latlon[0], "format": None}
        lat = _pick(first.columns, LAT_NAMES)
        lon = _pick(first.columns, LON_NAMES)
        if lat is not None and lon is not None:
            return {"x": lon, "y": lat, "crs": self.crs}
        return None

    def batch(self, chunk: RecordChunk) -> Batch:
        batch = Batch(self.spec, [], [], chunk.row_unit)
        for number, message, raw in chunk.broken:
            batch.rejects.append(RowReject(number, None, message, raw))
        xs, ys = [], []
        for pos, (number, cells) in enumerate(zip(chunk.numbers, chunk.rows)):
            record, zone = {}, None
            for i, name, kind, o in self.fields:
                value, tz = self._convert(cells[i], kind, o, self.typed.get(i))
                record[name] = value
                zone = zone or tz
            if any(k == "timestamp" for _, _, k, _ in self.fields):
                record["source_tz"] = zone
            if self.entry and self.entry.row_number:
                record[self.entry.row_number] = number
            x, y = self._xy(cells, chunk, pos)
            xs.append(x)
            ys.append(y)
            batch.records.append(record)
            batch.numbers.append(number)
        if self.coords:
            lons, lats = to_wgs84(xs, ys, self.coords.get("crs"))
            for record, lon, lat in zip(batch.records, lons, lats):
                record.setdefault("lat", lat)
                record.setdefault("lon", lon)
        return batch

    def _xy(self, cells, chunk: RecordChunk, pos: int):
        c = self.coords
        if not c:
            return None, None
        try:
            if c.get("geometry"):
                g = chunk.geometry[pos]
                return (g[0], g[1]) if g else (None, None)
            if "latlon" in c:
                text = cells[c["latlon"]]
                if is_null(text, self.nulls):
                    return None, None
                lat, lon = [parse_number(p, ".") for p in str(text).split(",")]
                return lon, lat
            read = parse_dms if c.get("format") == "dms" else (lambda v: parse_number(v, self.decimal))
            x, y = cells[c["x"]], cells[c["y"]]
            if is_null(x, self.nulls) or is_null(y, self.nulls):
                return None, None
            return read(x), read(y)
        except (ValueError, TypeError):
            return None, None  # the raw column keeps the value; lat/lon stay empty

    def _convert(self, value, kind: str, o: dict, typed: ColumnSchema | None = None):
        """(typed value, source zone) — on failure the raw text, which validation quarantines."""
        if is_null(value, self.nulls):
            return None, None
        try:
            if typed is not None:
                return convert_typed(value, typed, self.tz, self.nulls)
            if kind == "string":
                return (value.strip() if isinstance(value, str) else _plain(value)), None
            if kind == "float64":
                return parse_number(value, self.decimal), None
            if kind == "int64":
                return parse_int(value, self.decimal), None
            if kind == "dms":
                return parse_dms(value), None
            fmt = o.get("date_format") or self.date_format
            if kind == "date":
                return parse_datetime(value, fmt, "UTC")[0].date(), None
            return parse_datetime(value, fmt, self.tz)
        except (ValueError, OverflowError):
            return (value if isinstance(value, str) else str(value)), None


def _plain(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _label(hf: HeaderField) -> str:
    return hf.original.split(",")[0] if hf.kind else hf.original


def _pick(columns: list[HeaderField], candidates: tuple[str, ...]) -> int | None:
    for cand in candidates:
        for i, hf in enumerate(columns):
            if hf.name == cand or hf.name.endswith("_" + cand):
                return i
    return None
