"""A territory that has delivered a single dataset runs the production jobs end to end.

One FIWARE ``AirQualityObserved`` entity (the smart data model's own example, placed at a
station of the territory's referential) is dropped in the inbox and ingested by the inbox
job; the daily job then builds every mart (those of the datasets not delivered yet without a
row), checks them, classifies, serves and publishes, with no failed step and no failed check.
Before, DuckDB's « No files found » on the first undelivered dataset stopped the dbt step.
"""

from __future__ import annotations

import json
import os

import dagster as dg
import pytest

from lakehouse.audit import ensure_audit_key
from lakehouse.lake import Lake
from lakehouse.platform import Lakehouse
from orchestration.definitions import defs

EXAMPLE = "standards/fiware_smart_data_models/dataModel.Environment/AirQualityObserved/examples/example.json"


def _events(result, kind: str) -> list:
    return [e for e in result.all_events if e.event_type_value == kind]


@pytest.fixture(scope="module")
def territory(tmp_path_factory, fixtures_dir):
    work = tmp_path_factory.mktemp("territoire-partiel")
    entity = json.loads((fixtures_dir / EXAMPLE).read_text(encoding="utf-8"))
    entity.update(
        refPointOfInterest="AQ01",  # a station of the referential (dbt_project/seeds/air_stations.csv)
        location={"type": "Point", "coordinates": [2.880055, 50.662607]},
        dateObserved="2026-11-30T11:00:00Z",
    )
    entity.pop("co")  # 500 mg/m³ in the example: quarantined, beside the point here
    dropped = work / "inbox" / "qualite_air.json"
    dropped.parent.mkdir()
    dropped.write_text(json.dumps(entity), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("HYPERVISEUR_") and not key.startswith("HYPERVISEUR_TEST_"):
                mp.delenv(key)
        mp.setenv("HYPERVISEUR_DATA_DIR", str(work / "data"))
        lh = Lakehouse.from_env()
        ensure_audit_key(lh.settings)  # production creates its key explicitly; the chain refuses to run without
        with dg.instance_for_test() as instance:
            files = {"files": [f"fiware|{dropped}"]}
            ingestion = defs.resolve_job_def("ingestion_boite_de_reception").execute_in_process(
                run_config={"ops": {"ingestion_brute": {"config": files}}}, instance=instance
            )
            daily = defs.resolve_job_def("marts_quotidiens").execute_in_process(instance=instance, raise_on_error=False)
        yield {"lh": lh, "ingestion": ingestion, "daily": daily}


def _rows(lh: Lakehouse, mart: str, where: str = "true") -> int:
    con = lh.duckdb()
    try:
        source = lh.storage.uri(Lake.curated_key(mart))
        return con.execute(f"select count(*) from read_parquet('{source}') where {where}").fetchone()[0]
    finally:
        con.close()


def test_only_the_delivered_dataset_is_ingested(territory):
    materialized = [e.asset_key.to_user_string() for e in _events(territory["ingestion"], "ASSET_MATERIALIZATION")]
    assert territory["ingestion"].success and materialized == ["raw/iot/air_quality"]


def test_the_daily_job_runs_every_step_without_a_failed_check(territory):
    daily = territory["daily"]
    failures = [e.step_key for e in _events(daily, "STEP_FAILURE")]
    skipped = [e.step_key for e in _events(daily, "STEP_SKIPPED")]
    failed_checks = [
        f"{e.event_specific_data.asset_key.to_user_string()}:{e.event_specific_data.check_name}"
        for e in _events(daily, "ASSET_CHECK_EVALUATION")
        if not e.event_specific_data.passed
    ]
    assert daily.success and not failures and not skipped and not failed_checks, (failures, skipped, failed_checks)


def test_the_delivered_readings_reach_their_mart(territory):
    assert _rows(territory["lh"], "mart_air_quality_hourly", "station_id = 'AQ01' and pollutant = 'no'") == 1


def test_the_marts_of_undelivered_datasets_are_built_without_rows(territory):
    for mart in ("mart_citizen_reports", "mart_traffic_hourly", "mart_water_night_flow"):
        assert _rows(territory["lh"], mart) == 0
