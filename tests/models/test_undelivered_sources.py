"""A territory that has not delivered every raw dataset yet builds its marts from those it has.

DuckDB refuses a glob matching no file, so a single dataset never delivered (no citizen report
yet, no video protection at all) stopped the whole dbt build. On a real local lake, dbt started
through the platform's launcher as Dagster does: the missing datasets are named and read as
empty, their marts are files with columns and no row that pass their checks, and the first run
after the delivery reads the delivered files."""

from __future__ import annotations

import shutil

import pytest

from ingestion.demo.simulator import simulate
from lakehouse.encryption import ensure_key_file
from lakehouse.lake import Lake
from lakehouse.platform import Lakehouse
from orchestration.assets.checks import checked
from tests.models.demo_build import dbt_build_partitions

DEMO = {"days": 2, "scale": 0.05, "seed": 11}
UNDELIVERED = ("cctv", "citizen", "social")  # raw/<source>/ folders held back
NOTICE = "pas encore livrés, lus comme vides : cctv.events, citizen.reports, social.posts"
EMPTY_MARTS = ("mart_citizen_reports", "mart_citizen_reports_daily")


def _count(lh: Lakehouse, mart: str) -> int:
    source = lh.storage.uri(Lake.curated_key(mart))
    con = lh.duckdb()
    try:
        return con.execute(f"select count(*) from read_parquet('{source}')").fetchone()[0]
    finally:
        con.close()


def _build(lake: dict):
    proc = dbt_build_partitions(lake["env"], lake["work"])
    assert proc.returncode == 0, (proc.stderr[-2000:], proc.stdout[-4000:])
    return proc


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> dict:
    """A territory whose citizen reports, social posts and video protection events are not
    delivered yet: they are simulated, then moved out of the lake (files and manifests)."""
    work = tmp_path_factory.mktemp("livraison-partielle")
    env = {"HYPERVISEUR_DATA_DIR": str(work / "data")}
    lh = Lakehouse.from_env(env)
    ensure_key_file(lh.settings)
    simulate(lh, files=False, **DEMO)
    held = work / "pas-encore-livre"
    for source in UNDELIVERED:
        for zone in ("raw", "_meta/manifests/raw"):
            shutil.move(lh.settings.lake_dir / zone / source, held / zone / source)
    lake = {"lh": lh, "env": env, "work": work, "held": held}
    lake["first"] = _build(lake)
    return lake


@pytest.fixture(scope="module")
def delivered(lake) -> dict:
    """The same lake once the held datasets are delivered, built again."""
    lake_dir = lake["lh"].settings.lake_dir
    for source in UNDELIVERED:
        for zone in ("raw", "_meta/manifests/raw"):
            shutil.move(lake["held"] / zone / source, lake_dir / zone / source)
    return {**lake, "second": _build(lake)}


def test_the_launcher_names_the_datasets_read_as_empty(lake):
    assert NOTICE in lake["first"].stderr


@pytest.mark.parametrize("mart", EMPTY_MARTS)
def test_a_mart_of_an_undelivered_dataset_has_no_row_and_passes_its_checks(lake, mart):
    assert _count(lake["lh"], mart) == 0
    result = checked(lake["lh"], mart)  # as the graph's quality check does
    assert result.blocking_passed, result.failures


def test_the_delivered_datasets_are_built_as_usual(lake):
    assert _count(lake["lh"], "mart_air_quality_hourly") > 0
    assert _count(lake["lh"], "mart_traffic_daily") > 0


def test_the_first_run_after_the_delivery_reads_it(delivered):
    assert "pas encore livrés" not in delivered["second"].stderr
    for mart in EMPTY_MARTS:
        assert _count(delivered["lh"], mart) > 0


def test_an_empty_mart_fails_once_its_datasets_are_delivered(delivered, tmp_path):
    """Emptiness is allowed only while a dataset is missing: a delivered territory whose citizen
    mart came out empty is a broken chain, and its check says so."""
    lh = Lakehouse.from_env({**delivered["env"]})
    key = Lake.curated_key("mart_citizen_reports")
    con = lh.duckdb()
    try:
        source = lh.storage.uri(key)
        con.execute(f"copy (select * from read_parquet('{source}') limit 0) to '{tmp_path / 'vide.parquet'}'")
    finally:
        con.close()
    lh.storage.put_file(key, tmp_path / "vide.parquet")
    result = checked(lh, "mart_citizen_reports")
    assert not result.blocking_passed
    assert "non vide" in " ".join(f["message"] for f in result.failures)
