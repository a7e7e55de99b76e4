"""Stream one sheet of an OpenDocument spreadsheet (``.ods``) as numbered rows of typed cells.

The archive's sizes and ratios are checked (:func:`~ingestion.formats.limits.open_archive`,
``content.xml`` held to ``max_document_bytes``) before anything is expanded; ``content.xml`` is
then parsed as a stream with defusedxml (no DTD, no entity), each row dropped once read.
Cells come as the spreadsheet typed them: numbers (``int`` when whole), dates (``date``, or
``datetime`` with a time of day), booleans, text. Repeated cells and rows
(``table:number-columns-repeated`` / ``number-rows-repeated``, a few bytes for a million
cells) are expanded only when they hold a value, and never beyond what the sheet would weigh
written out cell by cell (``max_document_bytes``) nor beyond :data:`MAX_COLUMNS` columns.
Every refusal is a :class:`~ingestion.formats.errors.FormatError` naming the file.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as SafeET

from ingestion.formats.errors import FormatError
from ingestion.formats.limits import beyond, check_count, check_depth, number, open_archive
from lakehouse.settings import LimitsSettings

MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
MAX_COLUMNS = 16_384  # the widest sheet spreadsheet software writes (LibreOffice, Excel)
CELL_BYTES = len("<table:table-cell/>")  # the least one cell weighs written out without repetition
_NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}


def _q(prefix: str, name: str) -> str:
    return f"{{{_NS[prefix]}}}{name}"


TABLE, ROW = _q("table", "table"), _q("table", "table-row")
CELLS = {_q("table", "table-cell"), _q("table", "covered-table-cell")}
ROWS_REPEATED, COLUMNS_REPEATED = _q("table", "number-rows-repeated"), _q("table", "number-columns-repeated")
PARAGRAPH, SPACES, TAB, LINE_BREAK = _q("text", "p"), _q("text", "s"), _q("text", "tab"), _q("text", "line-break")
VALUE_TYPE = _q("office", "value-type")
NUMBER_TYPES = {"float", "percentage", "currency"}


@dataclass
class Sheet:
    """The sheet being read: its name, its rows (:meth:`rows`) and how far the reading is."""

    title: str
    rows: Iterator[tuple[int, list]]  # (sheet row number, values) of the non-blank rows
    member: zipfile.ZipExtFile
    size: int  # expanded size of content.xml

    def done(self, total: int) -> int:
        """``total`` scaled by the share of ``content.xml`` read so far (progress bars)."""
        try:
            return total * self.member.tell() // max(self.size, 1)
        except (OSError, ValueError):
            return 0


@contextmanager
def open_sheet(path: Path, limits: LimitsSettings, sheet: str | None = None) -> Iterator[Sheet]:
    """The sheet named ``sheet`` (default: the first) of the ``.ods`` at ``path``, read as it is iterated."""
    with open_archive(path, limits, read_whole=True) as z:
        _check_mimetype(z, path)
        try:
            info = z.getinfo("content.xml")
        except KeyError:
            raise FormatError(f"{path.name} : classeur OpenDocument sans « content.xml »") from None
        with z.open(info) as member:
            events = _events(SafeET.iterparse(member, events=("start", "end"), forbid_dtd=True), path, limits)
            title, table = _find_table(events, path, sheet)
            yield Sheet(title, _rows(events, table, path, title, limits), member, info.file_size)


def _check_mimetype(z: zipfile.ZipFile, path: Path) -> None:
    try:
        declared = z.read("mimetype")[:200].decode("ascii", "replace").strip()
    except KeyError:
        declared = ""
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:  # bad CRC, truncated member
        raise FormatError(f"{path.name} : archive zip illisible ({exc})") from None
    if declared != MIMETYPE:
        raise FormatError(
            f"{path.name} : ce n'est pas un classeur OpenDocument (type « {declared or 'absent'} », "
            f"attendu « {MIMETYPE} »)"
        )


def _events(parser, path: Path, limits: LimitsSettings) -> Iterator[tuple[str, object]]:
    """(event, element) of the parse, depth checked; every parser or archive failure a French :class:`FormatError`."""
    depth = 0
    while True:
        try:
            event, el = next(parser)
        except StopIteration:
            return
        except defusedxml.DefusedXmlException as exc:
            raise FormatError(
                f"{path.name} : XML refusé pour sécurité dans « content.xml » ({type(exc).__name__} : "
                "DTD ou entités interdites)"
            ) from None
        except SafeET.ParseError as exc:
            raise FormatError(f"{path.name} : « content.xml » mal formé ({exc})") from None
        except (zipfile.BadZipFile, OSError, EOFError, LookupError) as exc:  # bad CRC, truncated, encoding
            raise FormatError(f"{path.name} : classeur OpenDocument illisible ({type(exc).__name__} : {exc})") from None
        if event == "start":
            depth += 1
            check_depth(depth, f"{path.name} (content.xml)", limits)
        yield event, el
        if event == "end":
            depth -= 1


def _find_table(events, path: Path, wanted: str | None) -> tuple[str, object]:
    """Advance ``events`` to the start of the wanted sheet; its name and element."""
    names = []
    for event, el in events:
        if event != "start" or el.tag != TABLE:
            continue
        name = el.get(_q("table", "name"), f"Feuille{len(names) + 1}")
        if wanted is None or name == wanted:
            return name, el
        names.append(name)
    if wanted is None:
        raise FormatError(f"{path.name} : classeur sans feuille")
    raise FormatError(f"{path.name} : feuille « {wanted} » absente ({', '.join(names)})")


def _rows(events, table, path: Path, title: str, limits: LimitsSettings) -> Iterator[tuple[int, list]]:
    """(row number, values) of the non-blank rows of ``table``, whose start ``events`` is past."""
    budget = limits.max_document_bytes // CELL_BYTES  # cells the sheet may expand to
    row_number, parents = 0, [table]
    for event, el in events:
        if event == "start":
            parents.append(el)
            continue
        parents.pop()
        if el.tag == TABLE:
            return
        if el.tag != ROW:
            continue
        values = _cells(el, path, title, row_number + 1, limits)
        repeat = _repeat(el, ROWS_REPEATED, path)
        parents[-1].remove(el)  # what was read is dropped: memory stays that of one row
        if not any(str(v).strip() for v in values):
            row_number += repeat
            continue
        budget -= len(values) * repeat
        if budget < 0:
            raise FormatError(
                f"{path.name} : la feuille « {title} » se déploie (cellules répétées) en plus de "
                f"{number(limits.max_document_bytes // CELL_BYTES)} cellules, "
                f"{beyond(limits, 'max_document_bytes', 'octets')}"
            )
        for _ in range(repeat):
            row_number += 1
            check_count(row_number, f"lignes dans la feuille « {title} »", path.name, limits)
            yield row_number, list(values)


def _cells(row, path: Path, title: str, number_: int, limits: LimitsSettings) -> list:
    """Values of a row, trailing blanks left out (``[]`` for a blank row)."""
    values: list = []
    blanks = 0
    for cell in row:
        if cell.tag not in CELLS:
            continue
        repeat = _repeat(cell, COLUMNS_REPEATED, path)
        value = _value(cell, limits)
        if value == "":
            blanks += repeat
            continue
        if len(values) + blanks + repeat > MAX_COLUMNS:
            raise FormatError(
                f"{path.name} : feuille « {title} », ligne {number_} : plus de {number(MAX_COLUMNS)} colonnes"
            )
        values += [""] * blanks + [value] * repeat
        blanks = 0
    return values


def _repeat(el, attribute: str, path: Path) -> int:
    raw = el.get(attribute, "1")
    if not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise FormatError(f"{path.name} : répétition « {raw[:20]} » invalide dans « content.xml »")
    return int(raw)


def _value(cell, limits: LimitsSettings):
    """The cell's value as typed by the spreadsheet (its text when the typed value is unreadable)."""
    kind = cell.get(VALUE_TYPE)
    try:
        if kind in NUMBER_TYPES:
            value = float(cell.get(_q("office", "value"), ""))
            return int(value) if value.is_integer() and abs(value) < 2**53 else value
        if kind == "date":
            text = cell.get(_q("office", "date-value"), "")
            return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        if kind == "boolean":
            return cell.get(_q("office", "boolean-value"), "").lower() == "true"
    except (ValueError, OverflowError):
        pass
    string = cell.get(_q("office", "string-value"))
    if string is not None:
        return string
    return "\n".join(_paragraph(p, limits.max_cell_chars + 1) for p in cell if p.tag == PARAGRAPH)


def _paragraph(p, most: int) -> str:
    """Text of a ``text:p``, with its ``text:s`` spaces (at most ``most`` characters of them), tabs and line breaks."""
    parts = [p.text or ""]
    for child in p:
        if child.tag == SPACES:
            raw = child.get(_q("text", "c"), "1")
            parts.append(" " * min(int(raw) if raw.isdigit() and len(raw) < 10 else 1, most))
        elif child.tag == TAB:
            parts.append("\t")
        elif child.tag == LINE_BREAK:
            parts.append("\n")
        else:  # text:span, text:a…
            parts.append(_paragraph(child, most))
        parts.append(child.tail or "")
    return "".join(parts)
