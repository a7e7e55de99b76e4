"""A mart without rows (a day without a leak or a lamp fault) is a lake file with its columns and no
row, and passes its checks: dbt-duckdb's external materialization would write one row of NULLs
in its place (``dbt_project/macros/empty_marts.sql``), counted by every reader of the lake and
failing the marts' blocking « not null » checks."""

from __future__ import annotations

import pytest

from ingestion.demo.simulator import simulate
from lakehouse.encryption import ensure_key_file
from lakehouse.lake import Lake
from lakehouse.platform import Lakehouse
from quality.runner import run_suite
from tests.models.demo_build import dbt_build

# empty on the first day of a small territory: no night of history to compare with, few lamps
EMPTY = {"mart_water_leak_candidates": "sector_id", "mart_lighting_faults": "lamp_id"}


@pytest.fixture(scope="module")
def first_day(tmp_path_factory) -> Lakehouse:
    work = tmp_path_factory.mktemp("premier-jour")
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(work / "data")})
    ensure_key_file(lh.settings)
    simulate(lh, files=False, days=1, scale=0.05, seed=42)
    proc = dbt_build(lh, work)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return lh


def _read(lh: Lakehouse, sql: str) -> list[tuple]:
    con = lh.duckdb()
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("mart", sorted(EMPTY))
def test_an_empty_mart_is_a_file_with_its_columns_and_no_row(first_day, mart):
    source = f"read_parquet('{first_day.storage.uri(Lake.curated_key(mart))}')"
    assert _read(first_day, f"SELECT count(*) FROM {source}") == [(0,)]
    columns = [row[0] for row in _read(first_day, f"DESCRIBE SELECT * FROM {source}")]
    assert EMPTY[mart] in columns and len(columns) > 5


@pytest.mark.parametrize("mart", sorted(EMPTY))
def test_an_empty_mart_passes_its_blocking_checks(first_day, mart):
    result = run_suite(first_day, mart, render=False)
    assert result.rows == 0 and result.blocking_passed, result.failures


def test_a_mart_with_rows_keeps_them_all(first_day):
    source = f"read_parquet('{first_day.storage.uri(Lake.curated_key('mart_lighting_circuits_daily'))}')"
    assert _read(first_day, f"SELECT count(*), count(circuit_id) FROM {source}") == [(12, 12)]
