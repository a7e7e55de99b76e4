"""The starter chart of an agent's accepted upload (a dataset named by ``access.yaml``'s ``uploads``).

A daily line of the file's measures when it has a date column and numbers, else a table of its
first columns: something that renders at once for the agent, to copy and rework in Superset.
It is written in the same form as the charts of ``dashboards.yaml`` (``bundle.chart_params``).
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import yaml

from superset.catalog import Mart

SLUG = "depots"  # namespace of the starter charts' UUIDs (bundle.object_uuid)
NUMERIC = ("BIGINT", "INTEGER", "DOUBLE", "FLOAT", "DECIMAL", "HUGEINT", "SMALLINT")
# numbers that are not measures: coordinates (the readers add ``lat``/``lon``) and codes
NOT_MEASURES = ("lat", "lon", "latitude", "longitude")
CODE_PREFIXES = ("id", "identifiant", "code", "numero", "num_")
MEASURES = 2  # measures drawn on the starter line
TABLE_COLUMNS = 8
TABLE_ROWS = 100


def upload_pattern(access: Path) -> str:
    """The uploads' dataset names, whatever the service (``stg_depots__*__*``)."""
    return yaml.safe_load(access.read_text(encoding="utf-8"))["uploads"].format(service="*")


def is_upload(mart: Mart, pattern: str) -> bool:
    """Whether ``mart`` is an accepted upload (``pattern``: :func:`upload_pattern`)."""
    return fnmatch.fnmatchcase(mart.name, pattern)


def chart_name(dataset: str) -> str:
    return f"Aperçu du dépôt {dataset.rsplit('__', 1)[-1]}"


def starter_chart(mart: Mart) -> dict:
    """The chart spec (``dashboards.yaml`` form) of an upload's starter chart."""
    when = next((c for c in mart.columns if c.is_dttm), None)
    numbers = [c.name for c in mart.columns if c.type.upper().startswith(NUMERIC) and _measure(c.name)][:MEASURES]
    base = {"name": chart_name(mart.name), "dataset": mart.name, "description": mart.description or None}
    if when and numbers:
        metrics = [{"label": n, "sql": f'SUM("{n}")'} for n in numbers]
        grain = "P1D" if when.type.upper() == "DATE" else "PT1H"  # readings by the hour show their day
        # a file deposited once: its dates may lie anywhere, the chart shows them all
        return {**base, "kind": "line", "x": when.name, "grain": grain, "metrics": metrics, "whole_history": True}
    columns = [c.name for c in mart.columns][:TABLE_COLUMNS]
    return {**base, "kind": "table", "columns": columns, "limit": TABLE_ROWS}


def _measure(column: str) -> bool:
    return column not in NOT_MEASURES and not column.startswith(CODE_PREFIXES)
