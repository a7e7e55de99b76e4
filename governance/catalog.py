"""Where the governed datasets are: raw canonical datasets and curated marts in the lake."""

from __future__ import annotations

import hashlib

from lakehouse.errors import LakehouseError
from lakehouse.lake import Lake, Zone

# Masked copies of the former layout (curated/<model>__masked/): never a mart; governance.serving
# deletes them (masked copies now live in their own zone, Lake.masked_key).
DERIVED_SUFFIX = "__masked"


def curated_prefix(model: str) -> str:
    """Folder of a mart in the curated zone (its Parquet file is :meth:`Lake.curated_key`)."""
    return Lake.curated_key(model).rsplit("/", 1)[0] + "/"


def curated_models(lh) -> list[str]:
    """Marts present in the curated zone (``Lake.curated_key(model)``), masked copies excluded."""
    names = set()
    for o in lh.storage.list(f"{Zone.CURATED.value}/"):
        parts = o.key.split("/")
        if len(parts) > 1 and o.key == Lake.curated_key(parts[1]) and DERIVED_SUFFIX not in parts[1]:
            names.add(parts[1])
    return sorted(names)


def raw_datasets(lh) -> list[str]:
    """Raw datasets the registry knows (ingestion registers each one) that hold data."""
    return sorted(e.name for e in lh.registry.list("raw") if lh.storage.list(e.path))


def locate(lh, name: str) -> tuple[str, str, bool]:
    """(prefix in the lake, DuckDB path or glob, hive partitioning) of a dataset name."""
    entry = lh.registry.find(name, "raw")
    if entry is not None:
        return entry.path, lh.storage.uri(entry.path + "**/*.parquet"), True
    if lh.storage.exists(Lake.curated_key(name)):
        return curated_prefix(name), lh.storage.uri(Lake.curated_key(name)), False
    raise LakehouseError(
        f"jeu de données introuvable dans le lac : « {name} » (ni brut canonique, ni {Lake.curated_key(name)})"
    )


def data_fingerprint(lh, prefix: str) -> str:
    """Changes whenever an object of the dataset is added, removed or rewritten."""
    h = hashlib.sha256()
    for o in lh.storage.list(prefix):
        if o.key.endswith(".parquet"):
            h.update(f"{o.key}|{o.size}|{o.last_modified.isoformat()}\n".encode())
    return h.hexdigest()[:16]
