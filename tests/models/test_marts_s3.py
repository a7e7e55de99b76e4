"""The same dbt models build the marts on the S3 backend (real SeaweedFS server)."""

from __future__ import annotations

import pytest

from ingestion.demo.simulator import simulate
from lakehouse.encryption import ensure_key_file
from lakehouse.lake import Lake
from lakehouse.platform import Lakehouse
from quality.runner import run_suite
from quality.suites import MARTS
from tests.conftest import s3_env
from tests.models.demo_build import dbt_build


@pytest.mark.s3
def test_dbt_builds_every_mart_on_s3(s3_server, fresh_bucket, tmp_path):
    lh = Lakehouse.from_env(s3_env(s3_server, tmp_path / "data", fresh_bucket))
    lh.storage.check()
    ensure_key_file(lh.settings)  # as `hyperviseur run` does: citizen reports are written encrypted
    result = simulate(lh, days=4, scale=0.2, seed=7, files=False)
    proc = dbt_build(lh, tmp_path, "--exclude", "resource_type:test")
    assert proc.returncode == 0, proc.stdout[-4000:]

    assert not (tmp_path / "data" / "lake").exists()  # nothing written to a local lake
    con = lh.duckdb()
    try:
        for name in MARTS:
            assert lh.storage.exists(Lake.curated_key(name)), name
        hourly = con.execute(
            f"SELECT count(*) FROM read_parquet('s3://{fresh_bucket}/{Lake.curated_key('mart_air_quality_hourly')}')"
        ).fetchone()[0]
        raw = con.execute(
            "SELECT count(DISTINCT (station_id, date_trunc('hour', observed_at), pollutant)) "
            f"FROM read_parquet('{lh.lake.dataset_glob('raw', 'iot', 'air_quality')}')"
        ).fetchone()[0]
    finally:
        con.close()
    assert hourly == raw > 0
    assert result.report.datasets["iot.air_quality"].rows_raw > 0
    checked = run_suite(lh, "mart_traffic_hourly")
    assert checked.blocking_passed and checked.rows > 0
    assert lh.storage.exists("_meta/quality/index.html")
