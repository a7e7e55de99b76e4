"""The shared core of the platform: settings, storage, atomic Parquet writes, DuckDB, registry."""

from lakehouse.errors import LakehouseError, ObjectNotFound, SettingsError, StorageError
from lakehouse.settings import Settings

__all__ = ["LakehouseError", "ObjectNotFound", "Settings", "SettingsError", "StorageError"]
