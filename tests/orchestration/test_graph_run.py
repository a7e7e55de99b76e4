"""The whole Dagster graph on the demo territory: marts built, a corrupted raw batch is stopped
by a blocking check (marts left untouched), and the failed run resumes without redoing work."""

from __future__ import annotations

import hashlib
import os

import pyarrow as pa
import pytest
from dagster import DagsterInstance

from lakehouse.platform import Lakehouse
from orchestration.cli.run import run_demo_graph
from quality import results
from quality.suites import MARTS, RAW_DATASETS

DEMO = {"days": 14, "scale": 0.25, "seed": 42}
WATER_CHECK = "raw/iot/water_flow:controles_bloquants"


def _digests(lh: Lakehouse) -> dict[str, tuple[str, float]]:
    out = {}
    for name in MARTS:
        path = lh.settings.lake_dir / "curated" / name / "data.parquet"
        out[name] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime)
    return out


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    data = tmp_path_factory.mktemp("graph") / "data"
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("HYPERVISEUR_") and not key.startswith("HYPERVISEUR_TEST_"):
                mp.delenv(key)
        # the default data folder (./data), relative to where the command runs, as with `make run`:
        # dbt, started in its project folder, must resolve it the same way
        mp.chdir(data.parent)
        lh = Lakehouse.from_env()
        (data.parent / "dagster").mkdir()
        instance = DagsterInstance.local_temp(str(data.parent / "dagster"))
        first = run_demo_graph(lh, instance=instance, **DEMO)
        before = _digests(lh)

        bad = pa.table(
            {
                "meter_id": ["WM01A", "WM99Z"],
                "sector_id": ["SEC01", "SEC01"],
                "observed_at": pa.array([1773100800000000, 1773101700000000], pa.timestamp("us", tz="UTC")),
                "flow_m3h": [-12.5, 4.0],
                "source_tz": ["Europe/Paris"] * 2,
            }
        )
        manifest = lh.lake.write_batch("raw", "iot", "water_flow", bad, origin="lot corrompu")
        corrupted = run_demo_graph(lh, instance=instance, resume=False, **DEMO)
        after_corruption = _digests(lh)
        water_quality = results.latest(lh, "iot.water_flow")

        lh.storage.delete(manifest.key)
        lh.storage.delete(lh.lake.manifest_key("raw", "iot", "water_flow", manifest.batch_id))
        resumed = run_demo_graph(lh, instance=instance, resume=True, **DEMO)
        yield {
            "lh": lh,
            "first": first,
            "corrupted": corrupted,
            "resumed": resumed,
            "before": before,
            "after_corruption": after_corruption,
            "water_quality": water_quality,
            "after": _digests(lh),
        }


def test_full_graph_builds_every_mart_and_runs_every_check(scenario):
    first, lh = scenario["first"], scenario["lh"]
    assert first.success, first.step_failures
    assert set(MARTS) <= set(first.materialized)
    assert all(first.mart_rows[m] > 0 for m in MARTS)
    assert not first.checks_failed
    for dataset in [*RAW_DATASETS, *MARTS]:
        result = results.latest(lh, dataset)
        assert result is not None and result.blocking_passed, dataset
    assert lh.storage.exists("_meta/quality/index.html")
    assert "mart_water_leak_candidates" in lh.storage.read_bytes("_meta/docs/dbt/index.html").decode()


def test_corrupted_raw_batch_is_blocked_and_marts_are_not_rebuilt(scenario):
    corrupted = scenario["corrupted"]
    assert not corrupted.success
    assert WATER_CHECK in corrupted.checks_failed
    assert not set(MARTS) & set(corrupted.materialized)
    assert scenario["after_corruption"] == scenario["before"]  # same bytes, same mtime: untouched
    failures = {f["check"] for f in scenario["water_quality"].failures}
    assert {"expect_column_values_to_be_between:flow_m3h", "expect_column_values_to_be_in_set:meter_id"} <= failures


def test_failed_run_resumes_without_redoing_finished_work(scenario):
    resumed = scenario["resumed"]
    assert resumed.resumed_from == scenario["corrupted"].run_id
    assert resumed.success, resumed.step_failures
    assert "raw/iot/water_flow" not in resumed.materialized  # ingestion finished in the failed run
    assert set(MARTS) <= set(resumed.materialized)
    assert WATER_CHECK in resumed.checks_passed
    assert all(scenario["after"][m][1] > scenario["before"][m][1] for m in MARTS)
