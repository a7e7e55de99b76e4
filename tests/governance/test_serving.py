"""Serving catalogs: one DuckDB file per clearance, each over its own lake prefix only."""

import re
from dataclasses import replace

import duckdb
import pytest

from governance.classify import scan_dataset
from governance.policies import AccessDenied, catalogs_for, check_access, schema_for
from governance.serving import build_serving_catalog, catalog_views
from governance.state import Classifier
from lakehouse.lake import Lake
from lakehouse.platform import Lakehouse
from tests.conftest import s3_env
from tests.governance.conftest import write_marts

PARQUET = re.compile(r"read_parquet\('((?:[^']|'')*)'\)")
ZONE = {"public": "public", "masked": "masked", "clear": "curated"}


def _governed(lh, classifier=None):
    from lakehouse import audit

    if hasattr(audit, "ensure_audit_key"):  # the audit log fails closed without its key
        audit.ensure_audit_key(lh.settings)
    write_marts(lh, reports_rows=120)
    for m in ("mart_citizen_reports", "mart_air_quality_hourly", "mart_citizen_reports_daily"):
        scan_dataset(lh, m)
    return build_serving_catalog(lh, classifier=classifier)


def _tables(con, schema: str) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [schema]).fetchall()
    return {r[0] for r in rows}


def test_one_catalog_file_per_clearance(gov_lake):
    paths = _governed(gov_lake)
    assert set(paths) == {"public", "masked", "clear"}
    assert len({p.name for p in paths.values()}) == 3
    assert all(p.parent == gov_lake.settings.serving_dir for p in paths.values())
    masked = gov_lake.duckdb(str(paths["masked"]), read_only=True)
    clear = gov_lake.duckdb(str(paths["clear"]), read_only=True)
    rows_clear = clear.execute(
        "SELECT reporter_email, reporter_name, description FROM curated.mart_citizen_reports ORDER BY report_id"
    ).fetchall()
    rows_masked = masked.execute(
        "SELECT reporter_email, reporter_name, description, lat FROM masked.mart_citizen_reports ORDER BY report_id"
    ).fetchall()
    assert len(rows_clear) == len(rows_masked) == 120
    assert all("@" in c[0] for c in rows_clear)
    assert all(m[0].startswith("pseudo-") and "@" not in m[0] for m in rows_masked)
    assert all(m[1].startswith("pseudo-") for m in rows_masked)
    names = {c[1] for c in rows_clear}
    assert not any(n in m[2] for m in rows_masked for n in names if n)
    assert any("<PERSONNE>" in m[2] for m in rows_masked) and any("<TÉLÉPHONE>" in m[2] for m in rows_masked)
    assert all(m[3] is not None for m in rows_masked)  # coordinates stay usable
    assert masked.execute("SELECT count(DISTINCT reporter_email) FROM masked.mart_citizen_reports").fetchone()[0] == 120
    # no clear schema in the masked file, no masked or public schema in the clear file
    assert not _tables(masked, "curated") and not _tables(clear, "masked") and not _tables(clear, "public")
    levels = dict(masked.execute("SELECT model, level FROM governance.datasets").fetchall())
    assert levels["mart_citizen_reports_daily"] == "CONFIDENTIEL"  # lineage, until a steward declassifies
    masked.close()
    clear.close()
    public = gov_lake.duckdb(str(paths["public"]), read_only=True)
    assert _tables(public, "public") == {"mart_air_quality_hourly"}
    assert not _tables(public, "masked") and not _tables(public, "curated")
    public.close()
    for path in paths.values():  # the key never reaches a serving file
        assert b"cle-de-test-hors-depot" not in path.read_bytes()


def test_each_catalog_reads_only_its_own_prefix(gov_lake):
    paths = _governed(gov_lake)
    root = gov_lake.settings.lake_url.rstrip("/")
    for clearance, path in paths.items():
        views = catalog_views(path)
        assert views, clearance
        prefix = f"{root}/{ZONE[clearance]}/"
        for name, sql in views.items():
            files = [f.replace("''", "'") for f in PARQUET.findall(sql)]
            assert files, f"{clearance} {name} : {sql}"
            assert all(f.startswith(prefix) and "/../" not in f for f in files), f"{clearance} {name} : {files}"
        con = duckdb.connect(str(path), read_only=True)
        scope = [r[0] for r in con.execute("SELECT path FROM governance.scope").fetchall()]
        con.close()
        assert sorted(scope) == sorted({f for sql in views.values() for f in PARQUET.findall(sql)})
    # the masked copies left the clear zone; the public zone holds the PUBLIC mart only
    keys = [o.key for o in gov_lake.storage.list("")]
    assert not [k for k in keys if "__masked" in k]
    assert {k.split("/")[1] for k in keys if k.startswith("public/")} == {"mart_air_quality_hourly"}
    assert gov_lake.storage.exists(Lake.masked_key("mart_citizen_reports"))


def test_clear_catalog_stops_at_the_steward_level_and_stale_copies_go(gov_lake):
    _governed(gov_lake)
    assert gov_lake.storage.exists(Lake.public_key("mart_air_quality_hourly"))

    class Restricted(Classifier):
        """Citizen reports raised to DIFFUSION_RESTREINTE, air quality no longer PUBLIC."""

        def state(self, name, _stack=()):
            st = super().state(name, _stack)
            if name == "mart_citizen_reports":
                return replace(st, level="DIFFUSION_RESTREINTE")
            if name == "mart_air_quality_hourly":
                return replace(st, level="INTERNE")
            return st

    paths = build_serving_catalog(gov_lake, classifier=Restricted(gov_lake))
    clear = {k.split(".", 1)[1] for k in catalog_views(paths["clear"])}
    masked = {k.split(".", 1)[1] for k in catalog_views(paths["masked"])}
    assert "mart_citizen_reports" not in clear and "mart_citizen_reports" in masked
    assert not catalog_views(paths["public"])
    assert not gov_lake.storage.list("public/"), "copie publique périmée restée lisible"
    con = duckdb.connect(str(paths["clear"]), read_only=True)
    scope = [r[0] for r in con.execute("SELECT path FROM governance.scope").fetchall()]
    con.close()
    assert not any("mart_citizen_reports/" in d for d in scope)


def test_serving_zones_are_read_only_between_builds(gov_lake):
    paths = _governed(gov_lake)
    root = gov_lake.storage.root
    for zone in ("public", "masked"):
        for p in [root / zone, *(root / zone).rglob("*")]:
            assert not p.stat().st_mode & 0o222, p
    assert not paths["masked"].stat().st_mode & 0o222
    assert not paths["masked"].parent.stat().st_mode & 0o222
    _governed(gov_lake)  # the next build still swaps the files in


def test_roles_and_access_denials(gov_lake):
    from lakehouse import audit

    if hasattr(audit, "ensure_audit_key"):
        audit.ensure_audit_key(gov_lake.settings)
    assert catalogs_for("public") == ("public",)
    assert catalogs_for("analyst") == catalogs_for("agent_eau") == ("public", "masked")
    assert catalogs_for("steward") == ("public", "masked", "clear")
    assert schema_for("analyst", "CONFIDENTIEL") == "masked"
    assert schema_for("agent_eau", "INTERNE") == "masked"
    assert schema_for("agent_eau", "PUBLIC") == "public"
    assert schema_for("steward", "CONFIDENTIEL") == "curated"
    assert schema_for("steward", "DIFFUSION_RESTREINTE") == "masked"
    assert schema_for("admin", "DIFFUSION_RESTREINTE") == "masked"  # never served in clear
    assert schema_for("public", "PUBLIC") == "public"
    assert schema_for("public", "INTERNE") is None
    with pytest.raises(AccessDenied):
        check_access(gov_lake, "public", "mart_citizen_reports", "CONFIDENTIEL", "citoyen")
    from lakehouse.audit import AuditLog

    assert AuditLog(gov_lake).records()[-1]["event_type"] == "access.denied"


@pytest.mark.s3
def test_serving_on_s3_lake(s3_server, fresh_bucket, tmp_path, gov_env):
    lh = Lakehouse.from_env(s3_env(s3_server, tmp_path / "s3data", fresh_bucket))
    paths = _governed(lh)
    con = lh.duckdb(str(paths["masked"]), read_only=True)
    email = con.execute("SELECT reporter_email FROM masked.mart_citizen_reports LIMIT 1").fetchone()[0]
    assert email.startswith("pseudo-")
    con.close()
    for clearance, path in paths.items():
        for sql in catalog_views(path).values():
            assert f"s3://{fresh_bucket}/{ZONE[clearance]}/" in sql
    plain = duckdb.connect(str(paths["clear"]), read_only=True)  # no secret: cannot read the lake
    with pytest.raises(duckdb.Error):
        plain.execute("SELECT count(*) FROM curated.mart_citizen_reports").fetchone()
    plain.close()
