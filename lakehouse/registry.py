"""The dataset registry: every dataset the platform knows, stored in the lake.

One JSON document per dataset under ``_meta/registry/<zone>/<name>.json`` so writers of
different datasets never contend. Classification fields (``level``, ``tags``) are owned by
governance: re-registering a dataset from ingestion or dbt keeps what governance set.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime

import pyarrow as pa

from lakehouse.errors import LakehouseError, ObjectNotFound
from lakehouse.lake import Zone, schema_as_list
from lakehouse.storage import Storage

LEVELS = ("PUBLIC", "INTERNE", "CONFIDENTIEL", "DIFFUSION_RESTREINTE")
GOVERNED_FIELDS = ("level", "tags", "column_tags")


@dataclass
class DatasetEntry:
    name: str  # unique, e.g. "iot.air_quality" (raw) or "mart_air_quality_daily" (curated)
    zone: str
    path: str  # key prefix in the lake
    owner_service: str  # e.g. "environnement", "eau", "voirie"
    description: str = ""
    schema: list[dict] = field(default_factory=list)
    level: str | None = None  # filled by governance
    tags: list[str] = field(default_factory=list)
    column_tags: dict[str, list[str]] = field(default_factory=dict)
    encrypted_columns: list[str] = field(default_factory=list)  # encrypted at rest (lakehouse.encryption)
    # How the source file was read: encoding, separator, header line, metadata block, column
    # types and French formats (ingestion.formats.schema.TableSchema.to_dict), detected or given.
    source_format: dict = field(default_factory=dict)
    updated_at: str = ""

    def __post_init__(self):
        Zone(self.zone)
        if self.level is not None and self.level not in LEVELS:
            raise LakehouseError(f"niveau inconnu « {self.level} » pour {self.name} (attendu : {', '.join(LEVELS)})")

    @classmethod
    def from_dict(cls, data: dict) -> DatasetEntry:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class DatasetRegistry:
    PREFIX = f"{Zone.META.value}/registry/"

    def __init__(self, storage: Storage):
        self.storage = storage

    def _key(self, zone: str, name: str) -> str:
        return f"{self.PREFIX}{Zone(zone).value}/{name}.json"

    def register(self, entry: DatasetEntry, schema: pa.Schema | None = None) -> DatasetEntry:
        """Create or update an entry; governance-owned fields (and a schema not given) are kept."""
        if schema is not None:
            entry.schema = schema_as_list(schema)
        existing = self.find(entry.name, entry.zone)
        if existing:
            for name in GOVERNED_FIELDS + ("schema", "source_format"):
                if getattr(entry, name) in (None, [], {}):
                    setattr(entry, name, getattr(existing, name))
        return self._save(entry)

    def _save(self, entry: DatasetEntry) -> DatasetEntry:
        entry.updated_at = datetime.now(UTC).isoformat()
        payload = json.dumps(asdict(entry), ensure_ascii=False, indent=1).encode()
        self.storage.write_bytes(self._key(entry.zone, entry.name), payload)
        return entry

    def find(self, name: str, zone: str | None = None) -> DatasetEntry | None:
        zones = [zone] if zone else [z.value for z in Zone]
        for z in zones:
            try:
                return DatasetEntry.from_dict(json.loads(self.storage.read_bytes(self._key(z, name))))
            except ObjectNotFound:
                continue
        return None

    def get(self, name: str, zone: str | None = None) -> DatasetEntry:
        entry = self.find(name, zone)
        if entry is None:
            raise LakehouseError(f"jeu de données inconnu du registre : {name}")
        return entry

    def list(self, zone: str | None = None) -> list[DatasetEntry]:
        prefix = self.PREFIX + (f"{Zone(zone).value}/" if zone else "")
        return [
            DatasetEntry.from_dict(json.loads(self.storage.read_bytes(o.key)))
            for o in self.storage.list(prefix)
            if o.key.endswith(".json")
        ]

    def record_source_format(self, name: str, zone: str, source_format: dict) -> DatasetEntry:
        """Record how the file behind ``name`` was read (its detected or user-given schema)."""
        entry = self.get(name, zone)
        entry.source_format = dict(source_format)
        return self._save(entry)

    def set_classification(self, name: str, zone: str, level: str, tags=None, column_tags=None) -> DatasetEntry:
        entry = self.get(name, zone)
        entry.level = level
        entry.tags = list(tags or entry.tags)
        entry.column_tags = dict(column_tags or entry.column_tags)
        entry.__post_init__()
        return self._save(entry)
