"""CNIL access log: SQL Lab queries, chart data requests and CSV exports harvested from a real
Superset into the signed audit log, with user, roles, database (clearance) and rows, once each."""

from __future__ import annotations

import csv
import io
import json
import secrets

import pytest

from lakehouse.audit import AuditLog, ensure_audit_key
from lakehouse.platform import Lakehouse
from superset.bundle import DATABASES
from superset.harvest import ACCESS_EVENT_TYPE, EVENT_TYPE, harvest_access, harvest_queries


@pytest.fixture
def audit_lake(superset_instance, tmp_path):
    """The platform lake the harvest writes to, with its audit key (as `hyperviseur demo run` creates it)."""
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")})
    ensure_audit_key(lh.settings)
    return lh


ROW_LIMIT = 1000
COUNTED = "mart_air_quality_atmo_daily"  # masked dataset: one row per station and day


def _a_chart(client) -> dict:
    charts = list(client.iterate("/api/v1/chart/"))
    assert charts, "aucun graphique visible pour cet utilisateur"
    return charts[0]


def _grouped_query(dataset_id: int, chart_id: int, column: str, fmt: str) -> dict:
    """One row per distinct ``column`` (fewer than ``ROW_LIMIT``), as a table chart asks for it."""
    datasource = {"id": dataset_id, "type": "table"}
    return {
        "datasource": datasource,
        "queries": [
            {
                "columns": [column],
                "metrics": [{"expressionType": "SQL", "sqlExpression": "COUNT(*)", "label": "n"}],
                "row_limit": ROW_LIMIT,
            }
        ],
        "form_data": {"slice_id": chart_id, "datasource": f"{dataset_id}__table", "viz_type": "table"},
        "result_format": fmt,
        "result_type": "full",
    }


def _distinct(run_sql, client, column: str) -> int:
    """The expected row count, from SQL Lab (same user, same row-level security)."""
    rows, error = run_sql(client, f"SELECT count(DISTINCT {column}) AS n FROM masked.{COUNTED}")
    assert error is None, error
    return rows[0]["n"]


def test_sql_lab_chart_data_and_csv_export_are_harvested_once(superset_instance, users, admin, run_sql, audit_lake):
    analyst = users["analyste"]
    marker = f"SELECT {secrets.randbelow(10**6) + 10**6} AS marqueur_cnil"
    rows, error = run_sql(analyst, marker)
    assert error is None and len(rows) == 1
    chart = _a_chart(analyst)
    dataset_id = admin.find("/api/v1/dataset/", "table_name", COUNTED)["id"]
    # a dashboard tile (JSON, one row per day), then a « Télécharger en CSV » (one row per station)
    expected = {"json": _distinct(run_sql, analyst, "local_date"), "csv": _distinct(run_sql, analyst, "station_id")}
    assert min(expected.values()) > 1 and max(expected.values()) < ROW_LIMIT and expected["json"] != expected["csv"]
    for fmt, column in (("json", "local_date"), ("csv", "station_id")):
        # as Superset's front end does: the chart id in the URL's form_data, which its action log keeps
        params = {"form_data": json.dumps({"slice_id": chart["id"]})}
        answer = analyst.post("/api/v1/chart/data", _grouped_query(dataset_id, chart["id"], column, fmt), params=params)
        if fmt == "json":
            assert answer["result"][0]["rowcount"] == expected["json"]
        else:
            assert len(list(csv.reader(io.StringIO(answer.lstrip("\ufeff"))))) - 1 == expected["csv"]

    counts = harvest_access(audit_lake, admin)
    assert counts["queries"] >= 1 and counts["access"] >= 2, counts
    records = AuditLog(audit_lake).records()

    sql = [r for r in records if r["event_type"] == EVENT_TYPE and marker in (r["payload"]["sql"] or "")]
    assert len(sql) == 1
    q = sql[0]
    assert q["actor"] == "analyste" and q["payload"]["roles"] == ["Analyst"]
    assert q["payload"]["database"] and q["payload"]["rows"] == 1 and q["payload"]["status"] == "success"

    mine = [r for r in records if r["event_type"] == ACCESS_EVENT_TYPE and r["actor"] == "analyste"]
    counted = [
        r["payload"]
        for r in mine
        if r["payload"]["chart_id"] == chart["id"] and r["payload"]["dataset"] == f"masked.{COUNTED}"
    ]
    on_chart = {p["format"]: p for p in counted}
    assert len(counted) == 2 and set(on_chart) == {"json", "csv"}, [r["payload"] for r in mine]
    for fmt, p in on_chart.items():
        assert p["roles"] == ["Analyst"] and p["log_id"]
        assert p["database"] == DATABASES["masked"] and p["dataset"] == f"masked.{COUNTED}"
        assert p["rows"] == expected[fmt] and p["row_limit"] == ROW_LIMIT, p  # the answer's rows, not the limit
    assert on_chart["csv"]["kind"] == "export" and on_chart["json"]["kind"] == "chart.data"

    # No duplicates: a second harvest records nothing new from these users.
    assert harvest_access(audit_lake, admin) == {"queries": 0, "access": 0}
    again = AuditLog(audit_lake).records()
    ids = [r["payload"]["log_id"] for r in again if r["event_type"] == ACCESS_EVENT_TYPE]
    assert len(ids) == len(set(ids))
    assert AuditLog(audit_lake).verify().ok


# what Superset logs while it computes a chart: its SQL, its post-processing, its JSON encoding
COMPUTING = ("execute_sql", "QueryObject.post_processing", "ChartDataRestApi.json_dumps")


def _newest(admin, action: str) -> tuple[int, dict] | None:
    filters = [{"col": "action", "opr": "eq", "value": action}]
    return next(admin.iterate_with_ids("/api/v1/log/", filters, order_column="dttm", order_direction="desc"), None)


def test_a_computed_chart_keeps_every_entry_of_the_action_log(users, admin):
    """Entries Superset writes while it computes a chart are held until the answer exists, then
    written (``superset/access_log.py``): none is lost, each names the person who asked."""
    analyst = users["analyste"]
    chart = _a_chart(analyst)
    dataset_id = admin.find("/api/v1/dataset/", "table_name", COUNTED)["id"]
    before = {action: _newest(admin, action) for action in COMPUTING}
    analyst.post("/api/v1/chart/data", {**_grouped_query(dataset_id, chart["id"], "station_id", "json"), "force": True})
    _data_id, data = _newest(admin, "ChartDataRestApi.data")
    for action in COMPUTING:
        log_id, row = _newest(admin, action)
        assert before[action] is None or log_id > before[action][0], action
        assert row["user_id"] == data["user_id"] and row["duration_ms"] is not None, row


def test_sql_lab_csv_export_is_harvested(superset_instance, users, admin, database_id, audit_lake):
    analyst = users["analyste"]
    client_id = secrets.token_hex(5)
    body = analyst.post(
        "/api/v1/sqllab/execute/",
        {
            "database_id": database_id,
            "sql": "SELECT 1 AS a UNION ALL SELECT 2",
            "schema": "masked",
            "runAsync": False,
            "queryLimit": 100,
            "client_id": client_id,
        },
    )
    assert body["status"] == "success"
    analyst.get(f"/api/v1/sqllab/export/{client_id}/")  # the Analyst role may export SQL Lab results
    harvest_queries(audit_lake, admin)
    exports = [
        r
        for r in AuditLog(audit_lake).records()
        if r["event_type"] == ACCESS_EVENT_TYPE and r["payload"]["superset_action"] == "SqlLabRestApi.export_csv"
    ]
    mine = [r for r in exports if r["actor"] == "analyste" and r["payload"]["path"].endswith(f"{client_id}/")]
    assert len(mine) == 1 and mine[0]["payload"]["rows"] == 2 and mine[0]["payload"]["database"]


def test_harvest_refused_without_audit_key(superset_instance, admin, tmp_path):
    from lakehouse.errors import SettingsError

    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "nokey")})
    with pytest.raises(SettingsError, match="HYPERVISEUR_AUDIT_KEY_FILE"):
        harvest_queries(lh, admin)
