"""What a source connector is: it turns one input file into batches of canonical records.

A connector never writes to the lake itself. It yields :class:`Batch` objects (records
already named and typed after a :class:`DatasetSpec`, plus the rows it could not map, with
the reason); :mod:`ingestion.sources.runner` validates, writes and counts them. A whole
file that cannot be read raises :class:`FileRejected` (or another
:class:`~ingestion.formats.errors.InputRejected`) with a French message; every reader keeps
within ``Context.limits``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ingestion.formats.errors import InputRejected
from ingestion.formats.values import DEFAULT_TZ
from ingestion.spec import DatasetSpec
from lakehouse.settings import LimitsSettings

DOC_NAMES = ("readme", "licence", "license", "lisez")
DOC_SUFFIXES = (".md", ".pdf", ".html", ".htm", ".doc", ".docx", ".odt")


class FileRejected(InputRejected):
    """The whole file is refused (unreadable, wrong format, unsafe XML…); message in French."""


@dataclass
class RowReject:
    number: int  # position in the file, counted as the batch's ``row_unit`` says
    field: str | None  # offending field, None when the record as a whole is unusable
    message: str
    raw: object = None  # the original record (dict or text), kept in quarantine


MAPPING_ERRORS = (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError)


def mapping_reject(number: int, exc: Exception, raw: object, field: str | None = None) -> RowReject:
    """The rejection of a record its mapping could not read: a ``ValueError`` carries a French
    message (about ``field`` unless it names its own); the others mean a value of an
    unexpected JSON type."""
    if isinstance(exc, ValueError):
        return RowReject(number, getattr(exc, "field", field), str(exc), raw)
    return RowReject(number, None, f"valeur d'un type inattendu ({type(exc).__name__} : {exc})", raw)


@dataclass
class Batch:
    spec: DatasetSpec
    records: list[dict]  # canonical column name → Python value
    numbers: list[int]  # position of each record in the file
    row_unit: str  # what ``numbers`` count, in French ("ligne physique du fichier", "objet JSON n°"…)
    rejects: list[RowReject] = field(default_factory=list)


def merge(out: dict[str, Batch], staged: dict[str, Batch]) -> None:
    """Append the records and rejections of ``staged`` (one input object, mapped) to ``out``."""
    for key, b in staged.items():
        mine = out.setdefault(key, Batch(b.spec, [], [], b.row_unit))
        mine.records += b.records
        mine.numbers += b.numbers
        mine.rejects += b.rejects


@dataclass
class Context:
    """Per-run options shared by connectors."""

    tz: str = DEFAULT_TZ  # zone of naive timestamps
    options: dict = field(default_factory=dict)  # connector-specific (from the CLI or config)
    progress: Callable[[int], None] | None = None  # bytes or records done in the current file
    limits: LimitsSettings = field(default_factory=LimitsSettings)  # the runner sets the platform's

    def tick(self, done: int) -> None:
        if self.progress:
            self.progress(done)


class Source:
    """Base class of connectors; subclasses set the class attributes and implement :meth:`read`."""

    name: ClassVar[str]  # CLI name: ``hyperviseur ingest <name> <path>``
    label: ClassVar[str]  # French description shown in ``--help``
    suffixes: ClassVar[tuple[str, ...]] = ()  # file suffixes this connector reads in a folder
    datasets: ClassVar[tuple[DatasetSpec, ...]] = ()  # canonical datasets it writes (registered up front)

    def files(self, path: Path) -> tuple[list[Path], list[Path]]:
        """(files to ingest, documentation files skipped) under ``path`` (a file or a folder)."""
        if path.is_file():
            return [path], []
        found, docs = [], []
        for p in sorted(q for q in path.rglob("*") if q.is_file() and not q.name.startswith(".")):
            if is_documentation(p):
                docs.append(p)
            elif not self.suffixes or p.suffix.lower() in self.suffixes:
                found.append(p)
        return found, docs

    def read(self, path: Path, ctx: Context) -> Iterator[Batch]:  # pragma: no cover - interface
        raise NotImplementedError


def is_documentation(path: Path) -> bool:
    stem = path.stem.lower()
    return path.suffix.lower() in DOC_SUFFIXES or any(stem.startswith(d) for d in DOC_NAMES)


def chunked(items: list, size: int) -> Iterator[tuple[int, list]]:
    """(offset, slice) pairs of fixed size: deterministic chunk boundaries."""
    for start in range(0, len(items), size):
        yield start, items[start : start + size]
