"""Provisioning, roles, masking, sandbox, RLS and audit against a real Superset."""

from __future__ import annotations

import json
import subprocess

import pytest

from superset import service
from superset.bundle import ASSETS, rendered_assets
from superset.harvest import harvest_queries

pytestmark = pytest.mark.superset

WATER = {"mart_water_night_flow", "mart_water_leak_candidates"}
SHARED = {"mart_citizen_reports", "mart_citizen_reports_daily", "mart_incident_timeline"}


def _snapshot(admin) -> dict:
    def rows(path, *keys):
        return sorted(tuple(r.get(k) for k in keys) for r in admin.iterate(path))

    return {
        "databases": rows("/api/v1/database/", "id", "database_name"),
        "datasets": rows("/api/v1/dataset/", "id", "table_name", "schema"),
        "charts": rows("/api/v1/chart/", "id", "slice_name"),
        "dashboards": rows("/api/v1/dashboard/", "id", "slug"),
        "roles": rows("/api/v1/security/roles/", "id", "name"),
        "rls": rows("/api/v1/rowlevelsecurity/", "id", "name", "clause"),
    }


def test_provisioning_twice_yields_the_same_objects(superset_instance, provisioned, admin, manifest):
    from superset.provision import provision

    before = _snapshot(admin)
    assert len(before["datasets"]) == 14 and len(before["dashboards"]) == 7
    assert len(before["charts"]) == len([k for k in rendered_assets() if k.startswith("charts/")])
    again = provision(superset_instance, manifest=manifest)
    assert _snapshot(admin) == before
    assert again.dashboards == provisioned.dashboards


def test_datasets_carry_dbt_descriptions_and_certification(admin):
    rows = {d["table_name"]: d["id"] for d in admin.iterate("/api/v1/dataset/")}
    water = admin.get(f"/api/v1/dataset/{rows['mart_water_night_flow']}")["result"]
    assert water["description"] == "Débit minimum de nuit par secteur et par nuit."
    column = next(c for c in water["columns"] if c["column_name"] == "min_night_flow_m3h")
    assert column["description"] == "Débit minimum entre 2 h et 4 h (m³/h)"
    assert json.loads(water["extra"])["certification"]["certified_by"]
    traffic = admin.get(f"/api/v1/dataset/{rows['mart_traffic_hourly']}")["result"]
    assert not (traffic["extra"] and "certification" in json.loads(traffic["extra"]))


def test_agent_eau_sees_only_water_datasets_and_dashboards(users):
    agent = users["agent_eau"]
    datasets = {d["table_name"] for d in agent.iterate("/api/v1/dataset/")}
    assert datasets == WATER | SHARED
    dashboards = {d["slug"] for d in agent.iterate("/api/v1/dashboard/")}
    assert dashboards == {"fuites-eau", "signalements", "incidents"}


def test_analyst_sql_lab_returns_masked_personal_data(users, run_sql):
    rows, error = run_sql(
        users["analyste"], "SELECT reporter_name, reporter_phone, description FROM masked.mart_citizen_reports"
    )
    assert error is None and len(rows) == 240
    assert all(r["reporter_name"].startswith("pseudo:") and r["reporter_phone"].startswith("pseudo:") for r in rows)
    assert {r["description"] for r in rows} == {"[masqué]"}
    rows, error = run_sql(users["analyste"], "SELECT reporter_name FROM curated.mart_citizen_reports")
    assert rows is None and "curated.mart_citizen_reports" in error


def test_steward_reads_clear_views(users, run_sql):
    rows, error = run_sql(users["referent"], "SELECT reporter_name FROM curated.mart_citizen_reports LIMIT 3")
    assert error is None and all(r["reporter_name"].startswith("Jean Dupont") for r in rows)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "ATTACH '/tmp/hv-attack.duckdb' AS attack",
        "ATTACH ':memory:' AS attack",
        "COPY (SELECT 1) TO '/tmp/hv-attack.csv'",
        "DELETE FROM masked.mart_citizen_reports",
        "SET enable_external_access = true",
        "SELECT * FROM 'data.parquet'",
    ],
)
def test_sql_lab_sandbox_blocks_files_attach_and_writes(users, admin, run_sql, sql):
    for client in (users["analyste"], admin):
        rows, error = run_sql(client, sql)
        assert rows is None, f"{client.username} : {sql} a réussi"


def test_duckdb_lockdown_holds_below_superset(superset_instance):
    """Second layer: a connection opened through superset_config's hook cannot read files."""
    inst = superset_instance
    script = (
        "import sqlalchemy as sa, superset_config as c\n"
        f"e = sa.create_engine('duckdb:///{inst.settings.serving_db}', connect_args={{'read_only': True}})\n"
        "with e.connect() as con:\n"
        "    assert con.execute(sa.text('SELECT count(*) FROM masked.mart_water_night_flow')).scalar() == 84\n"
        "    for sql in [\"SELECT * FROM read_csv('/etc/passwd')\", \"ATTACH '/tmp/hv-x.duckdb' AS x\",\n"
        "                'SET enable_external_access = true', \"COPY (SELECT 1) TO '/tmp/hv-x.csv'\"]:\n"
        "        try:\n"
        "            con.execute(sa.text(sql)); print('NOT BLOCKED', sql)\n"
        "        except Exception:\n"
        "            pass\n"
        "rw = sa.create_engine('duckdb:///:memory:')\n"
        "try:\n"
        "    rw.connect(); print('RW ACCEPTED')\n"
        "except Exception:\n"
        "    pass\n"
    )
    proc = subprocess.run(
        [str(inst.bin("python")), "-c", script],
        cwd=str(service.CONFIG.parent),
        env=inst.child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "NOT BLOCKED" not in proc.stdout and "RW ACCEPTED" not in proc.stdout, proc.stdout


def test_rls_holds_in_sql_lab(users, admin, run_sql):
    sql = "SELECT service, count(*) AS n FROM masked.mart_citizen_reports GROUP BY service"
    rows, error = run_sql(users["agent_eau"], sql)
    assert error is None and rows == [{"service": "eau", "n": 40}]
    rows, _ = run_sql(admin, sql)
    assert sum(r["n"] for r in rows) == 240
    rows, error = run_sql(users["agent_eau"], "SELECT count(*) FROM masked.mart_traffic_hourly")
    assert rows is None and "mart_traffic_hourly" in error


def test_download_row_limit_for_non_admin_roles(superset_instance, users, admin, run_sql):
    # read from the instance: `from conftest import …` picks another folder's conftest when several run together
    export_row_limit = int(superset_instance.env["HYPERVISEUR_SUPERSET_EXPORT_ROW_LIMIT"])
    sql = "SELECT * FROM masked.mart_air_quality_hourly"
    rows, error = run_sql(users["analyste"], sql, limit=5000)
    assert error is None and len(rows) == export_row_limit < 5000
    rows, _ = run_sql(admin, sql, limit=5000)
    assert len(rows) == 5000


def test_query_log_is_harvested_into_the_audit_log(superset_instance, users, admin, run_sql):
    from lakehouse.audit import AuditLog
    from lakehouse.platform import Lakehouse

    marker = "SELECT 4242 AS marqueur_audit"
    rows, error = run_sql(users["analyste"], marker)
    assert error is None
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(superset_instance.settings.data_dir)})
    assert harvest_queries(lh, admin) >= 1
    records = [r for r in AuditLog(lh).records() if r.get("event_type") == "superset.query"]
    mine = [r for r in records if "4242" in (r["payload"]["sql"] or "")]
    assert mine and mine[0]["actor"] == "analyste" and mine[0]["payload"]["status"] == "success"
    assert mine[0]["payload"]["start_time"]
    assert harvest_queries(lh, admin) == 0
    assert AuditLog(lh).verify().ok


def test_committed_assets_match_the_dashboard_spec():
    on_disk = {str(p.relative_to(ASSETS)): p.read_text(encoding="utf-8") for p in ASSETS.rglob("*.yaml")}
    assert on_disk == rendered_assets(), "superset/assets est périmé : lancer « hyperviseur superset bundle »"
