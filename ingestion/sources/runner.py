"""Run a connector over a file or folder: validate, write raw and quarantine, count.

For every dataset: rows in = rows written to raw + rows quarantined + duplicates (a
redelivery: same key twice inside a chunk, or a chunk whose exact rows are already in raw).
A file is all-or-nothing: when it is refused, even mid-way (a limit of
:class:`~lakehouse.settings.LimitsSettings` exceeded, bytes undecodable on line 900 000),
the batches already written for it are deleted and it becomes one row of
``quarantine/ingestion/rejected_files`` (a bounded prefix of its content, its size and
SHA-256 computed by streaming, the reason); it never stops the run. A value longer than
``max_cell_chars`` or holding a NUL character sends its row to quarantine. Batch ids
derive from content, so re-ingesting the same file rewrites the same objects.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.datasets import REJECTED_FILES
from ingestion.formats.errors import InputRejected
from ingestion.formats.limits import beyond, number
from ingestion.pipeline import IngestReport, register, rollback, write_chunk
from ingestion.sources import get
from ingestion.sources.base import Batch, Context, RowReject
from ingestion.spec import DatasetSpec
from ingestion.validation import ERROR_COLUMN, ROW_COLUMN
from lakehouse.errors import LakehouseError
from lakehouse.lake import Zone
from lakehouse.platform import Lakehouse
from lakehouse.settings import LimitsSettings

MAX_KEPT_BYTES = 32 * 1024 * 1024  # prefix of a refused file kept in quarantine (its size and hash are whole)
log = logging.getLogger(__name__)


@dataclass
class FileOutcome:
    path: str
    status: str  # "ingéré", "rejeté", "ignoré"
    message: str = ""
    rows_in: int = 0


@dataclass
class RunReport:
    connector: str
    report: IngestReport
    files: list[FileOutcome] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return all(c.balanced for c in self.report.datasets.values())


class Progress:
    """Hooks the CLI implements with a rich progress bar; the default does nothing."""

    def file_started(self, path: Path, total: int) -> None: ...

    def advance(self, done: int) -> None: ...

    def file_done(self, path: Path) -> None: ...


def ingest_path(
    lh: Lakehouse, connector: str, path: Path, ctx: Context | None = None, progress: Progress | None = None
) -> RunReport:
    """Ingest ``path`` (a file or a folder) with the connector named ``connector``."""
    source = get(connector)
    ctx = replace(ctx or Context(), limits=lh.settings.limits)
    progress = progress or Progress()
    path = Path(path)
    run = RunReport(connector, IngestReport(origin=str(path)))
    if not path.exists():
        raise FileNotFoundError(f"{path} : fichier ou dossier introuvable")
    files, docs = source.files(path)
    run.files += [FileOutcome(str(d), "ignoré", "documentation, pas des données") for d in docs]
    registered: set[str] = set()
    for spec in source.datasets:
        _register_once(lh, spec, registered)
    for f in files:
        progress.file_started(f, f.stat().st_size)
        ctx.progress = progress.advance
        report = IngestReport(origin=str(f))
        try:
            for batch in source.read(f, ctx):
                _register_once(lh, batch.spec, registered)
                write_batch(lh, batch, str(f.resolve()), report, ctx.limits)
        except InputRejected as exc:
            reason = str(exc)
        except LakehouseError:  # the lake or the key store failed: stop, leaving nothing half-written
            rollback(lh, report)
            raise
        except Exception as exc:  # a reader bug must not stop a folder run; the reason says so
            log.exception("%s : erreur interne du connecteur %s", f, source.name)
            reason = f"{f.name} : erreur interne du connecteur « {source.name} » ({type(exc).__name__} : {exc})"
        else:
            reason = None
            run.report.merge(report)
            run.files.append(FileOutcome(str(f), "ingéré", rows_in=report.rows_in))
        finally:
            progress.file_done(f)
        if reason is not None:
            rollback(lh, report)
            _reject_file(lh, f, source.name, reason, run, registered)
    return run


def _register_once(lh: Lakehouse, spec: DatasetSpec, seen: set[str]) -> None:
    if spec.qualified_name not in seen:
        register(lh, spec)
        seen.add(spec.qualified_name)


def records_table(spec: DatasetSpec, records: list[dict], numbers: list[int]) -> pa.Table:
    """Build a table with the spec's columns; a column whose values do not fit its type is
    kept as text so that validation quarantines the offending rows with their value."""
    arrays, names = [], []
    for col in spec.columns:
        values = [r.get(col.name) for r in records]
        try:
            arr = pa.array(values, type=col.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
            arr = pa.array([None if v is None else _text(v) for v in values], pa.string())
        arrays.append(arr)
        names.append(col.name)
    arrays.append(pa.array(numbers, pa.int64()))
    names.append(ROW_COLUMN)
    return pa.Table.from_arrays(arrays, names=names)


def _text(value) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def write_batch(lh: Lakehouse, batch: Batch, origin: str, report: IngestReport, limits: LimitsSettings) -> None:
    """Validate one batch; valid rows → raw, rejected rows (cells, validation, connector) → quarantine."""
    spec = batch.spec
    table = records_table(spec, batch.records, batch.numbers)
    table = _reject_bad_cells(table, batch, limits)
    extra = _connector_rejects(spec, batch, origin) if batch.rejects else None
    write_chunk(lh, spec, table, origin, report, extra_rejected=extra, row_unit=batch.row_unit)


def _reject_bad_cells(table: pa.Table, batch: Batch, limits: LimitsSettings) -> pa.Table:
    """Move to ``batch.rejects`` the rows holding a text longer than ``max_cell_chars`` or a NUL
    character (which breaks SQL engines and exports downstream); the table without them."""
    bad: dict[int, RowReject] = {}
    for name in table.column_names:
        col = table.column(name)
        if not pa.types.is_string(col.type):
            continue
        lengths = pc.utf8_length(col)
        mask = pc.fill_null(pc.or_(pc.greater(lengths, limits.max_cell_chars), pc.match_substring(col, "\x00")), False)
        for i in pc.indices_nonzero(mask).to_pylist():
            if i in bad:
                continue
            size = lengths[i].as_py()
            message = (
                f"champ « {name} » : {number(size)} caractères, {beyond(limits, 'max_cell_chars', 'caractères')}"
                if size > limits.max_cell_chars
                else f"champ « {name} » : caractère NUL (U+0000), interdit dans une valeur"
            )
            bad[i] = RowReject(batch.numbers[i], name, message, _cut(batch.records[i], limits.max_cell_chars))
    if not bad:
        return table
    batch.rejects.extend(bad[i] for i in sorted(bad))
    return table.filter(pa.array([i not in bad for i in range(table.num_rows)]))


def _cut(record: dict, chars: int) -> dict:
    """The record with every text longer than ``chars`` cut there (quarantine keeps a prefix)."""
    return {k: v[:chars] + " […]" if isinstance(v, str) and len(v) > chars else v for k, v in record.items()}


def _connector_rejects(spec: DatasetSpec, batch: Batch, origin: str) -> pa.Table:
    """Rows the connector could not map: the spec's columns hold what could be read, the
    raw record is in the error document, in the same layout as validation's rejections."""
    cols: dict[str, list] = {c.name: [] for c in spec.columns}
    rows, errors = [], []
    for r in batch.rejects:
        raw = r.raw if isinstance(r.raw, dict) else {}
        for c in spec.columns:
            v = raw.get(c.name)
            cols[c.name].append(None if v is None else _text(v))
        rows.append(r.number)
        errors.append(
            json.dumps(
                {
                    "file": origin,
                    "row": r.number,
                    "row_unit": batch.row_unit,
                    "errors": [{"field": r.field, "message": r.message, "value": None}],
                    "raw": r.raw if isinstance(r.raw, (dict, list, str)) else _text(r.raw),
                },
                ensure_ascii=False,
                default=str,
            )
        )
    arrays = [pa.array(v, pa.string()) for v in cols.values()]
    arrays += [pa.array(rows, pa.int64()), pa.array(errors, pa.string())]
    return pa.Table.from_arrays(arrays, names=list(cols) + [ROW_COLUMN, ERROR_COLUMN])


def _reject_file(lh: Lakehouse, path: Path, connector: str, reason: str, run: RunReport, seen: set[str]) -> None:
    """One row of ``ingestion.rejected_files``: a prefix of the content, never the whole file in memory."""
    _register_once(lh, REJECTED_FILES, seen)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        kept = f.read(MAX_KEPT_BYTES)
        digest.update(kept)
        size = len(kept)
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    table = pa.table(
        {
            "file": pa.array([str(path.resolve())]),
            "connector": pa.array([connector]),
            "size_bytes": pa.array([size], pa.int64()),
            "sha256": pa.array([digest.hexdigest()]),
            "content": pa.array([kept], pa.binary()),
            "reason": pa.array([reason]),
        }
    )
    m = lh.lake.write_batch(
        Zone.QUARANTINE, REJECTED_FILES.source, REJECTED_FILES.name, table, origin=str(path.resolve())
    )
    counts = run.report.datasets[REJECTED_FILES.qualified_name]
    counts.rows_in += 1
    counts.rows_quarantined += 1
    counts.quarantine_keys.append(m.key)
    run.report.file_errors.append(reason)
    run.files.append(FileOutcome(str(path), "rejeté", reason))
