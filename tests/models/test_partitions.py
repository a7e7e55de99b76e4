"""Day partitions: a run after new data rewrites only the days it touches, late readings within
the lookback land in their day, a full refresh on demand rebuilds everything and gives the
same marts. On a real local lake, dbt started through the platform's launcher as Dagster does."""

from __future__ import annotations

import json
import math
import os
import subprocess
from datetime import date, datetime, timedelta

import pyarrow as pa
import pytest

from governance.catalog import curated_prefix
from ingestion.demo.simulator import simulate
from lakehouse.lake import Lake, Zone
from lakehouse.platform import Lakehouse
from orchestration import partitions
from orchestration.resources import DBT_PROJECT_DIR, dbt_env, dbt_executable
from tests.models.demo_build import dbt_build_partitions, lake_before_its_last_day

DEMO = {"days": 6, "scale": 0.1, "seed": 11}
HOURLY = "int_traffic__segment_hours"
# marts compared between a windowed run and a full refresh (floats summed in another order)
COMPARED = (
    "mart_traffic_hourly",
    "mart_air_quality_atmo_daily",
    "mart_water_night_flow",
    "mart_lighting_faults",
    "mart_citizen_reports",  # from the decrypted reports, incremental by raw file
)


def _run(settings_env, work, mode="auto"):
    proc = dbt_build_partitions(settings_env, work, mode)
    assert proc.returncode == 0, (proc.stderr[-2000:], proc.stdout[-4000:])
    return proc


def _files(lh: Lakehouse, model: str) -> dict[str, tuple[int, datetime]]:
    return {o.key: (o.size, o.last_modified) for o in lh.storage.list(curated_prefix(model))}


def _marts(lh: Lakehouse) -> dict[str, list[tuple]]:
    """Rows of the compared marts, ordered by their non-float columns (their keys among them)."""
    con = lh.duckdb()
    try:
        out = {}
        for mart in COMPARED:
            src = f"read_parquet('{lh.storage.uri(Lake.curated_key(mart))}')"
            cols = con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()
            keys = ", ".join(f'"{c}"' for c, t, *_ in cols if t != "DOUBLE")
            out[mart] = con.execute(f"SELECT * FROM {src} ORDER BY {keys}").fetchall()
        return out
    finally:
        con.close()


def _mart_differences(a: dict[str, list[tuple]], b: dict[str, list[tuple]]) -> list[str]:
    """Where two sets of marts differ, floats equal within a relative 1e-9: DuckDB sums them in
    another order from one run to the next (rounding both sides to a fixed decimal still flips
    on a boundary). Empty when they are the same."""

    def same(x, y):
        if isinstance(x, float) and isinstance(y, float):
            return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
        return x == y

    if a.keys() != b.keys():
        return [f"marts {sorted(a)} != {sorted(b)}"]
    out = [f"{m}: {len(a[m])} rows != {len(b[m])}" for m in a if len(a[m]) != len(b[m])]
    for m in a:
        out += [f"{m}: {r} != {q}" for r, q in zip(a[m], b[m]) if len(r) != len(q) or not all(map(same, r, q))][:3]
    return out


def _segment_hour_count(lh: Lakehouse, segment: str, hour: datetime) -> int:
    con = lh.duckdb()
    try:
        src = lh.storage.uri(Lake.curated_key("mart_traffic_hourly"))
        row = con.execute(
            f"SELECT vehicle_count FROM read_parquet('{src}') WHERE segment_id = ? AND hour_start = ?", [segment, hour]
        ).fetchone()
        return row[0] if row else 0
    finally:
        con.close()


def _raw_row(lh: Lakehouse, dataset: str) -> pa.Table:
    con = lh.duckdb()
    try:
        return con.execute(
            f"SELECT * EXCLUDE (ingest_date, _batch_id, _ingested_at, _source) "
            f"FROM read_parquet('{lh.lake.dataset_glob('raw', 'iot', dataset)}', hive_partitioning = true) LIMIT 1"
        ).fetch_arrow_table()
    finally:
        con.close()


def _late_reading(lh: Lakehouse, observed: datetime, ingest_day: date, vehicles: int) -> str:
    """One traffic reading observed at ``observed`` and received on ``ingest_day``; its segment."""
    template = _raw_row(lh, "traffic_flow")
    row = template.to_pylist()[0] | {"observed_at": observed, "vehicle_count": vehicles}
    table = pa.Table.from_pylist([row], schema=template.schema)
    lh.lake.write_batch(Zone.RAW, "iot", "traffic_flow", table, origin="test/retard", ingest_date=ingest_day)
    return row["segment_id"]


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    lake = lake_before_its_last_day(tmp_path_factory.mktemp("partitions"), DEMO)
    lake["first"] = _run(lake["env"], lake["work"])
    return lake


def test_first_run_is_a_full_build(lake):
    assert "reconstruction complète (première construction de int_" in lake["first"].stderr
    files = _files(lake["lh"], HOURLY)
    days = {k.split("/")[2] for k in files}
    assert len(days) >= DEMO["days"] - 1 and all(d.startswith("local_date=") for d in days)
    assert len(files) == len(days)  # one file per day


def test_run_after_a_new_day_rewrites_only_the_window(lake):
    lh, model = lake["lh"], lake["model"]
    before = _files(lh, HOURLY)
    simulate(lh, files=False, periods=[(int(lake["last_day"].timestamp()), model.end)], **DEMO)
    proc = _run(lake["env"], lake["work"])

    state = json.loads(lh.storage.read_bytes(partitions.STATE_KEY))
    start = date.fromisoformat(state["last_window_start"])
    assert set(state["models"]) == {"int_air_quality__station_hours", HOURLY} | {
        "int_energy__building_days",
        "int_lighting__lamp_nights",
        "int_water__meter_hours",
    }
    assert start == lake["last_day"].date() - timedelta(days=lh.settings.partition_lookback_days)
    assert f"partitions à partir du {start.isoformat()}" in proc.stderr
    after = _files(lh, HOURLY)
    day_of = {k: date.fromisoformat(k.split("/")[2].split("=")[1]) for k in after}
    untouched = [k for k in before if day_of[k] < start]
    rewritten = [k for k in after if day_of[k] >= start]
    assert untouched and rewritten
    assert all(after[k] == before[k] for k in untouched)  # same size, same modification time
    assert all(k not in before or after[k][1] > before[k][1] for k in rewritten)
    assert max(day_of.values()) >= lake["last_day"].date()  # the new day is there
    lake["windowed"] = _marts(lh)


def test_full_refresh_on_demand_gives_the_same_marts(lake):
    lh = lake["lh"]
    before = _files(lake["lh"], HOURLY)
    proc = _run(lake["env"], lake["work"], "complet")
    assert "reconstruction complète (demandée)" in proc.stderr
    after = _files(lh, HOURLY)
    assert after.keys() == before.keys() and all(after[k][1] > before[k][1] for k in after)  # every day rewritten
    assert not _mart_differences(_marts(lh), lake["windowed"])


def test_a_job_building_some_models_does_not_make_the_others_miss_batches(lake):
    """A water batch received four days ago, while only the hourly job (traffic and air
    partitions) ran since: the next full job still rebuilds the water partition of its day."""
    lh = lake["lh"]
    water, last = "int_water__meter_hours", lake["last_day"]
    state = json.loads(lh.storage.read_bytes(partitions.STATE_KEY))["models"]
    template = _raw_row(lh, "water_flow")
    observed = last - timedelta(days=4) + timedelta(hours=10, minutes=3)
    row = template.to_pylist()[0] | {"observed_at": observed, "flow_m3h": 9999.0}
    lh.lake.write_batch(
        Zone.RAW,
        "iot",
        "water_flow",
        pa.Table.from_pylist([row], schema=template.schema),
        origin="test/ancien",
        ingest_date=observed.date(),
    )
    proc = dbt_build_partitions(lake["env"], lake["work"], "auto", "--select", f"+{HOURLY}")
    assert proc.returncode == 0, proc.stdout[-3000:]
    after = json.loads(lh.storage.read_bytes(partitions.STATE_KEY))["models"]
    assert after[HOURLY] > state[HOURLY] and after[water] == state[water]
    _late_reading(lh, last + timedelta(hours=1, minutes=9), last.date(), 1)  # today's traffic

    _run(lake["env"], lake["work"])
    con = lh.duckdb()
    try:
        src = f"{lh.settings.lake_url}/{curated_prefix(water)}*/*.parquet"
        flows = con.execute(
            f"SELECT flow_m3h FROM read_parquet('{src}') WHERE hour_start = ? AND meter_id = ?",
            [observed.replace(minute=0), row["meter_id"]],
        ).fetchall()
    finally:
        con.close()
    assert flows and flows[0][0] > 1000  # the old batch's reading is in its hour's mean


def test_late_readings_within_the_lookback_land_in_their_day(lake):
    lh = lake["lh"]
    today = lake["last_day"].date()
    lookback = lh.settings.partition_lookback_days
    recent = lake["last_day"] - timedelta(days=lookback - 1, minutes=-7)  # within the lookback
    old = lake["last_day"] - timedelta(days=lookback + 2, minutes=-7)  # older than the window
    hour_recent, hour_old = (t.replace(minute=0, second=0) for t in (recent, old))
    segment = _late_reading(lh, recent, today, 100_000)
    _late_reading(lh, old, today, 100_000)
    counts = [_segment_hour_count(lh, segment, h) for h in (hour_recent, hour_old)]

    _run(lake["env"], lake["work"])
    assert _segment_hour_count(lh, segment, hour_recent) == counts[0] + 100_000
    assert _segment_hour_count(lh, segment, hour_old) == counts[1]  # waits for a full refresh

    _run(lake["env"], lake["work"], "complet")
    assert _segment_hour_count(lh, segment, hour_old) == counts[1] + 100_000


def test_launcher_refuses_an_unknown_mode(lake):
    proc = dbt_build_partitions(lake["env"], lake["work"], "tout")
    assert proc.returncode == 2
    assert "--partitions tout : valeurs possibles auto, complet" in proc.stderr


def test_window_start_must_be_a_date(lake):
    """The window's first day is pasted into SQL: anything but a date stops dbt before it runs."""
    lh = lake["lh"]
    hostile = "2026-03-01' OR true --"
    env = os.environ | dbt_env(lh.settings) | {partitions.WINDOW_ENV: hostile}
    before = _files(lh, HOURLY)
    proc = subprocess.run(
        [dbt_executable(), "build", "--select", HOURLY, "--project-dir", str(DBT_PROJECT_DIR)]
        + ["--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(lake["work"] / "target-hostile")],
        env=env,
        capture_output=True,
        text=True,
        cwd=lake["work"],
        check=False,
    )
    assert proc.returncode != 0
    assert "Invalid isoformat string" in proc.stdout
    assert _files(lh, HOURLY) == before


def test_a_day_with_two_files_stops_the_build(lake):
    """One file per day is what lets a run replace a day: a second one (left by hand, or by a
    writer that had to reopen the day) would be read twice; the build refuses it."""
    lh = lake["lh"]
    day = sorted(_files(lh, HOURLY))[-1].rsplit("/", 1)[0]
    lh.storage.write_bytes(f"{day}/data_1.parquet", lh.storage.read_bytes(f"{day}/data_0.parquet"))
    try:
        proc = dbt_build_partitions(lake["env"], lake["work"], "auto", "--select", HOURLY)
        assert proc.returncode != 0
        assert "fichiers pour" in proc.stdout and "un seul fichier par jour attendu" in proc.stdout
    finally:
        lh.storage.delete(f"{day}/data_1.parquet")
