"""Raw datasets a territory has not delivered yet read as empty, instead of stopping dbt.

A territory connects its sources one at a time: water meters this month, citizen reports
later, perhaps never video protection. dbt reads each raw dataset through a glob of its files,
and DuckDB refuses a glob matching no file, so a single dataset never delivered failed the
whole build with « No files found that match the pattern ». Before dbt, the launcher writes,
for each canonical dataset without a raw file, a Parquet file with its raw schema and no row
(``<data>/dbt/undelivered/``) and hands dbt their paths and the models built from them
(:data:`UNDELIVERED_ENV`); the project's ``source`` macro reads that file in place of the glob. The models downstream are
built without rows, as for a day without data, and the next run after the first delivery
reads the delivered files. Such a mart may be empty: its « not empty » checks (dbt's
``not_empty``, the quality suite's row count) pass while one of its raw datasets is missing.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.datasets import CANONICAL
from ingestion.spec import DatasetSpec
from lakehouse.lake import RAW_PARTITION_COLUMN, Lake, Zone, raw_schema
from lakehouse.platform import Lakehouse

UNDELIVERED_ENV = "HYPERVISEUR_UNDELIVERED_SOURCES"


def delivered(lh: Lakehouse, spec: DatasetSpec) -> bool:
    """Whether the raw zone holds at least one batch file of this dataset."""
    prefix = Lake.dataset_prefix(Zone.RAW, spec.source, spec.name)
    return any(obj.key.endswith(".parquet") for obj in lh.storage.list(prefix))


def empty_raw_table(spec: DatasetSpec) -> pa.Table:
    """The dataset as dbt reads its raw files (Hive partition column included), without a row."""
    schema = raw_schema(spec.schema).append(pa.field(RAW_PARTITION_COLUMN, pa.date32()))
    return schema.empty_table()


def prepare(lh: Lakehouse, folder: Path) -> dict[str, str]:
    """``{"<source>.<dataset>": empty file}`` for each canonical dataset not delivered yet."""
    out = {}
    for name, spec in sorted(CANONICAL.items()):
        if delivered(lh, spec):
            continue
        path = folder / f"{name}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")  # concurrent runs: whole files only
        pq.write_table(empty_raw_table(spec), tmp)
        os.replace(tmp, path)
        out[name] = str(path.resolve())
    return out


@cache
def _parents(manifest: Path) -> tuple[str, dict[str, list[str]]]:
    """The project's name and each node's parents, from dbt's manifest."""
    loaded = json.loads(manifest.read_text())
    return loaded["metadata"]["project_name"], loaded["parent_map"]


def raw_inputs(model: str) -> set[str]:
    """The raw datasets (``<source>.<dataset>``) a dbt model is built from, through every model
    between them (the project's manifest)."""
    from orchestration.resources import dbt_manifest

    project, parents = _parents(dbt_manifest())
    seen, todo = set(), [f"model.{project}.{model}"]
    while todo:
        for parent in parents.get(todo.pop(), []):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return {uid.split(".", 2)[2] for uid in seen if uid.startswith("source.")}


def models_reading(datasets: set[str]) -> list[str]:
    """The project's models built from one of these raw datasets (``<source>.<dataset>``)."""
    from orchestration.resources import dbt_manifest

    project, parents = _parents(dbt_manifest())
    prefix = f"model.{project}."
    return sorted(
        uid.removeprefix(prefix)
        for uid in parents
        if uid.startswith(prefix) and raw_inputs(uid.removeprefix(prefix)) & datasets
    )


def reads_undelivered(lh: Lakehouse, model: str) -> bool:
    """Whether one of the raw datasets the model is built from is not delivered yet."""
    return any(name in CANONICAL and not delivered(lh, CANONICAL[name]) for name in raw_inputs(model))
