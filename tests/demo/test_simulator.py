"""The demo simulator: deterministic, balanced, incidents recorded and visible in the raw data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingestion.demo import INCIDENTS_KEY, simulate
from ingestion.demo.simulator import build_model, iter_chunks
from ingestion.demo.territory import seed_csvs

ROOT = Path(__file__).resolve().parents[2]
END = datetime(2026, 3, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory):
    from lakehouse.encryption import ensure_key_file
    from lakehouse.platform import Lakehouse

    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path_factory.mktemp("demo") / "data")})
    ensure_key_file(lh.settings)  # as `hyperviseur run` does: citizen reports are written encrypted
    return lh, simulate(lh, days=14, seed=42)


def _glob(lh, source, dataset):
    return f"read_parquet('{lh.lake.dataset_glob('raw', source, dataset)}')"


def test_committed_seeds_equal_generator_output():
    for name, text in seed_csvs().items():
        path = ROOT / "dbt_project" / "seeds" / name
        assert path.exists(), f"graine manquante : {path} (hyperviseur demo seeds)"
        assert path.read_text(encoding="utf-8") == text, (
            f"{name} diffère du générateur : relancer `hyperviseur demo seeds`"
        )


def test_same_seed_same_series_other_seed_differs():
    a = build_model(end=END, days=2, seed=7)
    b = build_model(end=END, days=2, seed=7)
    c = build_model(end=END, days=2, seed=8)
    for (sa, _, _, ta), (_, _, _, tb), (_, _, _, tc) in zip(
        iter_chunks(a, a.start, a.end), iter_chunks(b, b.start, b.end), iter_chunks(c, c.start, c.end)
    ):
        assert ta.equals(tb), sa.qualified_name
        if ta.num_rows > 50:
            assert not ta.equals(tc), sa.qualified_name


def test_counts_balanced_and_files_written(demo_lake):
    lh, result = demo_lake
    assert result.report.datasets and all(c.balanced for c in result.report.datasets.values())
    assert result.report.rows_quarantined == 0
    assert 150_000 < result.sensor_readings < 200_000
    con = lh.duckdb()
    for name, counts in result.report.datasets.items():
        source, dataset = name.split(".")
        assert con.execute(f"SELECT count(*) FROM {_glob(lh, source, dataset)}").fetchone()[0] == counts.rows_raw
    files = {p.suffix for p in result.files}
    assert files == {".csv", ".jsonl"} and all(p.exists() for p in result.files)


def test_rerun_overwrites_instead_of_duplicating(demo_lake, tmp_path):
    lh, result = demo_lake
    before = {m.key for m in lh.lake.manifests("raw", "iot", "air_quality")}
    again = simulate(lh, days=14, seed=42, files=False)
    assert {m.key for m in lh.lake.manifests("raw", "iot", "air_quality")} == before
    assert again.report.rows_raw == result.report.rows_raw


def test_incidents_recorded_after_a_quiet_baseline(demo_lake):
    lh, result = demo_lake
    stored = lh.lake.read_json(INCIDENTS_KEY)
    assert {i["kind"] for i in stored} == {
        "leak",
        "pollution_peak",
        "traffic_jam",
        "lamp_failure_cluster",
        "report_burst",
    }
    for inc in stored:
        assert set(inc) >= {
            "incident_id",
            "kind",
            "start",
            "end",
            "entity_type",
            "entity_id",
            "district_id",
            "description_fr",
        }
        assert inc["start"] >= "2026-03-05T21:36" and inc["start"] < inc["end"]


def _incident(result, kind):
    return next(i for i in result.incidents if i.kind == kind)


def test_leak_raises_minimum_night_flow_of_its_sector_only(demo_lake):
    lh, result = demo_lake
    leak = _incident(result, "leak")
    rows = (
        lh.duckdb()
        .execute(
            f"""
        WITH s AS (SELECT sector_id, observed_at, sum(flow_m3h) f FROM {_glob(lh, "iot", "water_flow")} GROUP BY ALL),
             n AS (SELECT sector_id, (observed_at AT TIME ZONE 'UTC')::date AS day, day >= $start::date AS after,
                          min(f) m FROM s
                   WHERE hour(observed_at AT TIME ZONE 'UTC') BETWEEN 1 AND 2 GROUP BY sector_id, day)
        SELECT sector_id, after, avg(m) FROM n GROUP BY ALL""",
            {"start": leak.start},
        )
        .fetchall()
    )
    night = {(s, a): v for s, a, v in rows}
    for sector in {s for s, _ in night}:
        delta = night[(sector, True)] - night[(sector, False)]
        if sector == leak.entity_id:
            assert delta == pytest.approx(leak.details["extra_flow_m3h"], rel=0.15)
        else:
            assert abs(delta) < 0.5


def test_pollution_peak_reaches_bad_atmo_classes_only_that_day(demo_lake):
    lh, result = demo_lake
    peak = _incident(result, "pollution_peak")
    rows = (
        lh.duckdb()
        .execute(
            f"""
        SELECT station_id, (observed_at >= $s AND observed_at < $e) AS during,
               max(value) FILTER (WHERE pollutant = 'no2') no2_max,
               max(d) pm10_daily
        FROM (SELECT *, avg(value) FILTER (WHERE pollutant = 'pm10')
                        OVER (PARTITION BY station_id, observed_at::date) d FROM {_glob(lh, "iot", "air_quality")})
        GROUP BY ALL""",
            {"s": peak.start, "e": peak.end},
        )
        .fetchall()
    )
    for station, during, no2_max, pm10_daily in rows:
        if station == peak.entity_id and during:
            assert no2_max > 200 and pm10_daily > 50  # ATMO "mauvais" or worse
        else:
            assert no2_max < 200 and pm10_daily < 50


def test_traffic_jam_lamp_cluster_and_report_burst_are_visible(demo_lake):
    lh, result = demo_lake
    con = lh.duckdb()
    jam = _incident(result, "traffic_jam")
    occ, speed, n = con.execute(
        f"SELECT min(occupancy_pct), max(average_speed_kmh), count(*) FROM {_glob(lh, 'iot', 'traffic_flow')} "
        "WHERE segment_id = $id AND observed_at >= $s AND observed_at < $e",
        {"id": jam.entity_id, "s": jam.start, "e": jam.end},
    ).fetchone()
    assert occ > 60 and speed < 20 and n * 900 >= 3600
    assert (
        con.execute(
            f"SELECT max(occupancy_pct) FROM {_glob(lh, 'iot', 'traffic_flow')} "
            "WHERE NOT (segment_id = $id AND observed_at >= $s AND observed_at < $e)",
            {"id": jam.entity_id, "s": jam.start, "e": jam.end},
        ).fetchone()[0]
        < 60
    )
    lamps = _incident(result, "lamp_failure_cluster")
    faulty = con.execute(
        f"SELECT count(DISTINCT lamp_id), min(observed_at) FROM {_glob(lh, 'iot', 'streetlight')} "
        "WHERE status = 'fault'"
    ).fetchone()
    assert faulty[0] == len(lamps.details["lamp_ids"]) and faulty[1] >= lamps.start
    burst = _incident(result, "report_burst")
    in_burst, usual = con.execute(
        f"SELECT count(*) FILTER (WHERE created_at >= $s AND created_at < $e), "
        f"count(*) FILTER (WHERE created_at < $s) / ((epoch($s) - epoch(min(created_at))) / 10800) "
        f"FROM {_glob(lh, 'citizen', 'reports')} WHERE district_id = $d",
        {"s": burst.start, "e": burst.end, "d": burst.district_id},
    ).fetchone()
    assert in_burst >= 20 and in_burst > 10 * usual


def test_reports_carry_french_personal_data_sometimes(demo_lake):
    lh, _ = demo_lake
    from lakehouse.encryption import read_parquet_blobs

    files = [
        (o.key, lh.storage.read_bytes(o.key))
        for o in lh.storage.list("raw/citizen/reports/")
        if o.key.endswith(".parquet")
    ]
    texts = read_parquet_blobs(files, columns=["description"], settings=lh.settings).column("description").to_pylist()
    import duckdb

    with pytest.raises(duckdb.Error):  # encrypted at rest: SQL reads only the clear columns
        lh.duckdb().execute(f"SELECT description FROM {_glob(lh, 'citizen', 'reports')}").fetchall()
    import re

    phone = re.compile(r"(?:\+33 ?6|06)[ .]?39[ .]?98")
    plate = re.compile(r"\b[A-Z]{2}-\d{3}-[A-Z]{2}\b")
    with_pii = [t for t in texts if phone.search(t) or "@" in t or plate.search(t)]
    assert 0.05 < len(with_pii) / len(texts) < 0.3
    assert any(plate.search(t) for t in texts) and any("@" in t for t in texts)
