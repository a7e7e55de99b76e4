"""Provisioning, roles, masking, sandbox, RLS and audit against a real Superset."""

from __future__ import annotations

import json
import subprocess

import pytest

from superset import service
from superset.bundle import ASSETS, DATABASES, rendered_assets
from superset.harvest import harvest_queries

pytestmark = pytest.mark.superset

WATER = {"mart_water_night_flow", "mart_water_leak_candidates"}
SHARED = {"mart_citizen_reports", "mart_citizen_reports_daily", "mart_incident_timeline"}
MARTS, PUBLIC_MARTS = 14, 10  # synthetic marts; all but NOT_PUBLIC are PUBLIC


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
    assert {name for _id, name in before["databases"]} == set(DATABASES.values())
    schemas = [schema for _id, _name, schema in before["datasets"]]
    assert schemas.count("masked") == schemas.count("curated") == MARTS and schemas.count("public") == PUBLIC_MARTS
    assert len(before["dashboards"]) == 7
    assert len(before["charts"]) == len([k for k in rendered_assets() if k.startswith("charts/")])
    again = provision(superset_instance, manifest=manifest)
    assert _snapshot(admin) == before
    assert again.dashboards == provisioned.dashboards


def test_datasets_carry_dbt_descriptions_and_certification(admin):
    rows = {d["table_name"]: d["id"] for d in admin.iterate("/api/v1/dataset/") if d["schema"] == "masked"}
    water = admin.get(f"/api/v1/dataset/{rows['mart_water_night_flow']}")["result"]
    assert water["description"] == "Débit minimum de nuit par secteur et par nuit."
    column = next(c for c in water["columns"] if c["column_name"] == "min_night_flow_m3h")
    assert column["description"] == "Débit minimum entre 2 h et 4 h (m³/h)"
    assert json.loads(water["extra"])["certification"]["certified_by"]
    traffic = admin.get(f"/api/v1/dataset/{rows['mart_traffic_hourly']}")["result"]
    assert not (traffic["extra"] and "certification" in json.loads(traffic["extra"]))


def test_agent_eau_sees_only_water_datasets_and_dashboards(users):
    agent = users["agent_eau"]
    rows = list(agent.iterate("/api/v1/dataset/"))
    assert {d["table_name"].removesuffix("__public") for d in rows} == WATER | SHARED
    assert {d["schema"] for d in rows} == {"masked", "public"}  # never the clear database
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
    assert rows is None and "mart_citizen_reports" in error
    rows, error = run_sql(
        users["analyste"], "SELECT count(*) AS n FROM public.mart_air_quality_hourly", database="public"
    )
    assert error is None and rows[0]["n"] > 0
    for sql in ("SELECT reporter_name FROM curated.mart_citizen_reports", "SELECT 1 AS un"):
        rows, error = run_sql(users["analyste"], sql, database="clear")
        assert rows is None, "l'analyste atteint la base claire"


def test_steward_reads_clear_views(users, run_sql):
    rows, error = run_sql(
        users["referent"], "SELECT reporter_name FROM curated.mart_citizen_reports LIMIT 3", database="clear"
    )
    assert error is None and all(r["reporter_name"].startswith("Jean Dupont") for r in rows)


def _data_permissions(admin, role: str) -> set[tuple[str, str]]:
    role_id = admin.find("/api/v1/security/roles/", "name", role)["id"]
    rows = admin.get(f"/api/v1/security/roles/{role_id}/permissions/")["result"]
    kinds = ("datasource_access", "schema_access", "database_access", "all_datasource_access", "all_database_access")
    return {(r["permission_name"], r["view_menu_name"]) for r in rows if r["permission_name"] in kinds}


@pytest.mark.parametrize(
    "role, databases",
    [
        ("Public", {"public"}),
        ("Agent_eau", {"public", "masked"}),
        ("Analyst", {"public", "masked"}),
        ("Steward", {"public", "masked", "clear"}),
    ],
)
def test_roles_get_only_the_databases_of_their_clearance(admin, role, databases):
    perms = _data_permissions(admin, role)
    assert perms
    reached = {c for c, name in DATABASES.items() for _p, view in perms if view.startswith(f"[{name}]")}
    assert reached == databases, perms
    assert not [p for p, _v in perms if p in ("database_access", "all_datasource_access", "all_database_access")]


def test_steward_clear_grants_follow_the_clear_catalog(superset_instance, admin):
    """The Steward gets a clear dataset only for marts the clear catalog holds (up to CONFIDENTIEL)."""
    import duckdb

    con = duckdb.connect(str(superset_instance.settings.serving_dir / "serving_clear.duckdb"), read_only=True)
    clear = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    con.close()
    perms = _data_permissions(admin, "Steward")
    granted = {
        v.split("].[", 1)[1].split("]", 1)[0].removesuffix("__clair")
        for p, v in perms
        if p == "datasource_access" and v.startswith(f"[{DATABASES['clear']}]")
    }
    assert granted <= clear


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
        "SUMMARIZE SELECT reporter_name FROM curated.mart_citizen_reports",
        "EXPLAIN ANALYZE COPY (SELECT * FROM masked.mart_citizen_reports) TO '{lake}/masked/mart_citizen_reports/data.parquet'",
        "EXPLAIN ANALYZE COPY (SELECT 1) TO '{lake}/curated/mart_citizen_reports/data.parquet'",
        "SELECT * FROM read_parquet('{lake}/curated/mart_citizen_reports/data.parquet')",
        "SELECT * FROM '{lake}/curated/mart_citizen_reports/data.parquet'",
        "ATTACH '{serving}/serving_clear.duckdb' AS clair",
    ],
)
def test_sql_lab_sandbox_blocks_files_attach_and_writes(superset_instance, users, admin, run_sql, sql):
    settings = superset_instance.settings
    sql = sql.format(lake=settings.lake_url, serving=settings.serving_dir)
    before = (settings.lake_dir / "masked" / "mart_citizen_reports" / "data.parquet").read_bytes()
    for client in (users["analyste"], admin):
        rows, error = run_sql(client, sql)
        assert rows is None, f"{client.username} : {sql} a réussi"
    assert (settings.lake_dir / "masked" / "mart_citizen_reports" / "data.parquet").read_bytes() == before


def test_duckdb_lockdown_holds_below_superset(superset_instance):
    """Second layer: a connection opened through superset_config's hook reads only its own files."""
    inst = superset_instance
    serving, lake = inst.settings.serving_dir, inst.settings.lake_url
    clear_file = f"{lake}/curated/mart_citizen_reports/data.parquet"
    script = (
        "import sqlalchemy as sa, superset_config as c\n"
        f"e = sa.create_engine('duckdb:///{serving}/serving_masked.duckdb', connect_args={{'read_only': True}})\n"
        "with e.connect() as con:\n"
        "    assert con.execute(sa.text('SELECT count(*) FROM masked.mart_water_night_flow')).scalar() == 84\n"
        "    for sql in [\"SELECT * FROM read_csv('/etc/passwd')\", \"ATTACH '/tmp/hv-x.duckdb' AS x\",\n"
        "                'SET enable_external_access = true', \"COPY (SELECT 1) TO '/tmp/hv-x.csv'\",\n"
        f"                \"SELECT * FROM read_parquet('{clear_file}')\", \"SELECT * FROM '{clear_file}'\",\n"
        f"                \"ATTACH '{serving}/serving_clear.duckdb' AS clair\",\n"
        f"                \"COPY (SELECT 1) TO '{lake}/masked/mart_water_night_flow/data.parquet'\",\n"
        f"                \"COPY (SELECT 1) TO '{lake}/masked/x.parquet'\",\n"
        f"                \"COPY (SELECT 1) TO '{lake}/public/mart_water_night_flow/data.parquet'\"]:\n"
        "        try:\n"
        "            con.execute(sa.text(sql)); print('NOT BLOCKED', sql)\n"
        "        except Exception:\n"
        "            pass\n"
        "for url in ['duckdb:///:memory:', 'duckdb:///" + str(inst.settings.data_dir) + "/autre.duckdb']:\n"
        "    try:\n"
        "        sa.create_engine(url).connect(); print('ACCEPTED', url)\n"
        "    except Exception:\n"
        "        pass\n"
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
    assert "NOT BLOCKED" not in proc.stdout and "ACCEPTED" not in proc.stdout, proc.stdout


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
    from lakehouse.audit import AuditLog, ensure_audit_key
    from lakehouse.platform import Lakehouse

    marker = "SELECT 4242 AS marqueur_audit"
    rows, error = run_sql(users["analyste"], marker)
    assert error is None
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(superset_instance.settings.data_dir)})
    ensure_audit_key(lh.settings)  # the audit log refuses appends without its key (as `demo run` creates it)
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
