"""The starter charts along time over years of history (``superset/time_windows.py``): the SQL
a real Superset generates for them, run on 3,000 days of a daily mart, returns every day of the
last 12 months up to today, for every group, under the row limit, and nothing older. Without
the window the same chart asks for more rows than its limit and loses the lowest values."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest
import synthetic_marts
from dateutil.relativedelta import relativedelta

from superset.bundle import chart_query_context, load_spec

pytestmark = pytest.mark.superset

DAYS = 3000  # eight years: 6 districts × 3,000 days = 18,000 rows at a day's grain


def _chart(name: str) -> dict:
    return next(c for d in load_spec() for c in d["charts"] if c["name"] == name)


def _history() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    queries = synthetic_marts.mart_queries(hours=DAYS * 24)
    for schema in ("curated", "masked"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.execute(f"CREATE TABLE curated.mart_traffic_hourly AS {queries['mart_traffic_hourly']}")
    con.execute(f"CREATE TABLE masked.mart_traffic_daily AS {queries['mart_traffic_daily']}")
    return con


def _sql(admin, chart: dict) -> tuple[str, int]:
    ids = {d["table_name"]: d["id"] for d in admin.iterate("/api/v1/dataset/") if d["schema"] == "masked"}
    body = chart_query_context(chart, ids[chart["dataset"]], result_type="query")
    [query] = admin.post("/api/v1/chart/data", body)["result"]
    return query["query"], body["queries"][0]["row_limit"]


def test_a_starter_chart_along_time_shows_every_day_of_its_last_12_months(admin):
    chart = _chart("Débit horaire moyen par jour et par quartier (véh/h)")
    sql, row_limit = _sql(admin, chart)
    con = _history()
    districts = con.execute("SELECT count(DISTINCT district_id) FROM masked.mart_traffic_daily").fetchone()[0]
    assert DAYS * districts > row_limit  # the whole history would not fit

    rows = con.execute(sql).fetchall()
    start = date.today() - relativedelta(years=1)  # Superset's DATEADD(DATETIME("today"), -1, year)
    end = date.fromisoformat(synthetic_marts.END[:10])  # the readings stop there, inside the window
    expected = {start + timedelta(days=i) for i in range((end - start).days)}
    days = {r[0].date() if hasattr(r[0], "date") else r[0] for r in rows}
    assert days == expected
    assert len(rows) == len(expected) * districts <= row_limit  # every district every day

    whole = dict(chart, whole_history=True)
    sql, _limit = _sql(admin, whole)
    capped = con.execute(sql).fetchall()
    assert len(capped) == row_limit and len({r[0] for r in capped}) * districts > row_limit  # holes
