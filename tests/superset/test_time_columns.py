"""Time columns of chart answers in epoch milliseconds computed column by column
(``superset/time_columns.py``): the JSON Superset sends is byte for byte what its per-value
encoder gave (Superset's own virtualenv, every kind of time value), and a real Superset's
answers carry the instants of the marts."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import duckdb
import pytest
from in_superset_venv import run_script

from superset import service

TIME_COLUMNS = Path(service.__file__).resolve().parent / "time_columns.py"

SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys
    import numpy as np, pandas as pd
    from superset.utils import json as superset_json
    spec = importlib.util.spec_from_file_location("time_columns", sys.argv[1])
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    rng = np.random.default_rng(20)
    n = 20000
    nanoseconds = np.concatenate([
        rng.integers(-2**62, 2**62, n // 2),  # 1824 to 2116, to the nanosecond
        rng.integers(0, 2 * 10**18, n // 4) // 1000 * 1000,  # to the microsecond
        rng.integers(-20000, 20000, n // 4) * 86_400 * 10**9,  # whole days, before 1970 too
    ])
    naive = pd.Series(nanoseconds.view("datetime64[ns]"))
    naive[::97] = pd.NaT
    df = pd.DataFrame({
        "jour": naive,
        "heure_locale": naive.dt.tz_localize("Europe/Paris", ambiguous="NaT", nonexistent="NaT"),
        "heure_utc": naive.dt.tz_localize("UTC"),
        "date_python": [d.date() if d is not pd.NaT else None for d in naive],
        "service": ["voirie", None] * (n // 2),
        "valeur": rng.random(n),
    })
    df.insert(3, "jour", naive.dt.floor("D"), allow_duplicates=True)  # a repeated column name
    before = df.copy(deep=True)

    def encode(frame):
        return superset_json.dumps(
            {"data": frame.to_dict(orient="records")}, default=superset_json.json_int_dttm_ser, ignore_nan=True
        )

    converted = module.with_epoch_times(df)
    print(json.dumps({
        "identical": encode(converted) == encode(df),
        "untouched": df.equals(before) and list(df.dtypes) == list(before.dtypes),
        "no_time_left": not any(pd.api.types.is_datetime64_any_dtype(t) for t in converted.dtypes),
        "same_without_times": module.with_epoch_times(plain := df[["service", "valeur"]]) is plain,
    }))
    """
)


def test_json_is_byte_for_byte_superset_s_own_encoding(tmp_path):
    result = run_script(SCRIPT, str(TIME_COLUMNS), cwd=tmp_path)
    assert result == {"identical": True, "untouched": True, "no_time_left": True, "same_without_times": True}


def _epoch_ms(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return (value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds() * 1000
    return (value - dt.date(1970, 1, 1)).total_seconds() * 1000


@pytest.mark.superset
def test_chart_answers_carry_the_marts_instants(superset_instance, admin, table_request):
    """A time column with an empty value (closed_at) and a day column, as the charts send them."""
    catalog = superset_instance.settings.data_dir / "serving" / "serving_masked.duckdb"
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        expected = con.execute(
            "SELECT created_at, closed_at, local_date FROM masked.mart_citizen_reports "
            "ORDER BY created_at, report_id LIMIT 40"
        ).fetchall()
    finally:
        con.close()
    assert any(row[1] is None for row in expected)
    body = table_request("mart_citizen_reports", ["created_at", "closed_at", "local_date", "report_id"], 40)
    body["queries"][0]["orderby"] = [["created_at", True], ["report_id", True]]
    rows = admin.post("/api/v1/chart/data", {**body, "force": True})["result"][0]["data"]
    assert [(r["created_at"], r["closed_at"], r["local_date"]) for r in rows] == [
        tuple(_epoch_ms(v) for v in row) for row in expected
    ]
