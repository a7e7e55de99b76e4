"""The same dbt models build the marts on the S3 backend (real SeaweedFS server), and a run after
a new day rewrites only the day partitions of its window there too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from governance.catalog import curated_prefix
from ingestion.demo.simulator import build_model, simulate
from lakehouse.encryption import ensure_key_file
from lakehouse.lake import Lake
from lakehouse.platform import Lakehouse
from quality.runner import run_suite
from quality.suites import MARTS
from tests.conftest import s3_env
from tests.models.demo_build import dbt_build_partitions

HOURLY = "int_traffic__segment_hours"


@pytest.mark.s3
def test_dbt_builds_every_mart_on_s3(s3_server, fresh_bucket, tmp_path):
    # one day of lookback: the days before the window keep their partitions
    settings_env = s3_env(s3_server, tmp_path / "data", fresh_bucket) | {"HYPERVISEUR_PARTITION_LOOKBACK_DAYS": "1"}
    lh = Lakehouse.from_env(settings_env)
    lh.storage.check()
    ensure_key_file(lh.settings)  # as `hyperviseur run` does: citizen reports are written encrypted
    demo = {"days": 4, "scale": 0.2, "seed": 7}
    model = build_model(**demo)
    last_day = model.end - 86400
    simulate(lh, files=False, periods=[(model.start, last_day)], **demo)
    proc = dbt_build_partitions(settings_env, tmp_path, "auto", "--exclude", "resource_type:test")
    assert proc.returncode == 0, proc.stdout[-4000:]
    before = {o.key: o.last_modified for o in lh.storage.list(curated_prefix(HOURLY))}

    result = simulate(lh, files=False, periods=[(last_day, model.end)], **demo)
    proc = dbt_build_partitions(settings_env, tmp_path, "auto", "--exclude", "resource_type:test")
    assert proc.returncode == 0, proc.stdout[-4000:]
    start = datetime.fromtimestamp(last_day, UTC).date() - timedelta(days=lh.settings.partition_lookback_days)
    assert f"partitions à partir du {start.isoformat()}" in proc.stderr
    after = {o.key: o.last_modified for o in lh.storage.list(curated_prefix(HOURLY))}
    kept = [k for k in before if k.split("/")[2] < f"local_date={start.isoformat()}"]
    assert kept and all(after[k] == before[k] for k in kept)
    assert len(after) > len(before)  # the new day

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
        reports = con.execute(
            "SELECT filename, count(*) FROM "
            f"read_parquet('{lh.lake.dataset_glob('raw', 'citizen', 'reports')}', filename = true) GROUP BY 1 ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    assert hourly == raw > 0  # every hour of every day, the old partitions and the rewritten ones
    with duckdb.connect(str(lh.settings.warehouse_db), read_only=True) as warehouse:
        decrypted = warehouse.execute(
            "SELECT _raw_file, count(*) FROM staging.stg_citizen__reports_decrypted GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert decrypted == reports and len(reports) == demo["days"]  # incremental by S3 file: each file's rows once
    assert result.report.datasets["iot.air_quality"].rows_raw > 0
    checked = run_suite(lh, "mart_traffic_hourly")
    assert checked.blocking_passed and checked.rows > 0
    assert lh.storage.exists("_meta/quality/index.html")
