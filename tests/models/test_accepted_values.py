"""The values the marts' tests accept are those the raw contract accepts.

YAML reads an unquoted ``no`` (nitric oxide), ``off`` (a lamp switched off), ``on`` or ``yes``
as a boolean: such an item in a dbt ``accepted_values`` list silently became ``False``, so a
valid reading failed the mart's test and stopped the chain."""

from __future__ import annotations

import json

from ingestion.datasets import POLLUTANTS
from orchestration.resources import dbt_manifest


def _accepted_values() -> dict[tuple[str, str], list]:
    nodes = json.loads(dbt_manifest().read_text())["nodes"].values()
    return {
        (node["attached_node"].rsplit(".", 1)[-1], node["column_name"]): node["test_metadata"]["kwargs"]["values"]
        for node in nodes
        if node["resource_type"] == "test" and node.get("test_metadata", {}).get("name") == "accepted_values"
    }


def test_every_accepted_value_is_text():
    tests = _accepted_values()
    assert tests
    for (model, column), values in tests.items():
        if isinstance(values, list):
            assert all(isinstance(v, str) for v in values), (model, column, values)


def test_the_hourly_air_mart_accepts_every_pollutant_of_the_raw_contract():
    assert set(_accepted_values()[("mart_air_quality_hourly", "pollutant")]) == set(POLLUTANTS)
