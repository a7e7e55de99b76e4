"""CNIL access log: SQL Lab queries, chart data requests and CSV exports harvested from a real
Superset into the signed audit log, with user, roles, database (clearance) and rows, once each."""

from __future__ import annotations

import json
import secrets

import pytest

from lakehouse.audit import AuditLog, ensure_audit_key
from lakehouse.platform import Lakehouse
from superset.harvest import ACCESS_EVENT_TYPE, EVENT_TYPE, harvest_access, harvest_queries


@pytest.fixture
def audit_lake(superset_instance, tmp_path):
    """The platform lake the harvest writes to, with its audit key (as `hyperviseur demo run` creates it)."""
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")})
    ensure_audit_key(lh.settings)
    return lh


def _a_chart(client) -> dict:
    charts = list(client.iterate("/api/v1/chart/"))
    assert charts, "aucun graphique visible pour cet utilisateur"
    return charts[0]


def _chart_query(chart: dict, fmt: str) -> dict:
    datasource = {"id": chart["datasource_id"], "type": chart.get("datasource_type") or "table"}
    return {
        "datasource": datasource,
        "queries": [
            {"metrics": [{"expressionType": "SQL", "sqlExpression": "COUNT(*)", "label": "n"}], "row_limit": 10}
        ],
        "form_data": {
            "slice_id": chart["id"],
            "datasource": f"{datasource['id']}__{datasource['type']}",
            "viz_type": "table",
        },
        "result_format": fmt,
        "result_type": "full",
    }


def test_sql_lab_chart_data_and_csv_export_are_harvested_once(superset_instance, users, admin, run_sql, audit_lake):
    analyst = users["analyste"]
    marker = f"SELECT {secrets.randbelow(10**6) + 10**6} AS marqueur_cnil"
    rows, error = run_sql(analyst, marker)
    assert error is None and len(rows) == 1
    chart = _a_chart(analyst)
    for fmt in ("json", "csv"):  # what a dashboard tile, then its « Télécharger en CSV », sends
        # as Superset's front end does: the chart id in the URL's form_data, which its action log keeps
        params = {"form_data": json.dumps({"slice_id": chart["id"]})}
        answer = analyst.post("/api/v1/chart/data", _chart_query(chart, fmt), params=params)
        assert answer["result"][0]["rowcount"] == 1 if fmt == "json" else answer.count("\n") >= 1

    counts = harvest_access(audit_lake, admin)
    assert counts["queries"] >= 1 and counts["access"] >= 2, counts
    records = AuditLog(audit_lake).records()

    sql = [r for r in records if r["event_type"] == EVENT_TYPE and marker in (r["payload"]["sql"] or "")]
    assert len(sql) == 1
    q = sql[0]
    assert q["actor"] == "analyste" and q["payload"]["roles"] == ["Analyst"]
    assert q["payload"]["database"] and q["payload"]["rows"] == 1 and q["payload"]["status"] == "success"

    mine = [r for r in records if r["event_type"] == ACCESS_EVENT_TYPE and r["actor"] == "analyste"]
    on_chart = [r for r in mine if r["payload"]["chart_id"] == chart["id"]]
    assert {r["payload"]["format"] for r in on_chart} >= {"json", "csv"}, [r["payload"] for r in mine]
    for r in on_chart:
        p = r["payload"]
        assert p["roles"] == ["Analyst"] and p["database"] and p["dataset"] and p["log_id"]
        assert "rows" in p and "row_limit" in p
    assert [r for r in on_chart if r["payload"]["kind"] == "export" and r["payload"]["format"] == "csv"]

    # No duplicates: a second harvest records nothing new from these users.
    assert harvest_access(audit_lake, admin) == {"queries": 0, "access": 0}
    again = AuditLog(audit_lake).records()
    ids = [r["payload"]["log_id"] for r in again if r["event_type"] == ACCESS_EVENT_TYPE]
    assert len(ids) == len(set(ids))
    assert AuditLog(audit_lake).verify().ok


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
