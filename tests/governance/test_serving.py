"""Serving DuckDB: masked views for roles without clearance, clear views for cleared roles."""

import duckdb
import pytest

from governance.classify import scan_dataset
from governance.policies import AccessDenied, check_access, schema_for
from governance.serving import build_serving_catalog
from lakehouse.platform import Lakehouse
from tests.conftest import s3_env
from tests.governance.conftest import write_marts


def _governed(lh):
    write_marts(lh, reports_rows=120)
    for m in ("mart_citizen_reports", "mart_air_quality_hourly", "mart_citizen_reports_daily"):
        scan_dataset(lh, m)
    return build_serving_catalog(lh)


def test_masked_views_for_uncleared_roles(gov_lake):
    path = _governed(gov_lake)
    con = gov_lake.duckdb(str(path), read_only=True)
    clear = con.execute(
        "SELECT reporter_email, reporter_name, description FROM curated.mart_citizen_reports ORDER BY report_id"
    ).fetchall()
    masked = con.execute(
        "SELECT reporter_email, reporter_name, description, lat FROM masked.mart_citizen_reports ORDER BY report_id"
    ).fetchall()
    assert len(clear) == len(masked) == 120
    assert all("@" in c[0] for c in clear)
    assert all(m[0].startswith("pseudo-") and "@" not in m[0] for m in masked)
    assert all(m[1].startswith("pseudo-") for m in masked)
    clear_names = {c[1] for c in clear}
    assert not any(n in m[2] for m in masked for n in clear_names if n)
    assert any("<PERSONNE>" in m[2] for m in masked) and any("<TÉLÉPHONE>" in m[2] for m in masked)
    assert all(m[3] is not None for m in masked)  # coordinates stay usable
    # same value, same pseudonym: counts by reporter still work
    assert con.execute("SELECT count(DISTINCT reporter_email) FROM masked.mart_citizen_reports").fetchone()[0] == 120
    public = {
        r[0]
        for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema='public'").fetchall()
    }
    assert public == {"mart_air_quality_hourly"}
    levels = dict(con.execute("SELECT model, level FROM governance.datasets").fetchall())
    assert levels["mart_citizen_reports_daily"] == "CONFIDENTIEL"  # lineage, until a steward declassifies
    con.close()
    # the key never reaches the serving file
    assert b"cle-de-test-hors-depot" not in path.read_bytes()


def test_roles_and_access_denials(gov_lake):
    assert schema_for("analyst", "CONFIDENTIEL") == "masked"
    assert schema_for("agent_eau", "INTERNE") == "curated"
    assert schema_for("steward", "CONFIDENTIEL") == "curated"
    assert schema_for("admin", "DIFFUSION_RESTREINTE") == "curated"
    assert schema_for("public", "PUBLIC") == "public"
    with pytest.raises(AccessDenied):
        check_access(gov_lake, "public", "mart_citizen_reports", "CONFIDENTIEL", "citoyen")
    from lakehouse.audit import AuditLog

    assert AuditLog(gov_lake).records()[-1]["event_type"] == "access.denied"


@pytest.mark.s3
def test_serving_on_s3_lake(s3_server, fresh_bucket, tmp_path, gov_env):
    lh = Lakehouse.from_env(s3_env(s3_server, tmp_path / "s3data", fresh_bucket))
    path = _governed(lh)
    con = lh.duckdb(str(path), read_only=True)
    email = con.execute("SELECT reporter_email FROM masked.mart_citizen_reports LIMIT 1").fetchone()[0]
    assert email.startswith("pseudo-")
    assert (
        "s3://"
        in con.execute(
            "SELECT sql FROM duckdb_views() WHERE view_name='mart_citizen_reports' AND schema_name='curated'"
        ).fetchone()[0]
    )
    con.close()
    plain = duckdb.connect(str(path), read_only=True)  # no secret: cannot read the lake
    with pytest.raises(duckdb.Error):
        plain.execute("SELECT count(*) FROM curated.mart_citizen_reports").fetchone()
    plain.close()
