"""Every starter dashboard's charts answer on the REAL marts and the REAL serving catalog.

A small demo territory (3 days) goes through the repository's dbt project, the column scan,
the stewards' committed decisions and ``governance.serving.build_serving_catalog``; the
session's Superset is provisioned against that catalog (same home and port, another
serving file), every chart's data call is checked, then the synthetic catalog is restored.

The running Superset only lets DuckDB read under its own lake's ``curated/`` zone (the
lockdown of ``superset_config.py``), so the demo's lake is a folder inside that zone.
"""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from governance.classify import propagate, scan_all
from governance.decisions import decisions_dir
from governance.scan import ScanConfig
from governance.serving import build_serving_catalog
from ingestion.demo.simulator import simulate
from lakehouse.encryption import ensure_key_file
from lakehouse.platform import Lakehouse
from superset import service
from superset.bundle import chart_query_context, load_spec
from superset.client import SupersetApiError
from superset.provision import admin_client, provision
from tests.models.demo_build import dbt_build

pytestmark = pytest.mark.superset

DECISIONS = service.ROOT / "data" / "governance" / "decisions"


@pytest.fixture(scope="module")
def real_catalog(superset_instance, tmp_path_factory):
    """Serving catalog of a 3-day demo built by the real chain (marts, classification, masking)."""
    work = tmp_path_factory.mktemp("real-marts")
    lake = superset_instance.settings.data_dir / "lake" / "curated" / "demo_reelle"
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(work / "data"), "HYPERVISEUR_LAKE_DIR": str(lake)})
    shutil.copytree(DECISIONS, decisions_dir(lh))
    ensure_key_file(lh.settings)  # as `hyperviseur demo run` does: citizen reports are written encrypted
    simulate(lh, days=3, scale=0.25, seed=42, files=False)
    proc = dbt_build(lh, work, "--exclude", "resource_type:test")
    assert proc.returncode == 0, proc.stdout[-4000:]
    scan_all(lh, ScanConfig(sample_size=200), actor="test")
    propagate(lh)
    return build_serving_catalog(lh)


@pytest.fixture(scope="module")
def real_provisioned(superset_instance, provisioned, manifest, real_catalog):
    settings = replace(superset_instance.settings, serving_db=real_catalog)
    real = service.Instance(settings, superset_instance.env)
    try:
        yield real, provision(real, manifest=manifest)
    finally:  # the other tests of the session read the synthetic catalog
        provision(superset_instance, manifest=manifest)


def test_every_chart_answers_on_the_real_serving_catalog(real_provisioned):
    inst, report = real_provisioned
    assert not report.skipped_dashboards
    assert set(report.dashboards) == {d["slug"] for d in load_spec()}
    client = admin_client(inst)
    ids = {d["table_name"]: d["id"] for d in client.iterate("/api/v1/dataset/")}
    failures, empty = [], []
    for dashboard in load_spec():
        for chart in dashboard["charts"]:
            where = f"{dashboard['slug']} / {chart['name']}"
            try:
                result = client.post(
                    "/api/v1/chart/data", chart_query_context(chart, ids[chart["dataset"]], force=True)
                )
            except SupersetApiError as exc:
                failures.append(f"{where} : {exc}")
                continue
            if not result["result"][0]["data"]:
                empty.append(where)
    assert not failures, "\n".join(failures)
    assert not empty, f"graphiques vides sur les marts réels : {empty}"


def test_public_role_gets_the_marts_the_stewards_made_public(real_provisioned):
    """The Public role follows the real classification: dashboards on personal marts stay out."""
    _, report = real_provisioned
    public_dashboards = {slug for slug, roles in report.dashboards.items() if "Public" in roles}
    assert {"qualite-air", "fuites-eau", "eclairage"} <= public_dashboards
    assert not public_dashboards & {"signalements", "incidents"}
