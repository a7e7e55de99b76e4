"""Stream CSV, Excel and OpenDocument sheets, zipped shapefiles and GeoJSON as fixed-size chunks of numbered records."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingestion.formats import jsontext
from ingestion.formats.errors import FormatError
from ingestion.formats.headers import HeaderField, is_title_row, merge_stacked, parse_headers
from ingestion.formats.limits import check_count, check_size, open_archive, read_document
from ingestion.formats.opendocument import open_sheet
from ingestion.formats.text import CountingFile, LineGuard, detect_encoding, sniff_delimiter
from ingestion.formats.values import finite
from lakehouse.settings import LimitsSettings

CHUNK_ROWS = 50_000
CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
ODS_SUFFIXES = {".ods"}
SPREADSHEET_SUFFIXES = EXCEL_SUFFIXES | ODS_SUFFIXES  # read as sheets: header row, metadata block above it

csv.field_size_limit(2**31 - 1)  # records are bounded by LineGuard (max_line_bytes), not here


@dataclass
class ReadOptions:
    encoding: str | None = None  # None = detect
    delimiter: str | None = None  # None = sniff
    header_rows: int | None = None  # None = 1 after skipping title lines
    header_line: int | None = None  # physical line (sheet row) of the header; the records above are a metadata block
    sheet: str | None = None  # Excel sheet name, default first
    chunk_rows: int = CHUNK_ROWS
    limits: LimitsSettings = field(default_factory=LimitsSettings)


@dataclass
class RecordChunk:
    columns: list[HeaderField]
    rows: list[list]  # values: str from text files, native types from Excel / GeoJSON / dBase
    numbers: list[int]  # position of each record in the file (see ``row_unit``)
    row_unit: str  # what ``numbers`` count, in French, for error messages
    geometry: list[tuple[float, float] | None] | None = None  # (x, y) in the file's CRS
    crs: str | None = None  # declared CRS of ``geometry`` (from a .prj), None = guess
    broken: list[tuple[int, str, str]] = field(default_factory=list)  # (number, message, raw text)
    meta: dict = field(default_factory=dict)


ProgressFn = Callable[[int], None]  # receives bytes (or records) done so far


def read_records(
    path: Path, options: ReadOptions | None = None, progress: ProgressFn | None = None
) -> Iterator[RecordChunk]:
    """Dispatch on the file's suffix; raises :class:`FormatError` for what cannot be read."""
    options = options or ReadOptions()
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return read_csv(path, options, progress)
    if suffix in EXCEL_SUFFIXES:
        return read_excel(path, options, progress)
    if suffix in ODS_SUFFIXES:
        return read_ods(path, options, progress)
    if suffix in (".zip", ".shp"):
        return read_shapefile(path, options, progress)
    if suffix in (".geojson", ".json"):
        return read_geojson(path, options, progress)
    raise FormatError(f"{path.name} : format de fichier non pris en charge ({suffix or 'sans extension'})")


# -- CSV ---------------------------------------------------------------------------------
def read_csv(path: Path, options: ReadOptions, progress: ProgressFn | None = None) -> Iterator[RecordChunk]:
    limits = options.limits
    check_size(path, limits)
    encoding = options.encoding or detect_encoding(path)
    lines = None
    try:
        with open(path, encoding=encoding, errors="strict", newline="") as f:
            delimiter = options.delimiter or sniff_delimiter(list(itertools.islice(LineGuard(f, path, limits), 25)))
        counter = CountingFile(open(path, "rb"))  # noqa: SIM115 - closed with the text wrapper below
        with io.TextIOWrapper(io.BufferedReader(counter, 1 << 20), encoding=encoding, newline="") as text:
            lines = LineGuard(text, path, limits)
            yield from _csv_chunks(
                path,
                lines,
                delimiter,
                options,
                lambda: progress and progress(counter.bytes_read),
                meta={"encoding": encoding, "delimiter": delimiter},
            )
    except LookupError:
        raise FormatError(f"{path.name} : encodage « {encoding} » inconnu") from None
    except UnicodeError as exc:
        where = f"après la ligne {lines.line}" if lines else "dans les 25 premières lignes"
        raise FormatError(
            f"{path.name} : octets illisibles en {encoding} {where} ({exc}) ; "
            "précisez l'encodage dans la configuration du jeu de données"
        ) from None
    except csv.Error as exc:
        raise FormatError(f"{path.name}, ligne {lines.line if lines else 1} : CSV illisible ({exc})") from None


def _numbered(reader, lines: LineGuard) -> Iterator[tuple[int, list[str]]]:
    """(physical line where the record starts, cells), blank lines skipped."""
    for cells in reader:
        start = lines.record_done()
        if cells and any(c.strip() for c in cells):
            yield start, cells


def _split_header(records, header_rows: int | None) -> tuple[list[str] | None, int, Iterator]:
    """Header cells, line of the last header line, remaining records.

    Default: one header line, after skipping title lines such as ``Export du 12/03/2024;;;``.
    ``header_rows`` > 1 merges stacked header lines (group label above, unit below…).
    """
    if header_rows:
        stacked = list(itertools.islice(records, header_rows + 1))
        while len(stacked) > 1 and is_title_row(stacked[0][1], len(stacked[1][1])):
            stacked = stacked[1:] + list(itertools.islice(records, 1))
        if not stacked:
            return None, 0, records
        if len(stacked) > header_rows:
            records = itertools.chain([stacked.pop()], records)
        cells = merge_stacked([c for _, c in stacked]) if len(stacked) > 1 else stacked[0][1]
        return cells, stacked[-1][0], records
    first = next(records, None)
    if first is None:
        return None, 0, records
    while True:
        second = next(records, None)
        if second is None or not is_title_row(first[1], len(second[1])):
            rest = itertools.chain([second], records) if second is not None else records
            return first[1], first[0], rest
        first = second


def _skip_metadata(records, header_line: int | None, meta: dict) -> Iterator:
    """The records from ``header_line`` on; those above (a metadata block such as an Enedis
    export's « Identifiant PRM;… » line and its value line) go to ``meta["metadata_rows"]``."""
    if not header_line:
        return records
    kept: list[list[str]] = []
    meta["metadata_rows"] = kept
    for start, cells in records:
        if start >= header_line:
            return itertools.chain([(start, cells)], records)
        kept.append([str(c) for c in cells])
    return iter(())


def _csv_chunks(path, lines: LineGuard, delimiter, options, tick, meta) -> Iterator[RecordChunk]:
    reader = csv.reader(lines, delimiter=delimiter)
    meta = dict(meta)
    records = _skip_metadata(_numbered(reader, lines), options.header_line, meta)
    header_cells, header_line, records = _split_header(records, options.header_rows)
    if header_cells is None:
        raise FormatError(f"{path.name} : fichier vide (aucune ligne d'en-tête)")
    columns = parse_headers(header_cells)
    # A trailing delimiter on every line (Météo-France) yields an empty last header: drop it.
    trailing = len(columns) > 1 and not header_cells[-1].strip()
    if trailing:
        columns = columns[:-1]
    width = len(columns)
    meta = {**meta, "header_line": header_line}
    unit = "ligne physique du fichier (en-tête compris)"
    chunk = RecordChunk(columns, [], [], unit, meta=meta)
    for start, cells in records:
        if trailing and len(cells) == width + 1 and not cells[-1].strip():
            cells = cells[:-1]
        if len(cells) != width:
            chunk.broken.append(
                (start, f"{len(cells)} champ(s) au lieu de {width} (séparateur « {delimiter} »)", delimiter.join(cells))
            )
        else:
            chunk.rows.append(cells)
            chunk.numbers.append(start)
        if len(chunk.rows) + len(chunk.broken) >= options.chunk_rows:
            tick()
            yield chunk
            chunk = RecordChunk(columns, [], [], unit, meta=meta)
    tick()
    if chunk.rows or chunk.broken:
        yield chunk


# -- Excel -------------------------------------------------------------------------------
def read_excel(path: Path, options: ReadOptions, progress: ProgressFn | None = None) -> Iterator[RecordChunk]:
    from openpyxl import load_workbook

    open_archive(
        path, options.limits, read_whole=True
    ).close()  # sizes and ratios checked before openpyxl expands anything
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/XML/InvalidFileException variants
        raise FormatError(f"{path.name} : classeur Excel illisible ({type(exc).__name__} : {exc})") from None
    try:
        if options.sheet and options.sheet not in wb.sheetnames:
            raise FormatError(f"{path.name} : feuille « {options.sheet} » absente ({', '.join(wb.sheetnames)})")
        if not wb.worksheets:
            raise FormatError(f"{path.name} : classeur sans feuille")
        ws = wb[options.sheet] if options.sheet else wb.worksheets[0]
        size = path.stat().st_size
        yield from _sheet_chunks(
            path,
            ws.title,
            _sheet_rows(ws, path, options.limits),
            options,
            lambda n: progress and progress(size * n // max(ws.max_row or n, 1)),
        )
    except FormatError:
        raise
    except Exception as exc:  # the sheet's XML is parsed lazily, while rows are read
        raise FormatError(f"{path.name} : feuille illisible ({type(exc).__name__} : {exc})") from None
    finally:
        wb.close()


def read_ods(path: Path, options: ReadOptions, progress: ProgressFn | None = None) -> Iterator[RecordChunk]:
    """An OpenDocument spreadsheet, read like an Excel workbook (:mod:`~ingestion.formats.opendocument`)."""
    size = path.stat().st_size
    with open_sheet(path, options.limits, options.sheet) as sheet:
        yield from _sheet_chunks(
            path, sheet.title, sheet.rows, options, lambda _: progress and progress(sheet.done(size))
        )


def _sheet_chunks(
    path: Path, title: str, rows, options: ReadOptions, tick: Callable[[int], None]
) -> Iterator[RecordChunk]:
    """Chunks of a sheet's ``rows`` ((row number, values) of its non-blank rows); ``tick`` gets the row number reached."""
    meta = {"sheet": title}
    records = _skip_metadata(rows, options.header_line, meta)
    header, header_line, records = _split_header(records, options.header_rows)
    if header is None:
        raise FormatError(f"{path.name} : feuille « {title} » vide")
    header = [str(h) for h in header]
    while header and not header[-1].strip():
        header.pop()
    columns = parse_headers(header)
    width = len(columns)
    unit = f"ligne de la feuille « {title} »"
    chunk = RecordChunk(columns, [], [], unit, meta={**meta, "header_line": header_line})
    for number, row in records:
        row = list(row[:width]) + [""] * (width - len(row))
        chunk.rows.append(row)
        chunk.numbers.append(number)
        if len(chunk.rows) >= options.chunk_rows:
            tick(number)
            yield chunk
            chunk = RecordChunk(columns, [], [], unit, meta=chunk.meta)
    if chunk.rows:
        yield chunk


def _sheet_rows(ws, path: Path, limits: LimitsSettings) -> Iterator[tuple[int, list]]:
    """(row number, values) of the non-blank rows; more than ``max_features`` rows refuses the file."""
    for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
        check_count(i, f"lignes dans la feuille « {ws.title} »", path.name, limits)
        if any(v is not None and str(v).strip() for v in row):
            yield i, ["" if v is None else v for v in row]


# -- Shapefile ---------------------------------------------------------------------------
def read_shapefile(path: Path, options: ReadOptions, progress: ProgressFn | None = None) -> Iterator[RecordChunk]:
    import shapefile

    limits = options.limits
    prj = None
    if path.suffix.lower() == ".zip":
        with open_archive(path, limits) as z:
            names = z.namelist()
            if not any(n.lower().endswith(".shp") for n in names):
                raise FormatError(f"{path.name} : l'archive ne contient pas de fichier .shp")
            prj_names = [n for n in names if n.lower().endswith(".prj")]
            try:
                prj = z.read(prj_names[0]).decode("latin-1") if prj_names else None
            except Exception as exc:  # zipfile: bad CRC, truncated member, unsupported compression
                raise FormatError(f"{path.name} : « {prj_names[0]} » illisible dans l'archive ({exc})") from None
    else:
        for part in (path, path.with_suffix(".dbf"), path.with_suffix(".shx")):
            if part.exists():
                check_size(part, limits)
        if path.with_suffix(".prj").exists():
            check_size(path.with_suffix(".prj"), limits, "max_document_bytes")
            prj = path.with_suffix(".prj").read_text("latin-1")
    crs = _crs_from_prj(prj)
    try:
        reader = shapefile.Reader(str(path), encoding=options.encoding or "cp1252", encodingErrors="replace")
    except Exception as exc:  # pyshp: ShapefileException, struct.error, zipfile errors, LookupError…
        raise FormatError(f"{path.name} : shapefile illisible ({type(exc).__name__} : {exc})") from None
    try:
        with reader:
            check_count(len(reader), "enregistrements", path.name, limits)
            yield from _shape_chunks(reader, path, crs, options, progress)
    except FormatError:
        raise
    except Exception as exc:  # pyshp reads records lazily
        raise FormatError(f"{path.name} : shapefile illisible ({type(exc).__name__} : {exc})") from None


def _shape_chunks(reader, path: Path, crs, options: ReadOptions, progress) -> Iterator[RecordChunk]:
    size = path.stat().st_size
    dbf_fields = reader.fields[1:]  # first is the deletion flag
    headers = [f"{f[0]},{f[1]},{f[2]},{f[3]}" if f[1] in "NF" else f"{f[0]},{f[1]},{f[2]}" for f in dbf_fields]
    columns = parse_headers(headers)
    unit = "enregistrement du shapefile"
    meta = {"crs": crs, "records": len(reader)}
    chunk = RecordChunk(columns, [], [], unit, geometry=[], crs=crs, meta=meta)
    for i, sr in enumerate(reader.iterShapeRecords(), start=1):
        chunk.rows.append(list(sr.record))
        chunk.numbers.append(i)
        pts = sr.shape.points  # floats unpacked by pyshp
        chunk.geometry.append(tuple(pts[0][:2]) if sr.shape.shapeType in (1, 11, 21) and pts else _centroid(pts))
        if len(chunk.rows) >= options.chunk_rows:
            progress and progress(size * i // max(len(reader), 1))
            yield chunk
            chunk = RecordChunk(columns, [], [], unit, geometry=[], crs=crs, meta=meta)
    if chunk.rows:
        yield chunk


def _centroid(points) -> tuple[float, float] | None:
    if not points:
        return None
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def _crs_from_prj(prj: str | None) -> str | None:
    if not prj:
        return None
    try:
        from pyproj import CRS

        crs = CRS.from_wkt(prj)
        epsg = crs.to_epsg(min_confidence=50)
        if epsg:
            return f"EPSG:{epsg}"
        if "Lambert" in crs.name and "93" in crs.name:
            return "EPSG:2154"
        return crs.to_wkt()
    except Exception:
        return None


# -- GeoJSON -----------------------------------------------------------------------------
def read_geojson(path: Path, options: ReadOptions, progress: ProgressFn | None = None) -> Iterator[RecordChunk]:
    """A FeatureCollection: properties become columns, the geometry's point/centroid x, y
    (any other JSON document is read as a list of records: :mod:`~ingestion.formats.records`).

    A feature that is not an object, or whose properties or geometry cannot be read, is a
    broken record (quarantined with its number); the others go on.
    """
    limits = options.limits
    doc = jsontext.parse_bytes(read_document(path, limits), path.name, limits, options.encoding or "utf-8-sig")
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        from ingestion.formats.records import record_chunks  # OpenDataSoft records, JSON lists of objects

        yield from record_chunks(doc, path, options, progress)
        return
    features = doc.get("features") or []
    if not isinstance(features, list):
        raise FormatError(f"{path.name} : « features » n'est pas une liste")
    check_count(len(features), "entités (features)", path.name, limits)
    crs = _crs_from_name(_crs_name(doc))
    props = [_properties(f) for f in features]
    names: list[str] = []
    for p in props:
        for k in p or {}:
            if k not in names:
                names.append(k)
    columns = [
        HeaderField(h.original, h.name, _json_kind(props, n), 1 if _json_kind(props, n) == "F" else 0)
        for h, n in zip(parse_headers(names), names)
    ]
    unit = "entité (feature) de la collection"
    for start in range(0, len(features), options.chunk_rows):
        part = features[start : start + options.chunk_rows]
        chunk = RecordChunk(columns, [], [], unit, geometry=[], crs=crs, meta={"features": len(features)})
        for i, feat in enumerate(part, start=start + 1):
            try:
                if props[i - 1] is None:
                    raise ValueError("objet Feature avec « properties » objet ou null attendu")
                xy = _geometry_xy(feat.get("geometry"))
            except ValueError as exc:
                chunk.broken.append((i, f"entité n° {i} : {exc}", json.dumps(feat, ensure_ascii=False)))
                continue
            chunk.rows.append([props[i - 1].get(n) for n in names])
            chunk.numbers.append(i)
            chunk.geometry.append(xy)
        progress and progress(path.stat().st_size * (start + len(part)) // max(len(features), 1))
        yield chunk


def _properties(feat) -> dict | None:
    """The properties of a feature ({} when null), None when the feature is unusable."""
    if not isinstance(feat, dict):
        return None
    props = feat.get("properties")
    if props is None:
        return {}
    return props if isinstance(props, dict) else None


def _crs_name(doc: dict) -> str | None:
    crs = doc.get("crs")
    props = crs.get("properties") if isinstance(crs, dict) else None
    name = props.get("name") if isinstance(props, dict) else None
    return name if isinstance(name, str) else None


def _json_kind(props: list[dict | None], name: str) -> str:
    """dBase-like type letter from the JSON values of a property: N (integers), F, else C."""
    values = [p.get(name) for p in props if p]
    values = [v for v in values if v is not None]
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "N"
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "F"
    return "C"


def _crs_from_name(name: str | None) -> str | None:
    if not name:
        return None
    if "2154" in name:
        return "EPSG:2154"
    if "4326" in name or "CRS84" in name:
        return "EPSG:4326"
    return name


def _geometry_xy(geom) -> tuple[float, float] | None:
    """(x, y) of a Point, the mean of the vertices otherwise, None without coordinates;
    ``ValueError`` on a geometry that is not an object or a position that is not two numbers."""
    if geom is None:
        return None
    if not isinstance(geom, dict):
        raise ValueError("« geometry » n'est pas un objet GeoJSON")
    flat: list[tuple[float, float]] = []

    def walk(c):
        if isinstance(c, list) and c and not isinstance(c[0], list):
            if len(c) < 2 or not (finite(c[0]) and finite(c[1])):
                raise ValueError(f"géométrie illisible : position {json.dumps(c)[:80]} (deux nombres attendus)")
            flat.append((float(c[0]), float(c[1])))
        elif isinstance(c, list):
            for x in c:
                walk(x)
        elif c is not None:
            raise ValueError(f"géométrie illisible : coordonnées {json.dumps(c)[:80]}")

    walk(geom.get("coordinates"))
    if geom.get("type") == "Point":
        return flat[0] if flat else None
    return _centroid(flat)
