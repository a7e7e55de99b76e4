"""Atomic, idempotent Parquet writes into the lake's zones, with batch manifests.

A batch id is derived from the batch's content (schema + rows), so writing the same rows
again overwrites the same object instead of adding a duplicate. The manifest is written
last: a batch without manifest is an interrupted write, and the next retry replaces it.

A batch whose object no longer matches its manifest (checksum, readable Parquet) is
corrupt: :meth:`Lake.check_batches` names it, :meth:`Lake.isolate` moves it out of its zone
to ``_meta/corrupt/<key>`` (kept for investigation) and drops its manifest, so readers of
the dataset work again and re-ingesting the source file writes the batch afresh, once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.errors import LakehouseError, ObjectNotFound
from lakehouse.storage import Storage

BATCH_ID_COLUMN = "_batch_id"
INGESTED_AT_COLUMN = "_ingested_at"
SOURCE_COLUMN = "_source"
ERROR_COLUMN = "_error"
RAW_PARTITION_COLUMN = "ingest_date"  # Hive partition of the raw zone, a column to its readers


class Zone(str, Enum):
    RAW = "raw"
    QUARANTINE = "quarantine"
    CURATED = "curated"
    MASKED = "masked"  # serving copies of every mart, personal data masked (governance.serving)
    PUBLIC = "public"  # serving copies of the PUBLIC marts only (governance.serving)
    OPENDATA = "opendata"
    META = "_meta"


@dataclass(frozen=True)
class BatchManifest:
    batch_id: str
    zone: str
    source: str
    dataset: str
    key: str
    rows: int
    bytes: int
    checksum: str  # sha256 of the Parquet object
    schema: list[dict]
    origin: str  # where the rows came from (file, topic, job)
    ingest_date: str
    written_at: str

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1).encode()


class _HashSink:
    """A write-only file object feeding a hash: lets pyarrow's IPC writer stream into sha256."""

    closed = False

    def __init__(self):
        self.hash = hashlib.sha256()

    def write(self, data) -> int:
        self.hash.update(data)
        return len(data)

    def flush(self):
        pass

    def close(self):
        self.closed = True


def content_id(table: pa.Table) -> str:
    """Stable id of a table's content: sha256 of its Arrow IPC stream, 24 hex chars."""
    sink = _HashSink()
    with pa.ipc.new_stream(pa.PythonFile(sink, mode="w"), table.schema) as writer:
        writer.write_table(table)
    return sink.hash.hexdigest()[:24]


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _constant(value: str, n: int) -> pa.DictionaryArray:
    """A string repeated ``n`` times, dictionary-encoded: one value stored, not ``n`` copies."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([value], pa.string()))


def raw_schema(schema: pa.Schema) -> pa.Schema:
    """A batch's schema in the raw zone: its own columns, then those :meth:`Lake.write_batch` adds."""
    added = [
        pa.field(BATCH_ID_COLUMN, pa.string()),
        pa.field(INGESTED_AT_COLUMN, pa.timestamp("us", tz="UTC")),
        pa.field(SOURCE_COLUMN, pa.string()),
    ]
    return pa.schema([*schema, *added])


def schema_as_list(schema: pa.Schema) -> list[dict]:
    return [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]


class Lake:
    """Zone-aware writer and reader on top of a :class:`Storage`."""

    def __init__(self, storage: Storage):
        self.storage = storage

    # -- keys -----------------------------------------------------------------------------
    @staticmethod
    def dataset_prefix(zone: Zone | str, source: str, dataset: str) -> str:
        return f"{Zone(zone).value}/{source}/{dataset}/"

    @staticmethod
    def manifest_key(zone: Zone | str, source: str, dataset: str, batch_id: str) -> str:
        return f"{Zone.META.value}/manifests/{Zone(zone).value}/{source}/{dataset}/{batch_id}.json"

    @staticmethod
    def curated_key(model: str) -> str:
        """Key of a dbt model's Parquet file in the curated zone (the layout dbt writes)."""
        return f"{Zone.CURATED.value}/{model}/data.parquet"

    @staticmethod
    def masked_key(model: str) -> str:
        """Key of a mart's masked serving copy (written by governance, read by the masked catalog)."""
        return f"{Zone.MASKED.value}/{model}/data.parquet"

    @staticmethod
    def public_key(model: str) -> str:
        """Key of a PUBLIC mart's serving copy (written by governance, read by the public catalog)."""
        return f"{Zone.PUBLIC.value}/{model}/data.parquet"

    def dataset_glob(self, zone: Zone | str, source: str, dataset: str) -> str:
        """Glob of every Parquet file of a dataset, for DuckDB's ``read_parquet``."""
        return self.storage.uri(self.dataset_prefix(zone, source, dataset) + "**/*.parquet")

    # -- writes ---------------------------------------------------------------------------
    def write_batch(
        self,
        zone: Zone | str,
        source: str,
        dataset: str,
        table: pa.Table,
        *,
        origin: str,
        batch_id: str | None = None,
        ingest_date: date | None = None,
        compression: str = "zstd",
        encryption=None,
    ) -> BatchManifest:
        """Write one batch of rows to ``<zone>/<source>/<dataset>/ingest_date=…/<batch_id>.parquet``.

        ``_batch_id``, ``_ingested_at`` and ``_source`` columns are added. A batch already
        written (same content, hence same id) is rewritten in place, in its original
        partition, so a retry — even on another day — never duplicates rows.
        ``encryption`` (optional, provided by the caller: the lake knows no key) has a
        ``properties(schema)`` method returning pyarrow ``FileEncryptionProperties`` or None.
        """
        zone = Zone(zone)
        for part, value in (("source", source), ("dataset", dataset)):
            if not value or "/" in value or value.startswith("."):
                raise LakehouseError(f"nom de {part} invalide « {value} »")
        batch_id = batch_id or content_id(table)
        now = datetime.now(UTC)
        previous = self.read_manifest(zone, source, dataset, batch_id)
        day = previous.ingest_date if previous else (ingest_date or now.date()).isoformat()
        key = f"{self.dataset_prefix(zone, source, dataset)}{RAW_PARTITION_COLUMN}={day}/{batch_id}.parquet"

        n = table.num_rows
        table = (
            table.append_column(BATCH_ID_COLUMN, _constant(batch_id, n))
            .append_column(INGESTED_AT_COLUMN, pa.repeat(pa.scalar(now, pa.timestamp("us", tz="UTC")), n))
            .append_column(SOURCE_COLUMN, _constant(origin, n))
        )
        properties = encryption.properties(table.schema) if encryption is not None else None
        with self.storage.staged_file(key, suffix=".parquet") as tmp:
            pq.write_table(table, tmp, compression=compression, encryption_properties=properties)
            size = tmp.stat().st_size
            checksum = _file_sha256(tmp)

        manifest = BatchManifest(
            batch_id=batch_id,
            zone=zone.value,
            source=source,
            dataset=dataset,
            key=key,
            rows=n,
            bytes=size,
            checksum=checksum,
            schema=schema_as_list(table.schema),
            origin=origin,
            ingest_date=day,
            written_at=now.isoformat(),
        )
        self.storage.write_bytes(self.manifest_key(zone, source, dataset, batch_id), manifest.to_json())
        return manifest

    def write_table(self, key: str, table: pa.Table, compression: str = "zstd") -> int:
        """Atomically write a Parquet object at an explicit key (curated, opendata, _meta)."""
        with self.storage.staged_file(key, suffix=".parquet") as tmp:
            pq.write_table(table, tmp, compression=compression)
            return tmp.stat().st_size

    def write_json(self, key: str, payload) -> None:
        self.storage.write_bytes(key, json.dumps(payload, ensure_ascii=False, indent=1, default=str).encode())

    def read_json(self, key: str):
        return json.loads(self.storage.read_bytes(key))

    # -- reads ----------------------------------------------------------------------------
    def read_manifest(self, zone: Zone | str, source: str, dataset: str, batch_id: str) -> BatchManifest | None:
        try:
            return BatchManifest(**self.read_json(self.manifest_key(zone, source, dataset, batch_id)))
        except ObjectNotFound:
            return None

    def manifests(self, zone: Zone | str, source: str, dataset: str) -> list[BatchManifest]:
        prefix = self.manifest_key(zone, source, dataset, "x").rsplit("/", 1)[0] + "/"
        return [BatchManifest(**self.read_json(o.key)) for o in self.storage.list(prefix)]

    def read_table(self, key: str) -> pa.Table:
        data = self.storage.read_bytes(key)
        try:
            return pq.read_table(pa.BufferReader(data))
        except (pa.ArrowInvalid, OSError) as exc:
            raise LakehouseError(f"fichier Parquet illisible (corrompu ?) : {self.storage.uri(key)} ({exc})") from None

    # -- integrity ------------------------------------------------------------------------
    def check_batches(self, zone: Zone | str, source: str, dataset: str) -> dict[str, str]:
        """``{key: French reason}`` of the dataset's batches whose object is missing or corrupt."""
        bad = {}
        for m in self.manifests(zone, source, dataset):
            try:
                data = self.storage.read_bytes(m.key)
            except ObjectNotFound:
                bad[m.key] = "objet absent alors que son manifeste existe"
                continue
            if hashlib.sha256(data).hexdigest() != m.checksum:
                bad[m.key] = f"contenu altéré : {len(data)} octets au lieu de {m.bytes}, empreinte SHA-256 différente"
        return bad

    def isolate(self, zone: Zone | str, source: str, dataset: str, key: str, reason: str) -> str:
        """Move a corrupt batch to ``_meta/corrupt/<key>`` with its reason, drop its manifest."""
        batch_id = key.rsplit("/", 1)[1].removesuffix(".parquet")
        target = f"{Zone.META.value}/corrupt/{key}"
        try:
            self.storage.write_bytes(target, self.storage.read_bytes(key))
        except ObjectNotFound:
            pass
        self.write_json(target + ".json", {"key": key, "reason": reason, "isolated_at": datetime.now(UTC).isoformat()})
        self.storage.delete(key)
        self.storage.delete(self.manifest_key(zone, source, dataset, batch_id))
        return target
