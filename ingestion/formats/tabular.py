"""Stream CSV, Excel, zipped shapefiles and GeoJSON as fixed-size chunks of numbered records."""

from __future__ import annotations

import csv
import io
import itertools
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingestion.formats.headers import HeaderField, is_title_row, merge_stacked, parse_headers
from ingestion.formats.text import CountingFile, detect_encoding, sniff_delimiter

CHUNK_ROWS = 50_000
CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}

csv.field_size_limit(64 * 1024 * 1024)


class FormatError(ValueError):
    """The whole file cannot be read as the expected format (message in French)."""


@dataclass
class ReadOptions:
    encoding: str | None = None  # None = detect
    delimiter: str | None = None  # None = sniff
    header_rows: int | None = None  # None = 1 after skipping title lines
    sheet: str | None = None  # Excel sheet name, default first
    chunk_rows: int = CHUNK_ROWS


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
    if suffix in (".zip", ".shp"):
        return read_shapefile(path, options, progress)
    if suffix in (".geojson", ".json"):
        return read_geojson(path, options, progress)
    raise FormatError(f"{path.name} : format de fichier non pris en charge ({suffix or 'sans extension'})")


# -- CSV ---------------------------------------------------------------------------------
def read_csv(path: Path, options: ReadOptions, progress: ProgressFn | None = None) -> Iterator[RecordChunk]:
    encoding = options.encoding or detect_encoding(path)
    with open(path, encoding=encoding, errors="strict", newline="") as f:
        head = [f.readline() for _ in range(25)]
    delimiter = options.delimiter or sniff_delimiter(head)
    counter = CountingFile(open(path, "rb"))  # noqa: SIM115 - closed with the text wrapper below
    text = io.TextIOWrapper(io.BufferedReader(counter, 1 << 20), encoding=encoding, newline="")
    try:
        yield from _csv_chunks(
            path,
            text,
            delimiter,
            options,
            lambda: progress and progress(counter.bytes_read),
            meta={"encoding": encoding, "delimiter": delimiter},
        )
    except UnicodeDecodeError as exc:
        raise FormatError(
            f"{path.name} : octets illisibles en {encoding} ({exc.reason}) ; "
            "précisez l'encodage dans la configuration du jeu de données"
        ) from None
    finally:
        text.close()


def _numbered(reader) -> Iterator[tuple[int, list[str]]]:
    """(physical line where the record starts, cells), blank lines skipped."""
    last = 0
    for cells in reader:
        start, last = last + 1, reader.line_num
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


def _csv_chunks(path, text, delimiter, options, tick, meta) -> Iterator[RecordChunk]:
    reader = csv.reader(text, delimiter=delimiter)
    header_cells, header_line, records = _split_header(_numbered(reader), options.header_rows)
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

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException variants
        raise FormatError(f"{path.name} : classeur Excel illisible ({exc})") from None
    try:
        ws = wb[options.sheet] if options.sheet else wb.worksheets[0]
        cells_rows = (
            (i, ["" if v is None else v for v in row])
            for i, row in enumerate(ws.iter_rows(values_only=True), start=1)
            if any(v is not None and str(v).strip() for v in row)
        )
        as_text = ((i, [v if not isinstance(v, str) else v for v in row]) for i, row in cells_rows)
        header, header_line, records = _split_header(((i, row) for i, row in as_text), options.header_rows)
        if header is None:
            raise FormatError(f"{path.name} : feuille « {ws.title} » vide")
        header = [str(h) for h in header]
        while header and not header[-1].strip():
            header.pop()
        columns = parse_headers(header)
        width = len(columns)
        unit = f"ligne de la feuille « {ws.title} »"
        chunk = RecordChunk(columns, [], [], unit, meta={"sheet": ws.title, "header_line": header_line})
        for number, row in records:
            row = list(row[:width]) + [""] * (width - len(row))
            chunk.rows.append(row)
            chunk.numbers.append(number)
            if len(chunk.rows) >= options.chunk_rows:
                progress and progress(path.stat().st_size * number // max(ws.max_row or number, 1))
                yield chunk
                chunk = RecordChunk(columns, [], [], unit, meta=chunk.meta)
        if chunk.rows:
            yield chunk
    finally:
        wb.close()


# -- Shapefile ---------------------------------------------------------------------------
def read_shapefile(path: Path, options: ReadOptions, progress: ProgressFn | None = None) -> Iterator[RecordChunk]:
    import shapefile

    prj = None
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
                shp = [n for n in names if n.lower().endswith(".shp")]
                if not shp:
                    raise FormatError(f"{path.name} : l'archive ne contient pas de fichier .shp")
                prj_names = [n for n in names if n.lower().endswith(".prj")]
                prj = z.read(prj_names[0]).decode("latin-1") if prj_names else None
        except zipfile.BadZipFile:
            raise FormatError(f"{path.name} : archive zip illisible") from None
    elif path.with_suffix(".prj").exists():
        prj = path.with_suffix(".prj").read_text("latin-1")
    crs = _crs_from_prj(prj)
    try:
        reader = shapefile.Reader(str(path), encoding=options.encoding or "cp1252", encodingErrors="replace")
    except shapefile.ShapefileException as exc:
        raise FormatError(f"{path.name} : shapefile illisible ({exc})") from None
    size = path.stat().st_size
    with reader:
        dbf_fields = reader.fields[1:]  # first is the deletion flag
        headers = [f"{f[0]},{f[1]},{f[2]},{f[3]}" if f[1] in "NF" else f"{f[0]},{f[1]},{f[2]}" for f in dbf_fields]
        columns = parse_headers(headers)
        unit = "enregistrement du shapefile"
        meta = {"crs": crs, "records": len(reader)}
        chunk = RecordChunk(columns, [], [], unit, geometry=[], crs=crs, meta=meta)
        for i, sr in enumerate(reader.iterShapeRecords(), start=1):
            chunk.rows.append(list(sr.record))
            chunk.numbers.append(i)
            pts = sr.shape.points
            chunk.geometry.append(tuple(pts[0]) if sr.shape.shapeType in (1, 11, 21) and pts else _centroid(pts))
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
    """A FeatureCollection: properties become columns, the geometry's point/centroid x, y."""
    try:
        doc = json.loads(path.read_bytes().decode(options.encoding or "utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{path.name} : GeoJSON illisible ({exc})") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise FormatError(f"{path.name} : ce n'est pas une FeatureCollection GeoJSON")
    features = doc.get("features") or []
    crs_name = ((doc.get("crs") or {}).get("properties") or {}).get("name")
    crs = _crs_from_name(crs_name)
    names: list[str] = []
    for feat in features:
        for k in feat.get("properties") or {}:
            if k not in names:
                names.append(k)
    columns = [
        HeaderField(h.original, h.name, _json_kind(features, n), 1 if _json_kind(features, n) == "F" else 0)
        for h, n in zip(parse_headers(names), names)
    ]
    unit = "entité (feature) de la collection"
    for start in range(0, len(features), options.chunk_rows):
        part = features[start : start + options.chunk_rows]
        chunk = RecordChunk(columns, [], [], unit, geometry=[], crs=crs, meta={"features": len(features)})
        for i, feat in enumerate(part, start=start + 1):
            props = feat.get("properties") or {}
            chunk.rows.append([props.get(n) for n in names])
            chunk.numbers.append(i)
            chunk.geometry.append(_geometry_xy(feat.get("geometry")))
        progress and progress(path.stat().st_size * (start + len(part)) // max(len(features), 1))
        yield chunk


def _json_kind(features: list, name: str) -> str:
    """dBase-like type letter from the JSON values of a property: N (integers), F, else C."""
    values = [(f.get("properties") or {}).get(name) for f in features]
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
    if not isinstance(geom, dict):
        return None
    coords = geom.get("coordinates")
    if geom.get("type") == "Point" and coords and len(coords) >= 2:
        return float(coords[0]), float(coords[1])
    flat = []

    def walk(c):
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            flat.append((float(c[0]), float(c[1])))
        elif isinstance(c, (list, tuple)):
            for x in c:
                walk(x)

    walk(coords)
    return _centroid(flat)
