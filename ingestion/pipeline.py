"""Write validated chunks to the raw zone and rejected rows to quarantine, and count them.

Chunks must be cut deterministically by the caller (fixed rows per chunk), so that
re-ingesting the same input yields the same batch ids and overwrites instead of adding.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa

from ingestion.spec import DatasetSpec
from ingestion.validation import ERROR_COLUMN, validate
from lakehouse.encryption import raw_encryption
from lakehouse.lake import BatchManifest, Zone, content_id
from lakehouse.platform import Lakehouse
from lakehouse.registry import DatasetEntry


@dataclass
class DatasetCounts:
    rows_in: int = 0
    rows_raw: int = 0
    rows_quarantined: int = 0
    duplicates: int = 0
    raw_keys: list[str] = field(default_factory=list)
    quarantine_keys: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.rows_raw + self.rows_quarantined + self.duplicates


@dataclass
class IngestReport:
    origin: str
    datasets: dict[str, DatasetCounts] = field(default_factory=lambda: defaultdict(DatasetCounts))
    file_errors: list[str] = field(default_factory=list)  # whole-file rejections (unreadable, wrong format)
    created: list[BatchManifest] = field(default_factory=list)  # batches written anew (content ids): see rollback

    @property
    def rows_in(self) -> int:
        return sum(c.rows_in for c in self.datasets.values())

    @property
    def rows_raw(self) -> int:
        return sum(c.rows_raw for c in self.datasets.values())

    @property
    def rows_quarantined(self) -> int:
        return sum(c.rows_quarantined for c in self.datasets.values())

    @property
    def duplicates(self) -> int:
        return sum(c.duplicates for c in self.datasets.values())

    def merge(self, other: IngestReport) -> None:
        for name, c in other.datasets.items():
            mine = self.datasets[name]
            mine.rows_in += c.rows_in
            mine.rows_raw += c.rows_raw
            mine.rows_quarantined += c.rows_quarantined
            mine.duplicates += c.duplicates
            mine.raw_keys += c.raw_keys
            mine.quarantine_keys += c.quarantine_keys
        self.file_errors += other.file_errors
        self.created += other.created


def rollback(lh: Lakehouse, report: IngestReport) -> None:
    """Delete the batches ``report`` created (data, then manifest): a file refused mid-way
    leaves nothing behind. Batches that existed before (a re-ingestion) are never listed."""
    for m in reversed(report.created):
        lh.storage.delete(m.key)
        lh.storage.delete(lh.lake.manifest_key(m.zone, m.source, m.dataset, m.batch_id))
    report.created.clear()


def register(lh: Lakehouse, spec: DatasetSpec) -> None:
    for zone in (Zone.RAW, Zone.QUARANTINE):
        lh.registry.register(
            DatasetEntry(
                name=spec.qualified_name,
                zone=zone.value,
                path=lh.lake.dataset_prefix(zone, spec.source, spec.name),
                owner_service=spec.owner_service,
                description=spec.description if zone == Zone.RAW else f"Lignes rejetées : {spec.description}",
                encrypted_columns=list(spec.encrypted_columns) if zone == Zone.RAW else [],
            ),
            schema=spec.schema if zone == Zone.RAW else None,
        )


def write_chunk(
    lh: Lakehouse,
    spec: DatasetSpec,
    chunk: pa.Table,
    origin: str,
    report: IngestReport,
    batch_id: str | None = None,
    extra_rejected: pa.Table | None = None,
    row_unit: str | None = None,
    ingest_date: date | None = None,
) -> None:
    """Validate one chunk, write its valid rows to raw/ and its rejected rows to quarantine/.

    Without an explicit ``batch_id`` the id derives from the valid rows, and rows already
    in raw under that id are counted as duplicates (a re-ingestion) instead of rewritten.
    ``extra_rejected`` holds rows a connector could not even map (same layout as
    validation's rejections); ``row_unit`` says what ``_row`` counts in error messages;
    ``ingest_date`` (default: today) is the raw partition of a chunk landed for another day.

    Fails closed: a dataset with personal columns is refused before anything is written
    when the encryption key file is missing (``HYPERVISEUR_KMS_KEY_FILE``). Every raw write
    (CLI, inbox sensor, Kubernetes jobs, stream consumer, demo) goes through here.
    """
    encryption = raw_encryption(lh.settings, spec.encrypted_columns)
    result = validate(chunk, spec, origin)
    counts = report.datasets[spec.qualified_name]
    counts.rows_in += chunk.num_rows + (extra_rejected.num_rows if extra_rejected is not None else 0)
    counts.duplicates += result.duplicates
    if result.valid.num_rows:
        raw_id = batch_id or content_id(result.valid)
        if batch_id is None and lh.lake.read_manifest(Zone.RAW, spec.source, spec.name, raw_id):
            counts.duplicates += result.valid.num_rows
        else:
            m = lh.lake.write_batch(
                Zone.RAW,
                spec.source,
                spec.name,
                result.valid,
                origin=origin,
                batch_id=raw_id,
                encryption=encryption,
                ingest_date=ingest_date,
            )
            counts.rows_raw += m.rows
            counts.raw_keys.append(m.key)
            if batch_id is None:
                report.created.append(m)
    rejected = result.rejected
    if row_unit and rejected.num_rows:
        rejected = _with_row_unit(rejected, row_unit)
    if extra_rejected is not None and extra_rejected.num_rows:
        rejected = pa.concat_tables([rejected, extra_rejected]) if rejected.num_rows else extra_rejected
    if rejected.num_rows:
        q_id = f"{batch_id}-q" if batch_id else content_id(rejected)
        new = batch_id is None and lh.lake.read_manifest(Zone.QUARANTINE, spec.source, spec.name, q_id) is None
        m = lh.lake.write_batch(
            Zone.QUARANTINE, spec.source, spec.name, rejected, origin=origin, batch_id=q_id, ingest_date=ingest_date
        )
        counts.rows_quarantined += m.rows
        counts.quarantine_keys.append(m.key)
        if new:
            report.created.append(m)


def _with_row_unit(rejected: pa.Table, unit: str) -> pa.Table:
    """Add ``row_unit`` (what the row number counts) to every error document."""
    errors = []
    for text in rejected.column(ERROR_COLUMN).to_pylist():
        doc = json.loads(text)
        doc["row_unit"] = unit
        errors.append(json.dumps(doc, ensure_ascii=False, default=str))
    idx = rejected.schema.get_field_index(ERROR_COLUMN)
    return rejected.set_column(idx, ERROR_COLUMN, pa.array(errors, pa.string()))
