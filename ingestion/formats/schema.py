"""The schema of a tabular file: how to read it and the type of each column.

:func:`~ingestion.formats.detect.detect` proposes one; a user overrides it with a JSON file
(``hyperviseur ingest fichiers --schema schema.json``, or the upload page's form) in the same
layout as :meth:`TableSchema.to_dict`::

    {"format": "csv", "encoding": "utf-8", "separator": ";", "quote": "\\"", "header_line": 3,
     "metadata": {"Identifiant PRM": "00000000000000"}, "timezone": "Europe/Paris",
     "columns": [{"name": "horodate", "original": "Horodate", "type": "datetime",
                  "date_format": "%Y-%m-%dT%H:%M:%S%z"},
                 {"name": "valeur", "type": "integer"}]}

Every key but ``columns`` (and a column's ``name``) is optional. :func:`apply` types a chunk
of records with it: a value that does not parse sends its row to the rejections with the
file, row, field and reason, so that rows in = typed rows + rejected rows.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa

from ingestion.formats.errors import InputRejected
from ingestion.formats.headers import snake
from ingestion.formats.tabular import RecordChunk
from ingestion.formats.values import DEFAULT_NULLS, DEFAULT_TZ, is_null, parse_datetime, parse_int, parse_number

UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")
ROW = "_row"

# Column types a user sees and may choose (French labels for pages and messages).
TYPES = {
    "integer": "entier",
    "decimal": "décimal",
    "boolean": "booléen",
    "date": "date",
    "datetime": "date et heure",
    "text": "texte",
    "geometry": "géométrie (GeoJSON)",
    "json": "JSON",
}
ARROW_TYPES = {
    "integer": pa.int64(),
    "decimal": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": UTC_TIMESTAMP,
    "text": pa.string(),
    "geometry": pa.string(),
    "json": pa.string(),
}
# Boolean spellings of French (and English) files, as csv-detective's ``bool`` format reads them.
BOOLEANS = {
    "1": True,
    "0": False,
    "vrai": True,
    "faux": False,
    "true": True,
    "false": False,
    "oui": True,
    "non": False,
    "o": True,
    "n": False,
    "yes": True,
    "no": False,
    "y": True,
}


@dataclass
class ColumnSchema:
    name: str  # snake_case name in the lake
    original: str = ""  # header text as written in the file
    type: str = "text"  # one of TYPES
    label: str | None = None  # csv-detective format: code_commune, siren, latlon_wgs, date_fr…
    french_format: str | None = None  # what the file writes, in French: "virgule décimale", "jj/mm/aaaa"…
    date_format: str | None = None  # strptime format of dates and datetimes (None: ISO 8601 and French forms)
    decimal: str = "auto"  # decimal separator of numbers: ",", "." or "auto"
    score: float | None = None  # csv-detective's confidence in ``label``

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.type]


@dataclass
class TableSchema:
    columns: list[ColumnSchema]
    format: str = "csv"  # csv, excel, opendocument, geojson, ods_records_v1, ods_records_v2
    encoding: str | None = None
    separator: str | None = None
    quote: str = '"'
    header_line: int | None = None  # 1-based physical line (sheet row) of the header
    metadata: dict[str, str] = field(default_factory=dict)  # key/value block above the data block
    sheet: str | None = None
    timezone: str = DEFAULT_TZ  # zone of naive datetimes
    nulls: list[str] = field(default_factory=lambda: list(DEFAULT_NULLS))
    rows_sampled: int = 0  # records the detection looked at (informative)

    def column(self, name: str) -> ColumnSchema | None:
        """The column named ``name`` (lake name, header text or its snake_case form)."""
        for c in self.columns:
            if name in (c.name, c.original) or snake(name) == c.name:
                return c
        return None

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_dict(cls, data: dict, where: str = "schéma") -> TableSchema:
        """Build from a JSON document; :class:`InputRejected` (French) on a malformed one."""
        if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
            raise InputRejected(f"{where} : objet JSON avec une liste « columns » attendu")
        known = {f.name for f in fields(ColumnSchema)}
        columns = []
        for i, c in enumerate(data["columns"], start=1):
            if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"].strip():
                raise InputRejected(f"{where}, colonne n° {i} : objet avec un « name » attendu")
            unknown = set(c) - known
            if unknown:
                raise InputRejected(
                    f"{where}, colonne « {c['name']} » : clé(s) inconnue(s) {', '.join(sorted(unknown))}"
                )
            col = ColumnSchema(**c)
            col.original = col.original or col.name
            if col.type not in TYPES:
                raise InputRejected(
                    f"{where}, colonne « {col.name} » : type « {col.type} » inconnu (attendu : {', '.join(TYPES)})"
                )
            if col.decimal not in (",", ".", "auto"):
                raise InputRejected(f"{where}, colonne « {col.name} » : séparateur décimal « {col.decimal} » inconnu")
            columns.append(col)
        top = {f.name for f in fields(cls)} - {"columns"}
        unknown = set(data) - top - {"columns"}
        if unknown:
            raise InputRejected(f"{where} : clé(s) inconnue(s) {', '.join(sorted(unknown))}")
        return cls(columns=columns, **{k: v for k, v in data.items() if k in top})

    @classmethod
    def load(cls, path: Path) -> TableSchema:
        """Read a schema file written by hand or saved from :meth:`to_json`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        except OSError as exc:
            raise InputRejected(f"{Path(path).name} : schéma illisible ({exc.strerror or exc})") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputRejected(f"{Path(path).name} : schéma JSON invalide ({exc})") from None
        return cls.from_dict(data, Path(path).name)


def convert(value, col: ColumnSchema, tz: str = DEFAULT_TZ, nulls=DEFAULT_NULLS):
    """(typed value, source zone or None); ``ValueError`` with a French reason when it does not parse."""
    if is_null(value, tuple(nulls)):
        return None, None
    kind = col.type
    if kind == "integer":
        return parse_int(value, col.decimal), None
    if kind == "decimal":
        return parse_number(value, col.decimal), None
    if kind == "boolean":
        if isinstance(value, bool):
            return value, None
        flag = BOOLEANS.get(str(value).strip().lower())
        if flag is None:
            raise ValueError(f"« {value} » n'est pas un booléen (oui/non, vrai/faux, 1/0…)")
        return flag, None
    if kind == "date":
        if isinstance(value, datetime):
            return value.date(), None
        if isinstance(value, date):
            return value, None
        return parse_datetime(value, col.date_format, "UTC")[0].date(), None
    if kind == "datetime":
        return parse_datetime(value, col.date_format, tz)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False), None
    if isinstance(value, float) and value.is_integer():
        return str(int(value)), None
    return (value.strip() if isinstance(value, str) else str(value)), None


@dataclass
class Rejection:
    file: str
    row: int  # position in the file, counted as ``TypedChunk.row_unit`` says
    field: str | None  # None when the record as a whole is unusable (wrong number of fields)
    value: object
    reason: str  # French


@dataclass
class TypedChunk:
    table: pa.Table  # typed columns of the schema (+ ``source_tz`` when there are datetimes) + ``_row``
    rejected: list[Rejection]  # one or more per rejected row
    rejected_rows: list[int]
    rows_in: int
    row_unit: str

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.table.num_rows + len(self.rejected_rows)


def apply(chunk: RecordChunk, schema: TableSchema, origin: str) -> TypedChunk:
    """Type the records of ``chunk`` after ``schema``; a row with a value that does not parse
    (or with the wrong number of fields) is rejected whole, with every failing field."""
    columns = [
        schema.column(hf.name) or schema.column(hf.original) or ColumnSchema(hf.name, hf.original)
        for hf in chunk.columns
    ]
    with_tz = any(c.type == "datetime" for c in columns)
    values: list[list] = [[] for _ in columns]
    zones, numbers, rejected, rejected_rows = [], [], [], []
    for number, message, raw in chunk.broken:
        rejected.append(Rejection(origin, number, None, raw, message))
        rejected_rows.append(number)
    for number, cells in zip(chunk.numbers, chunk.rows):
        typed, zone, errors = [], None, []
        for col, cell in zip(columns, cells):
            try:
                v, z = convert(cell, col, schema.timezone, schema.nulls)
            except (ValueError, OverflowError) as exc:
                errors.append(Rejection(origin, number, col.name, cell, f"champ « {col.name} » : {exc}"))
                continue
            typed.append(v)
            zone = zone or z
        if errors:
            rejected += errors
            rejected_rows.append(number)
            continue
        for i, v in enumerate(typed):
            values[i].append(v)
        zones.append(zone)
        numbers.append(number)
    arrays = [pa.array(v, c.arrow_type) for v, c in zip(values, columns)]
    names = [c.name for c in columns]
    if with_tz:
        arrays.append(pa.array(zones, pa.string()))
        names.append("source_tz")
    arrays.append(pa.array(numbers, pa.int64()))
    names.append(ROW)
    return TypedChunk(
        pa.Table.from_arrays(arrays, names=names),
        rejected,
        rejected_rows,
        len(chunk.rows) + len(chunk.broken),
        chunk.row_unit,
    )
