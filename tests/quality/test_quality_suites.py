"""Great Expectations suites on real lake data: blocking failures, warnings, stored results, HTML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pytest

from ingestion.datasets import WATER_FLOW
from lakehouse.lake import Lake
from quality import results
from quality.runner import run_suite, validate_file, validate_frame
from quality.suites import mart_suite, raw_suite

T0 = datetime(2026, 3, 10, tzinfo=UTC)


def water_batch(meters, flows) -> pa.Table:
    return pa.table(
        {
            "meter_id": meters,
            "sector_id": ["SEC01"] * len(meters),
            "observed_at": pa.array(
                [T0 + timedelta(minutes=15 * i) for i in range(len(meters))], pa.timestamp("us", tz="UTC")
            ),
            "flow_m3h": pa.array(flows, pa.float64()),
            "source_tz": ["Europe/Paris"] * len(meters),
        }
    )


@pytest.fixture
def lh(local_lakehouse):
    local_lakehouse.storage.check()
    return local_lakehouse


def test_valid_raw_batch_passes_every_blocking_check(lh):
    lh.lake.write_batch("raw", "iot", "water_flow", water_batch(["WM01A", "WM01B"] * 5, [12.0] * 10), origin="test")
    result = run_suite(lh, "iot.water_flow")
    assert result.blocking_passed, result.failures
    assert result.rows == 10 and not result.warnings
    assert results.latest(lh, "iot.water_flow").run_at == result.run_at


def test_corrupted_raw_batch_fails_blocking_checks_with_french_reasons(lh):
    lh.lake.write_batch("raw", "iot", "water_flow", water_batch(["WM01A", "WM01B"] * 5, [12.0] * 10), origin="ok")
    lh.lake.write_batch(
        "raw", "iot", "water_flow", water_batch(["WM01A", "WM99Z", None], [-4.0, 3.0, 2.0]), origin="corrompu"
    )
    result = run_suite(lh, "iot.water_flow")
    assert not result.blocking_passed
    failed = {f["check"] for f in result.failures}
    assert "expect_column_values_to_be_between:flow_m3h" in failed  # negative flow
    assert "expect_column_values_to_be_in_set:meter_id" in failed  # unknown meter
    assert "expect_column_values_to_not_be_null:meter_id" in failed  # missing meter
    negative = next(f for f in result.failures if f["check"].endswith("flow_m3h"))
    assert "1 ligne(s) non conforme(s)" in negative["message"] and "-4.0" in negative["message"]
    stored = results.latest(lh, "iot.water_flow")
    assert stored.blocking_passed is False and stored.failures == result.failures
    html = lh.storage.read_bytes("_meta/quality/index.html").decode()
    assert "iot.water_flow" in html and "bloqué" in html and "Qualité des données" in html


def test_missing_column_is_a_schema_failure(lh):
    table = water_batch(["WM01A"] * 3, [1.0] * 3).drop_columns(["sector_id"])
    lh.lake.write_batch("raw", "iot", "water_flow", table, origin="sans secteur")
    result = run_suite(lh, "iot.water_flow")
    assert "expect_column_to_exist:sector_id" in {f["check"] for f in result.failures}


def test_stale_feed_and_row_drop_are_warnings_not_blocking():
    frame = pd.DataFrame(
        {
            "meter_id": ["WM01A"] * 4,
            "sector_id": ["SEC01"] * 4,
            "observed_at": pd.date_range("2026-03-10", periods=4, freq="15min", tz="UTC"),
            "flow_m3h": [5.0] * 4,
            "_ingested_at": pd.date_range("2026-03-10", periods=4, freq="1min", tz="UTC"),
        }
    )
    later = datetime(2026, 4, 1, tzinfo=UTC)
    outcomes = validate_frame(frame, raw_suite(WATER_FLOW, previous_rows=100, now=later))
    failed = [o for o in outcomes if not o.passed]
    assert failed and all(o.severity == results.WARNING for o in failed)
    assert {o.check for o in failed} == {
        "expect_column_max_to_be_between:_ingested_at",
        "expect_table_row_count_to_be_between",
    }


def test_mart_suite_blocks_a_duplicated_key():
    frame = pd.DataFrame(
        {
            "segment_id": ["SEG001", "SEG001"],
            "hour_start": pd.to_datetime(["2026-03-10T08:00Z"] * 2),
            "occupancy_pct": [10.0, 12.0],
            "flow_veh_h": [300.0, 310.0],
            "district_id": ["D01", "D01"],
        }
    )
    outcomes = validate_frame(frame, mart_suite("mart_traffic_hourly"))
    failed = {o.check for o in outcomes if not o.passed and o.severity == results.BLOCKING}
    assert failed == {"expect_compound_columns_to_be_unique:segment_id,hour_start"}


def test_unknown_dataset_has_no_result(lh):
    assert results.latest(lh, "mart_inexistant") is None


def test_mart_not_rebuilt_for_days_is_a_warning():
    frame = pd.DataFrame(
        {"sector_id": ["SEC01"], "excess_volume_m3": [120.0], "leak_rank": [1], "district_id": ["D01"]}
    )
    suite = mart_suite("mart_water_leak_candidates", now=datetime(2026, 3, 20, tzinfo=UTC))
    facts = pd.DataFrame({"_built_at": [pd.Timestamp("2026-03-15T00:00Z")]})
    outcomes = validate_frame(frame, suite) + validate_file(facts, suite)
    failed = [o for o in outcomes if not o.passed]
    assert [(o.check, o.severity) for o in failed] == [("expect_column_max_to_be_between:_built_at", results.WARNING)]


def test_a_mart_written_without_rows_is_fresh(lh):
    """Its file was just written: the freshness of a mart is its file's, not its rows'."""
    columns = pa.schema(
        [
            ("sector_id", pa.string()),
            ("excess_volume_m3", pa.float64()),
            ("leak_rank", pa.int64()),
            ("district_id", pa.string()),
        ]
    )
    lh.lake.write_table(Lake.curated_key("mart_water_leak_candidates"), columns.empty_table())
    result = run_suite(lh, "mart_water_leak_candidates", render=False)
    assert result.rows == 0 and result.blocking_passed and not result.warnings, result.warnings
