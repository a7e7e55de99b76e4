"""Canonical dataset specifications: the contract between sources, the lake and dbt.

A :class:`DatasetSpec` names a raw dataset (``<source>/<dataset>`` in the lake), its owner
service, its typed columns with units and bounds, and the key that identifies a row
(used to deduplicate redeliveries). Connectors produce tables whose columns carry these
names; validation casts and checks them column-wise and quarantines what does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

UTC_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    description: str = ""
    required: bool = False
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None
    encrypted: bool = False  # personal data: encrypted at rest in the raw zone (lakehouse.encryption)

    @property
    def field(self) -> pa.Field:
        meta = {"description": self.description}
        if self.unit:
            meta["unit"] = self.unit
        return pa.field(self.name, self.type, nullable=not self.required, metadata=meta)


@dataclass(frozen=True)
class DatasetSpec:
    source: str  # lake folder under raw/, e.g. "iot", "citizen", "montpellier"
    name: str  # dataset folder, e.g. "air_quality"
    owner_service: str  # French service name: "environnement", "eau", "voirie", …
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # identifies a row; duplicates on it are dropped as redeliveries
    time_column: str | None = None
    extra: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def qualified_name(self) -> str:
        return f"{self.source}.{self.name}"

    @property
    def encrypted_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.encrypted)

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([c.field for c in self.columns], metadata={"dataset": self.qualified_name})

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)
