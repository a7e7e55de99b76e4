"""An agent's file becomes a chart of their service in Superset once a steward accepts it (issue 16).

The session's real Superset and identity provider; the real workspace application (in process,
with the headers the sign-on gateway sets: tests/workspace drives the same pages through the real
gateway in Chromium). An agent of the water service uploads a real Paris export; it waits in the
stewards' queue; the steward accepts it; the consequences follow in the same request: a staging
model generated and built by dbt, the serving catalogs rebuilt, Superset provisioned. Then, in
Chromium, the starter chart renders for the water agent, signed on through the provider, and not
for the roads agent; the classification level shows on the Superset dataset.

Like ``test_real_marts.py``, the upload lives in the session Superset's own lake (its lockdown lets
it read nothing else) with a serving folder of its own; the synthetic catalogs are restored after.
"""

from __future__ import annotations

import re
import shutil
import time
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
import synthetic_marts
from browser import chromium
from oidc_login import browser_sign_on, sign_on

from lakehouse.audit import AuditLog, ensure_audit_key
from lakehouse.platform import Lakehouse
from lakehouse.web_identity import Identity
from superset import service
from superset.client import SupersetApiError, SupersetClient
from superset.provision import admin_client, provision
from superset.starter import chart_name
from tests.workspace.workspace_fixtures import STEWARD_HEADERS as STEWARD
from workspace import upload
from workspace.app import create_app
from workspace.catalog import UPLOAD_TO_VALIDATE

with warnings.catch_warnings():  # Starlette's test client prefers httpx2 to the pinned httpx it still works with
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = [pytest.mark.superset, pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "superset"
HOST = "127.0.0.1:8100"
BIKES = "data/real/paris_comptage_velo/comptage-velo-donnees-compteurs_sample.csv"
DATASET = "depots.comptages_velo"
MODEL = "stg_depots__eau__comptages_velo"
AGENT = Identity("agent.eau", "Camille Lefebvre", ("Agent_eau",), 2, "1764520000")
# what the page shows once the chart is drawn, or why it is not
CHART_STATE_JS = """() => ({
  drawn: document.querySelectorAll('.chart-container canvas').length,
  refused: /permission|access|accès|autoris/i.test(document.body.innerText),
})"""


@pytest.fixture(scope="module")
def stack(superset_instance, provisioned, manifest, tmp_path_factory):
    work = tmp_path_factory.mktemp("depot-superset")
    lh = Lakehouse.from_env(
        {
            "HYPERVISEUR_DATA_DIR": str(work / "data"),
            "HYPERVISEUR_LAKE_DIR": str(superset_instance.settings.lake_dir),
            "HYPERVISEUR_AUDIT_KEY_FILE": str(ensure_audit_key(superset_instance.settings)),
            "HYPERVISEUR_MASKING_KEY": "cle-de-test-hors-depot",
        }
    )
    target = service.Instance(
        replace(superset_instance.settings, serving_dir=lh.settings.serving_dir), superset_instance.env
    )
    admin = admin_client(superset_instance)
    known = {k: {r["id"] for r in admin.iterate(f"/api/v1/{k}/")} for k in ("chart", "dataset")}
    try:
        with TestClient(create_app(lh, HOST, superset=lambda: target), base_url=f"http://{HOST}") as client:
            yield {"lh": lh, "client": client, "superset": target, "admin": admin}
    finally:  # the other tests of the session read the synthetic catalogs, and only them
        data = superset_instance.settings.data_dir
        synthetic_marts.build(data / "lake", data / "serving")  # (it leaves the served zones writable)
        for folder in ("curated", "masked", "public"):  # nor does a later serving build find the upload
            shutil.rmtree(superset_instance.settings.lake_dir / folder / MODEL, ignore_errors=True)
        shutil.rmtree(superset_instance.settings.lake_dir / "raw" / "depots", ignore_errors=True)
        provision(superset_instance, manifest=manifest)
        for kind in ("chart", "dataset"):
            for row in admin.iterate(f"/api/v1/{kind}/"):
                if row["id"] not in known[kind]:
                    admin.delete(f"/api/v1/{kind}/{row['id']}")


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)


def _chart_state(page, deadline_s: float = 60) -> dict:
    deadline = time.monotonic() + deadline_s
    while True:
        state = page.evaluate(CHART_STATE_JS)
        if state["drawn"] or state["refused"] or time.monotonic() > deadline:
            return state
        time.sleep(0.5)


def test_accepted_upload_becomes_a_chart_of_the_agents_service_only(
    stack, fixtures_dir, sso_provider, superset_instance
):
    lh, client = stack["lh"], stack["client"]
    # the agent's file, typed as the agent confirmed it (the pages of this step: tests/workspace)
    bikes = fixtures_dir / BIKES
    with open(bikes, "rb") as f:
        staged = upload.stage(lh, AGENT, bikes.name, f)
    types = {c.name: c.type for c in staged.schema.columns} | {"identifiant_du_site_de_comptage": "text"}
    outcome = upload.confirm(lh, AGENT, staged.token, "comptages_velo", "eau", types, "test")
    assert outcome.balanced and outcome.rows_raw > 0

    # it waits for a steward, then the steward accepts it in the workspace
    queue = client.get("/revue", headers=STEWARD)
    assert f'id="revue-{DATASET}"' in queue.text
    review = client.get(f"/revue/{DATASET}", headers=STEWARD)
    assert "À valider" in review.text and "Superset" in review.text
    done = client.post(
        f"/revue/{DATASET}/accepter",
        headers={**STEWARD, "Origin": f"http://{HOST}"},
        data={"csrf": _csrf(review.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text[-3000:]
    page = client.get(done.headers["location"], headers=STEWARD).text
    assert f"modèle <code>{MODEL}</code> ({outcome.rows_raw} ligne(s))" in page, page[-3000:]
    chart_url = re.search(r'<a href="([^"]+)">Graphique de départ dans Superset', page).group(1)
    assert f'id="revue-{DATASET}"' not in client.get("/revue", headers=STEWARD).text
    assert UPLOAD_TO_VALIDATE not in page

    [published] = [r for r in AuditLog(lh).records() if r["event_type"] == "depot.publication"]
    assert published["actor"] == "referent" and published["payload"]["model"] == MODEL
    generated = (lh.settings.generated_models_dir / f"{MODEL}.sql").read_text()
    assert "source('depots', 'comptages_velo')" in generated and "as timestamptz" in generated

    # Superset: the dataset with its level, the starter chart; the water agent reads it, the roads agent not
    admin = stack["admin"]
    dataset = admin.find("/api/v1/dataset/", "table_name", MODEL)
    detail = admin.get(f"/api/v1/dataset/{dataset['id']}")["result"]
    assert "Classification : Interne" in (detail["description"] or ""), detail["description"]
    chart = admin.find("/api/v1/chart/", "slice_name", chart_name(MODEL))
    assert chart_url.endswith(f"slice_id={chart['id']}")
    body = {
        "datasource": {"id": dataset["id"], "type": "table"},
        "queries": [{"columns": ["nom_du_compteur"], "metrics": ["count"], "row_limit": 100}],
        "result_format": "json",
        "result_type": "full",
    }
    users = sso_provider["users"]
    water = SupersetClient(
        superset_instance.url, sign_on(superset_instance.url, users["agent.eau"], "agent.eau"), "agent.eau"
    )
    rows = water.post("/api/v1/chart/data", body)["result"][0]["data"]
    assert sum(r["count"] for r in rows) == outcome.rows_raw
    roads = SupersetClient(
        superset_instance.url, sign_on(superset_instance.url, users["agent.voirie"], "agent.voirie"), "agent.voirie"
    )
    with pytest.raises(SupersetApiError):
        roads.post("/api/v1/chart/data", body)

    # in Chromium: drawn for the water agent, refused to the roads agent
    with chromium() as browser:
        for user, drawn in (("agent.eau", True), ("agent.voirie", False)):
            context = browser.new_context(locale="fr-FR", viewport={"width": 1400, "height": 900})
            try:
                view = context.new_page()
                browser_sign_on(view, superset_instance.url, sso_provider["issuer"], users[user], user)
                view.wait_for_url("**/superset/welcome/**", timeout=60_000, wait_until="commit")
                view.goto(chart_url)
                state = _chart_state(view)
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                view.screenshot(path=str(ARTIFACTS / f"depot-{user}.png"), full_page=True)
                assert bool(state["drawn"]) == drawn, (user, state)
                if not drawn:
                    assert state["refused"], state
            finally:
                context.close()
