"""One object bundling settings, storage, lake and registry, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from lakehouse import duck
from lakehouse.lake import Lake
from lakehouse.registry import DatasetRegistry
from lakehouse.settings import Settings
from lakehouse.storage import Storage, get_storage


@dataclass
class Lakehouse:
    settings: Settings

    @classmethod
    def from_env(cls, env=None) -> Lakehouse:
        return cls(Settings.from_env(env))

    @cached_property
    def storage(self) -> Storage:
        return get_storage(self.settings)

    @cached_property
    def lake(self) -> Lake:
        return Lake(self.storage)

    @cached_property
    def registry(self) -> DatasetRegistry:
        return DatasetRegistry(self.storage)

    def duckdb(self, database=":memory:", **kwargs):
        return duck.connect(self.settings, database, **kwargs)
