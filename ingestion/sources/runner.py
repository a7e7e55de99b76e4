"""Run a connector over a file or folder: validate, write raw and quarantine, count.

For every dataset: rows in = rows written to raw + rows quarantined + duplicates (a
redelivery: same key twice inside a chunk, or a chunk whose exact rows are already in raw). A file that cannot be read at all becomes
one row of ``quarantine/ingestion/rejected_files`` (content + reason) and never stops the
run. Batch ids derive from content, so re-ingesting the same file rewrites the same objects.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa

from ingestion.datasets import REJECTED_FILES
from ingestion.formats.tabular import FormatError
from ingestion.pipeline import IngestReport, register, write_chunk
from ingestion.sources import get
from ingestion.sources.base import Batch, Context, FileRejected
from ingestion.spec import DatasetSpec
from ingestion.validation import ERROR_COLUMN, ROW_COLUMN
from lakehouse.lake import Zone
from lakehouse.platform import Lakehouse

MAX_KEPT_BYTES = 32 * 1024 * 1024


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
    ctx = ctx or Context()
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
        before = run.report.rows_in
        try:
            for batch in source.read(f, ctx):
                _register_once(lh, batch.spec, registered)
                write_batch(lh, batch, str(f.resolve()), run.report)
            run.files.append(FileOutcome(str(f), "ingéré", rows_in=run.report.rows_in - before))
        except (FileRejected, FormatError) as exc:
            _reject_file(lh, f, source.name, str(exc), run, registered)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            _reject_file(lh, f, source.name, f"{f.name} : contenu illisible ({exc})", run, registered)
        finally:
            progress.file_done(f)
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


def write_batch(lh: Lakehouse, batch: Batch, origin: str, report: IngestReport) -> None:
    """Validate one batch; valid rows → raw, rejected rows (validation + connector) → quarantine."""
    spec = batch.spec
    extra = _connector_rejects(spec, batch, origin) if batch.rejects else None
    write_chunk(
        lh,
        spec,
        records_table(spec, batch.records, batch.numbers),
        origin,
        report,
        extra_rejected=extra,
        row_unit=batch.row_unit,
    )


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
    _register_once(lh, REJECTED_FILES, seen)
    data = path.read_bytes()
    table = pa.table(
        {
            "file": pa.array([str(path.resolve())]),
            "connector": pa.array([connector]),
            "size_bytes": pa.array([len(data)], pa.int64()),
            "sha256": pa.array([hashlib.sha256(data).hexdigest()]),
            "content": pa.array([data[:MAX_KEPT_BYTES]], pa.binary()),
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
