"""`make run` on another day (`hyperviseur demo run --fin aujourdhui`): the new 14-day window
overlaps what the lake already holds; only the missing part is simulated, so every reading lands
exactly once (files, and the last hours through the embedded broker and the stream consumer),
and the live simulator resumes after the last instant covered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingestion.datasets import CANONICAL
from ingestion.demo import INCIDENTS_KEY, coverage, sensors
from orchestration.demo.assets import simulate_with_live_stream

DAY1 = datetime(2026, 11, 20, tzinfo=UTC)  # the "today" (midnight UTC) of the first run
DAY2 = DAY1 + timedelta(days=1)  # the next day's run: its window overlaps the first one's


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    from lakehouse.encryption import ensure_key_file
    from lakehouse.platform import Lakehouse

    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path_factory.mktemp("backfill") / "data")})
    ensure_key_file(lh.settings)
    runs = [simulate_with_live_stream(lh, end=end, days=2, seed=42, scale=0.2)[0] for end in (DAY1, DAY2)]
    return lh, runs


def test_each_reading_lands_once_and_counts_in_equal_counts_out(two_runs):
    lh, (first, second) = two_runs
    con = lh.duckdb()
    for name in sensors.GENERATORS:
        spec = CANONICAL[name]
        glob = lh.lake.dataset_glob("raw", spec.source, spec.name)
        key, t = ", ".join(spec.key), spec.time_column
        rows, distinct, t0, t1, days = con.execute(
            f"SELECT count(*), count(DISTINCT ({key})), min({t}), max({t}), count(DISTINCT date_trunc('day', {t})) "
            f"FROM read_parquet('{glob}')"
        ).fetchone()
        assert rows == distinct, f"{name} : {rows - distinct} lectures en double"
        assert rows == first.report.datasets[name].rows_raw + second.report.datasets[name].rows_raw, name
        assert t0 >= DAY1 - timedelta(days=2) and t1 < DAY2, name
        assert days == 3, name  # the union of both windows, without a hole
    assert all(c.rows_in == c.rows_raw + c.rows_quarantined + c.duplicates for c in second.report.datasets.values())


def test_coverage_joined_and_ground_truth_kept(two_runs):
    lh, (first, second) = two_runs
    assert coverage.held(lh.settings.data_dir) == [(int((DAY1 - timedelta(days=2)).timestamp()), int(DAY2.timestamp()))]
    stored = {d["incident_id"] for d in lh.lake.read_json(INCIDENTS_KEY)}
    assert {i.incident_id for i in first.incidents} <= stored  # the first window's incidents stay
    assert {i.incident_id for i in second.incidents} == stored


def test_same_day_again_lands_nothing(two_runs):
    lh, _ = two_runs
    again, _ = simulate_with_live_stream(lh, end=DAY2, days=2, seed=42, scale=0.2)
    assert again.published == 0 and all(c.rows_in == c.rows_raw == 0 for c in again.report.datasets.values())


def test_live_simulator_resumes_after_the_backfill(two_runs, tmp_path):
    from lakehouse.settings import MqttSettings
    from orchestration.demo.live import LiveSimulator

    lh, _ = two_runs
    simulator = LiveSimulator(mqtt=MqttSettings(), data_dir=lh.settings.data_dir)
    assert simulator._resume_from(DAY2.timestamp() + 3600) == DAY2.timestamp()
    fresh = LiveSimulator(mqtt=MqttSettings(), data_dir=tmp_path)  # nothing covered: from midnight today
    assert fresh._resume_from(DAY2.timestamp() + 3600) == DAY2.timestamp()
