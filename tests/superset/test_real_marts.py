"""Every starter dashboard's charts answer on the REAL marts and the REAL serving catalog.

A small demo territory (3 days) goes through the repository's dbt project, the column scan,
the stewards' committed decisions and ``governance.serving.build_serving_catalog``; the
session's Superset is provisioned against those catalogs (same home and port, another
serving folder), every chart's data call is checked, then the synthetic catalogs are
restored.

The running Superset only lets each catalog read files under its own zone of ITS lake
(the lockdown of ``superset_config.py``), so the demo is built in that same lake: the real
marts replace the synthetic ones (same names) until the synthetic lake is rebuilt.
"""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
import synthetic_marts

from governance.classify import propagate, scan_all
from governance.decisions import decisions_dir
from governance.scan import ScanConfig
from governance.serving import build_serving_catalog
from ingestion.demo.simulator import simulate
from lakehouse.audit import ensure_audit_key
from lakehouse.encryption import ensure_key_file
from lakehouse.platform import Lakehouse
from quality.suites import MARTS
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
    lake = superset_instance.settings.lake_dir
    # same lake as the Superset instance, hence the same audit log and the same audit key
    audit_key = ensure_audit_key(superset_instance.settings)
    lh = Lakehouse.from_env(
        {
            "HYPERVISEUR_DATA_DIR": str(work / "data"),
            "HYPERVISEUR_LAKE_DIR": str(lake),
            "HYPERVISEUR_AUDIT_KEY_FILE": str(audit_key),
        }
    )
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
    settings = replace(superset_instance.settings, serving_dir=real_catalog["masked"].parent)
    real = service.Instance(settings, superset_instance.env)
    client = admin_client(superset_instance)
    known = {d["id"] for d in client.iterate("/api/v1/dataset/")}
    try:
        yield real, provision(real, manifest=manifest)
    finally:  # the other tests of the session read the synthetic catalogs, and only them
        data = superset_instance.settings.data_dir
        synthetic_marts.build(data / "lake", data / "serving")
        provision(superset_instance, manifest=manifest)  # charts back on the synthetic datasets
        for dataset in client.iterate("/api/v1/dataset/"):
            if dataset["id"] not in known:  # datasets of real marts the synthetic ones do not have
                client.delete(f"/api/v1/dataset/{dataset['id']}")


def test_every_chart_answers_on_the_real_serving_catalog(real_provisioned):
    inst, report = real_provisioned
    assert not report.skipped_dashboards
    assert set(report.dashboards) == {d["slug"] for d in load_spec()}
    client = admin_client(inst)
    ids = {d["table_name"]: d["id"] for d in client.iterate("/api/v1/dataset/") if d["schema"] == "masked"}
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
            if not result["result"][0]["data"] and not MARTS.get(chart["dataset"], {}).get("may_be_empty"):
                empty.append(where)  # a mart that may be empty (no leak on 3 days) shows none
    assert not failures, "\n".join(failures)
    assert not empty, f"graphiques vides sur les marts réels : {empty}"


def test_public_role_gets_the_marts_the_stewards_made_public(real_provisioned):
    """The Public role follows the real classification: dashboards on personal marts stay out."""
    _, report = real_provisioned
    public_dashboards = {slug for slug, roles in report.dashboards.items() if "Public" in roles}
    assert {"qualite-air", "fuites-eau", "eclairage"} <= public_dashboards
    assert not public_dashboards & {"signalements", "incidents"}
