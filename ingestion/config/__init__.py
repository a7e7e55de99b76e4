"""Declarative configuration of business files: one YAML file per territory or provider.

Each entry describes one dataset: where its files live (``folder`` name and optional
``files`` glob), its lake name and owner service, and only what automatic detection cannot
guess (column types, renames, units, coordinates, encoding/delimiter/date overrides). See
``montpellier.yaml`` for a commented example.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

CONFIG_DIR = Path(__file__).parent
READ_KEYS = {"encoding", "delimiter", "decimal", "date_format", "crs", "tz", "header_rows", "nulls", "sheet"}
COLUMN_KEYS = {"type", "rename", "unit", "description", "required", "min", "max", "date_format"}
TYPES = {"string", "int64", "float64", "date", "timestamp", "dms"}


class ConfigError(ValueError):
    """A configuration file is wrong; the message names the file and the entry."""


@dataclass(frozen=True)
class FileDataset:
    id: str
    source: str
    name: str
    owner_service: str
    description: str = ""
    folder: str | None = None
    files: str | None = None
    key: tuple[str, ...] = ()
    read: dict = field(default_factory=dict, hash=False)
    columns: dict = field(default_factory=dict, hash=False)
    coordinates: dict = field(default_factory=dict, hash=False)
    row_number: str | None = None

    def matches(self, path: Path) -> bool:
        if self.folder and self.folder not in (p.name for p in path.parents):
            return False
        if self.files and not fnmatch.fnmatch(path.name, self.files):
            return False
        return bool(self.folder or self.files)


def _entry(origin: str, key: str, raw: dict) -> FileDataset:
    where = f"{origin} › {key}"
    for required in ("source", "name", "owner_service"):
        if not raw.get(required):
            raise ConfigError(f"{where} : « {required} » est obligatoire")
    unknown_read = set(raw.get("read") or {}) - READ_KEYS
    if unknown_read:
        raise ConfigError(
            f"{where} : option de lecture inconnue {sorted(unknown_read)} (possibles : {sorted(READ_KEYS)})"
        )
    for col, spec in (raw.get("columns") or {}).items():
        bad = set(spec or {}) - COLUMN_KEYS
        if bad:
            raise ConfigError(f"{where} › {col} : clé inconnue {sorted(bad)} (possibles : {sorted(COLUMN_KEYS)})")
        if spec and spec.get("type") and spec["type"] not in TYPES:
            raise ConfigError(f"{where} › {col} : type « {spec['type']} » inconnu (possibles : {sorted(TYPES)})")
    return FileDataset(
        id=key,
        source=raw["source"],
        name=raw["name"],
        owner_service=raw["owner_service"],
        description=raw.get("description", ""),
        folder=raw.get("folder"),
        files=raw.get("files"),
        key=tuple(raw.get("key") or ()),
        read=dict(raw.get("read") or {}),
        columns={k: dict(v or {}) for k, v in (raw.get("columns") or {}).items()},
        coordinates=dict(raw.get("coordinates") or {}),
        row_number=raw.get("row_number"),
    )


@lru_cache(maxsize=4)
def load(config_dir: Path = CONFIG_DIR) -> tuple[FileDataset, ...]:
    """Every dataset declared in ``config_dir/*.yaml``, in file then declaration order."""
    out = []
    for path in sorted(config_dir.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text("utf-8")) or {}
        for key, raw in (doc.get("datasets") or {}).items():
            out.append(_entry(path.name, key, raw or {}))
    return tuple(out)


def find(path: Path, config_dir: Path = CONFIG_DIR) -> FileDataset | None:
    for entry in load(config_dir):
        if entry.matches(path):
            return entry
    return None
