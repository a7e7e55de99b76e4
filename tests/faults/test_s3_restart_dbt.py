"""The S3 server is killed and restarted while dbt builds the hourly air-quality mart.

The disturbed ``dbt build`` either rides over the outage or fails with an error naming the
model and the S3 endpoint; a rerun succeeds and the mart has exactly the rows an undisturbed build gives (one
per station, hour and pollutant of raw, as in ``tests/models``). The lake's data and audit
chain survive the kill.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from ingestion.demo.simulator import simulate
from lakehouse.audit import AuditLog
from lakehouse.encryption import ensure_key_file
from lakehouse.lake import Lake
from lakehouse.platform import Lakehouse
from orchestration.resources import DBT_PROJECT_DIR, dbt_env, dbt_executable, prepare_curated_dirs

pytestmark = pytest.mark.s3

SELECT = ("--select", "+mart_air_quality_hourly", "--exclude", "resource_type:test")
OUTAGE_S = 3.0


def _dbt(lh: Lakehouse, work: Path) -> subprocess.Popen:
    prepare_curated_dirs(lh)
    argv = [dbt_executable(), "build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    argv += ["--target-path", str(work / "target"), *SELECT]
    env = {**os.environ, **dbt_env(lh.settings)}
    return subprocess.Popen(argv, env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _hourly(lh: Lakehouse) -> tuple[int, int]:
    """(rows of the hourly mart, distinct station × hour × pollutant in raw)."""
    con = lh.duckdb()
    try:
        mart = con.execute(
            f"SELECT count(*) FROM read_parquet('{lh.storage.uri(Lake.curated_key('mart_air_quality_hourly'))}')"
        ).fetchone()[0]
        raw = con.execute(
            "SELECT count(DISTINCT (station_id, date_trunc('hour', observed_at), pollutant)) "
            f"FROM read_parquet('{lh.lake.dataset_glob('raw', 'iot', 'air_quality')}')"
        ).fetchone()[0]
        return mart, raw
    finally:
        con.close()


def test_dbt_under_s3_restart_then_rerun_matches(private_s3, tmp_path):
    lh = Lakehouse.from_env(private_s3.env(tmp_path / "data"))
    lh.storage.check()
    ensure_key_file(lh.settings)
    t = [time.monotonic()]
    simulate(lh, days=1, scale=0.2, seed=7, files=False)
    t.append(time.monotonic())
    audit = AuditLog(lh)
    audit.append("ingestion", "test", {"step": "demo simulated"})
    (tmp_path / "fault").mkdir()
    proc = _dbt(lh, tmp_path / "fault")
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if " START sql " in line:  # first model under way: the lake is being read
            break
    assert proc.poll() is None, "dbt finished before the fault"
    private_s3.kill()
    time.sleep(OUTAGE_S)
    private_s3.start()
    out = "".join(lines) + proc.communicate(timeout=300)[0]
    t.append(time.monotonic())
    if proc.returncode != 0:
        assert f"127.0.0.1:{private_s3.port}" in out, out[-4000:]  # the error names the endpoint
    (tmp_path / "rerun").mkdir()
    rerun = _dbt(lh, tmp_path / "rerun")
    rerun_out = rerun.communicate(timeout=300)[0]
    assert rerun.returncode == 0, rerun_out[-4000:]
    t.append(time.monotonic())
    mart, expected = _hourly(lh)
    assert mart == expected > 0
    result = audit.verify()
    assert result.ok and result.records == 1, result.reason
    error = next((line.strip() for line in out.splitlines() if "Error" in line), "aucune erreur")
    steps = ", ".join(f"{b - a:.0f} s" for a, b in zip(t, t[1:]))
    print(f"\ndbt sous coupure S3 : code {proc.returncode} ({error}) ; relance : {mart} lignes = {expected} attendues")
    print(f"durées (simulation, dbt perturbé, relance) : {steps}")
