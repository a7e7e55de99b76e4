"""Detect how a tabular file is written and what its columns hold.

:func:`detect` finds the encoding, the separator, the header line (below a metadata block
such as an Enedis export's « Identifiant PRM;… » line and its value line, kept as key/value
pairs), then types each column on a sample of up to :data:`SAMPLE_ROWS` records with
csv-detective (data.gouv.fr's detector: INSEE commune codes, postcodes, SIREN/SIRET, French
dates, latitude/longitude, booleans…). The file is read only through the platform's bounded
readers (:mod:`~ingestion.formats.tabular`); csv-detective sees a UTF-8 copy of the sample.

A column csv-detective leaves as text but whose every sampled value is a number (decimal
comma, thousands spaces) or a date in a French form is typed by the platform's own parsers,
so no column holding numbers or dates stays text — unless it is an identifier (postcode,
INSEE code, SIREN…), whose leading zeros matter.
"""

from __future__ import annotations

import csv
import itertools
import logging
import re
import tempfile
import warnings
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from ingestion.formats.errors import FormatError
from ingestion.formats.limits import check_size
from ingestion.formats.schema import ColumnSchema, TableSchema, TypedChunk, apply, convert
from ingestion.formats.tabular import (
    CSV_SUFFIXES,
    ODS_SUFFIXES,
    SPREADSHEET_SUFFIXES,
    ReadOptions,
    RecordChunk,
    read_records,
)
from ingestion.formats.text import DELIMITERS, LineGuard, detect_encoding
from ingestion.formats.values import DATE_FORMATS, DEFAULT_NULLS, is_null, parse_number
from lakehouse.settings import LimitsSettings

SAMPLE_ROWS = 500  # records read to check each column's type
DETECTOR_ROWS = 50  # of which csv-detective labels the first ones (its cost grows with rows x formats)
MIN_DETECTOR_ROWS = 10  # below, its labels mean little: the platform's parsers alone type the columns
SCAN_LINES = 80  # first lines searched for the header below a metadata block
DETECTED_SUFFIXES = CSV_SUFFIXES | SPREADSHEET_SUFFIXES | {".geojson", ".json"}
DetectedTable = TableSchema  # what detect() returns: a schema the user may confirm or correct

LEADING_ZEROS = "identifiant_zeros_initiaux"  # the platform's label for digits written with leading zeros
# csv-detective formats that are identifiers: digits, but text (leading zeros, no arithmetic).
IDENTIFIERS = {
    LEADING_ZEROS,
    "code_commune",
    "code_postal",
    "code_departement",
    "code_region",
    "code_epci",
    "code_fantoir",
    "code_import",
    "code_rna",
    "code_waldec",
    "code_csp_insee",
    "insee_canton",
    "insee_ape700",
    "siren",
    "siret",
    "uai",
    "id_rnb",
    "uuid",
    "mongo_object_id",
}
_TYPES = {"int": "integer", "float": "decimal", "bool": "boolean", "date": "date", "datetime": "datetime"}
_FRENCH_DATES = {
    "%d/%m/%Y": "jj/mm/aaaa",
    "%d/%m/%y": "jj/mm/aa",
    "%d-%m-%Y": "jj-mm-aaaa",
    "%d.%m.%Y": "jj.mm.aaaa",
    "%d/%m/%Y %H:%M": "jj/mm/aaaa hh:mm",
    "%d/%m/%Y %H:%M:%S": "jj/mm/aaaa hh:mm:ss",
    "%d/%m/%y %H:%M": "jj/mm/aa hh:mm",
    "%Y-%m-%d": "aaaa-mm-jj (ISO 8601)",
    "%Y-%m-%dT%H:%M:%S%z": "ISO 8601 avec décalage horaire",
    "%Y-%m-%dT%H:%M:%S": "ISO 8601 sans décalage (heure locale)",
    "%Y-%m-%d %H:%M:%S": "aaaa-mm-jj hh:mm:ss",
    "%Y%m%d%H%M%S": "aaaammjjhhmmss",
}
_INTEGER = re.compile(r"^[+-]?\d{1,3}(?:[ \u00a0\u202f]\d{3})*$|^[+-]?\d+$")
_LEADING_ZERO = re.compile(r"^[+-]?0\d+$")
_DECIMAL = re.compile(r"^[+-]?[\d \u00a0\u202f.,]*\d[\d \u00a0\u202f.,]*$")
log = logging.getLogger(__name__)


def detect(path: Path, limits: LimitsSettings | None = None, sheet: str | None = None) -> DetectedTable:
    """The proposed schema of a CSV, Excel, OpenDocument, GeoJSON or JSON-records file.

    Raises :class:`~ingestion.formats.errors.InputRejected` (French, naming the file) for
    what the readers refuse: the same limits apply as to ingestion.
    """
    path = Path(path)
    limits = limits or LimitsSettings()
    suffix = path.suffix.lower()
    options = ReadOptions(chunk_rows=SAMPLE_ROWS, limits=limits, sheet=sheet)
    schema = TableSchema(columns=[], format="csv")
    if suffix in CSV_SUFFIXES:
        check_size(path, limits)
        options.encoding = detect_encoding(path)
        options.delimiter, options.header_line = _csv_layout(path, options.encoding, limits)
        schema.encoding, schema.separator, schema.header_line = options.encoding, options.delimiter, options.header_line
    elif suffix in SPREADSHEET_SUFFIXES:
        schema.format = "opendocument" if suffix in ODS_SUFFIXES else "excel"
        options.header_line = _sheet_header(path, options)
        schema.header_line, schema.sheet = options.header_line, sheet
    elif suffix in (".geojson", ".json"):
        schema.format = "json"
    else:
        raise FormatError(f"{path.name} : format non pris en charge par la détection ({suffix or 'sans extension'})")
    chunk = _first_chunk(path, options)
    if chunk is None:
        raise FormatError(f"{path.name} : aucune ligne de données à analyser")
    if schema.format == "json":
        schema.format = chunk.meta.get("format", "geojson")
    if chunk.meta.get("header_line"):
        schema.header_line = chunk.meta["header_line"]
    schema.metadata = metadata_pairs(chunk.meta.get("metadata_rows", []))
    schema.columns = type_columns(chunk)
    schema.rows_sampled = len(chunk.rows)
    return schema


def _first_chunk(path: Path, options: ReadOptions) -> RecordChunk | None:
    chunks = read_records(path, options)
    try:
        return next(iter(chunks), None)
    finally:
        close = getattr(chunks, "close", None)
        close and close()


# -- header below a metadata block ------------------------------------------------------
def _csv_layout(path: Path, encoding: str, limits: LimitsSettings) -> tuple[str, int | None]:
    """(separator, physical line of the header or None when it is the first line)."""
    lines: list[str] = []
    try:
        with open(path, encoding=encoding, errors="strict", newline="") as f:
            guard = LineGuard(f, path, limits)
            for line in itertools.islice(guard, SCAN_LINES):
                lines.append(line)
                guard.record_done()  # each line held to the limit; the reader checks whole records
    except UnicodeError as exc:
        raise FormatError(f"{path.name} : octets illisibles en {encoding} dans les premières lignes ({exc})") from None
    if len(lines) == SCAN_LINES:
        lines = lines[:-1]  # may end inside a quoted multi-line field
    best: tuple[tuple[int, int], str, int | None] = ((0, 0), ",", None)
    for delim in DELIMITERS:
        records = _records(lines, delim)
        widths = [len(c) for _, c in records]
        _, length, width = longest_run(widths)
        if width < 2:
            continue
        if (length, width) > best[0]:
            start = widths.index(width)
            best = ((length, width), delim, records[start][0] if start else None)
    return best[1], best[2]


def _records(lines: list[str], delim: str) -> list[tuple[int, list[str]]]:
    """(physical line where it starts, cells) of the non-blank records of ``lines``."""
    reader = csv.reader(iter(lines), delimiter=delim)
    out, line = [], 0
    try:
        for cells in reader:
            if cells and any(c.strip() for c in cells):
                out.append((line + 1, cells))
            line = reader.line_num
    except csv.Error:
        pass
    return out


def longest_run(widths: list[int]) -> tuple[int, int, int]:
    """(start, length, width) of the longest run of consecutive equal widths: the data block's
    width. Its header is the first record of that width — the records above it are a metadata
    block; a ragged line further down is a broken record, never a reason to skip data. Ties
    go to the later run."""
    best = (0, 0, 0)
    i = 0
    while i < len(widths):
        j = i
        while j + 1 < len(widths) and widths[j + 1] == widths[i]:
            j += 1
        if j - i + 1 >= best[1]:
            best = (i, j - i + 1, widths[i])
        i = j + 1
    return best


def _sheet_header(path: Path, options: ReadOptions) -> int | None:
    """Sheet row of the header: first row of the longest run of rows filled to the same column."""
    probe = ReadOptions(sheet=options.sheet, chunk_rows=SCAN_LINES, limits=options.limits)
    chunk = _first_chunk(path, probe)
    if chunk is None:
        return None
    rows = [(chunk.meta.get("header_line", 1), [c.original for c in chunk.columns])]
    rows += list(zip(chunk.numbers, chunk.rows))
    widths = [max((i + 1 for i, v in enumerate(r) if str(v).strip()), default=0) for _, r in rows]
    _, _, width = longest_run(widths)
    start = widths.index(width) if width >= 2 else 0
    return rows[start][0] if start else None


def metadata_pairs(rows: list[list[str]]) -> dict[str, str]:
    """Key/value pairs of the block above the header: a row of keys over a row of values
    (Enedis), else ``key;value…`` lines, else a numbered free-text line."""
    rows = [[str(c).strip() for c in r] for r in rows]
    if len(rows) == 2 and len(rows[0]) == len(rows[1]) and all(rows[0]):
        return {k: v for k, v in zip(*rows) if k}
    pairs = {}
    for i, r in enumerate(rows, start=1):
        filled = [c for c in r if c]
        if len(filled) >= 2:
            pairs[filled[0].rstrip(" :")] = "; ".join(filled[1:])
        elif filled:
            pairs[f"ligne {i}"] = filled[0]
    return pairs


# -- column types ----------------------------------------------------------------------
def type_columns(chunk: RecordChunk) -> list[ColumnSchema]:
    """One :class:`ColumnSchema` per column of ``chunk``, typed on its records."""
    texts = [[_text(v) for v in row] for row in chunk.rows]
    found = _csv_detective(chunk, texts)
    columns = []
    for i, hf in enumerate(chunk.columns):
        values = [r[i] for r in texts if i < len(r) and not is_null(r[i])]
        info = found.get(hf.name, {})
        col = ColumnSchema(hf.name, hf.original, score=info.get("score"))
        fmt = info.get("format")
        col.label = fmt if fmt not in (None, "string", "int", "float", "json", "date", "datetime_naive") else None
        kind = _TYPES.get(info.get("python_type"), "text")
        if info.get("python_type") == "json":
            kind = "geometry" if fmt == "geojson" else "json"
        if fmt in IDENTIFIERS:
            kind = "text"
        if kind in ("date", "datetime"):
            col.date_format = info.get("date_format")
        col.type = kind
        if fmt not in IDENTIFIERS and values and (kind == "text" or not _fits(values, col)):
            col.date_format = None
            kind = col.type = _fallback_type(values, col)
        if kind in ("date", "datetime"):
            col.french_format = _FRENCH_DATES.get(col.date_format or "", col.date_format or "ISO 8601")
        if kind in ("integer", "decimal"):
            _number_format(values, col)
        columns.append(col)
    return columns


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _csv_detective(chunk: RecordChunk, texts: list[list[str]]) -> dict[str, dict]:
    """csv-detective's verdict per column name ({} when it cannot analyse the sample)."""
    if len(texts) < MIN_DETECTOR_ROWS:
        return {}
    from csv_detective import routine

    with tempfile.TemporaryDirectory(prefix="hyperviseur-detect-") as tmp:
        sample = Path(tmp) / "echantillon.csv"
        with open(sample, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, delimiter=";")
            writer.writerow([hf.name for hf in chunk.columns])
            writer.writerows(r[: len(chunk.columns)] for r in texts[:DETECTOR_ROWS])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pandas deprecation notices from inside csv-detective
                result = routine(
                    str(sample),
                    num_rows=-1,
                    encoding="utf-8",
                    sep=";",
                    save_results=False,
                    na_values=list(DEFAULT_NULLS),
                )
        except Exception as exc:  # a detector bug must not stop ingestion: the platform's parsers type the columns
            log.warning("csv-detective a échoué sur l'échantillon : %s", exc)
            return {}
    return result.get("columns", {}) if isinstance(result, dict) else {}


def _fits(values: list[str], col: ColumnSchema) -> bool:
    """Every sampled value converts to ``col``'s type (csv-detective saw only the first rows)."""
    try:
        for v in values:
            convert(v, col)
    except (ValueError, OverflowError):
        return False
    return True


def _fallback_type(values: list[str], col: ColumnSchema) -> str:
    """``integer``, ``decimal``, ``date``/``datetime`` when every value parses so, else ``text``."""
    values = [v.strip() for v in values]
    if any(_LEADING_ZERO.match(v) for v in values):
        col.label = col.label or LEADING_ZEROS
        return "text"  # 01053: an identifier whose zeros matter
    if all(_INTEGER.match(v) for v in values):
        return "integer"
    if all(_DECIMAL.match(v) for v in values):
        try:
            for v in values:
                parse_number(v)
            return "decimal"
        except ValueError:
            pass
    for fmt in DATE_FORMATS:
        try:
            for v in values:
                if datetime.strptime(v, fmt).year < 1000:  # %Y also reads "24"
                    raise ValueError(v)
        except ValueError:
            continue
        col.date_format = fmt
        return "datetime" if "%H" in fmt else "date"
    try:
        parsed = [datetime.fromisoformat(v[:-1] + "+00:00" if v.endswith("Z") else v) for v in values]
    except ValueError:
        return "text"
    timed = any(len(v) > 10 for v in values) or any(p.tzinfo for p in parsed)
    return "datetime" if timed else "date"


def _number_format(values: list[str], col: ColumnSchema) -> None:
    """Decimal separator of a numeric column: ``,`` when its values write one (French)."""
    comma = any("," in v for v in values)
    dot = any("." in v for v in values)
    if comma and not dot:
        col.decimal, col.french_format = ",", "virgule décimale"
    elif comma and dot:
        col.decimal = "auto"
        col.french_format = "virgule décimale, point des milliers" if _last_comma(values) else "point décimal"
    else:
        col.decimal = "."
    if any(re.search(r"\d[ \u00a0\u202f]\d{3}", v) for v in values):
        col.french_format = ", ".join(filter(None, [col.french_format, "espace des milliers"]))


def _last_comma(values: list[str]) -> bool:
    return all(v.rfind(",") > v.rfind(".") for v in values if "," in v and "." in v)


def read_options(
    schema: TableSchema, limits: LimitsSettings | None = None, chunk_rows: int | None = None
) -> ReadOptions:
    """How the readers must read a file described by ``schema``."""
    options = ReadOptions(
        encoding=schema.encoding,
        delimiter=schema.separator,
        header_line=schema.header_line,
        sheet=schema.sheet,
        limits=limits or LimitsSettings(),
    )
    if chunk_rows:
        options.chunk_rows = chunk_rows
    return options


def read_typed(path: Path, schema: TableSchema, limits: LimitsSettings | None = None) -> Iterator[TypedChunk]:
    """Read ``path`` as ``schema`` says and type every chunk (:func:`~ingestion.formats.schema.apply`)."""
    path = Path(path)
    for chunk in read_records(path, read_options(schema, limits)):
        yield apply(chunk, schema, str(path))
