"""An agent's upload waits for a steward, then becomes a generated staging model, built and served
(issue 16). Real lake, real dbt, real serving catalogs; the workspace application in process with
the gateway's headers (tests/superset/test_agent_upload.py follows it on to Superset in Chromium).
"""

from __future__ import annotations

import re
import warnings

import pytest
from click.testing import CliRunner
from workspace_fixtures import STEWARD_HEADERS as STEWARD

from governance.serving import catalog_views
from lakehouse.audit import AuditLog, ensure_audit_key
from lakehouse.lake import Lake
from lakehouse.platform import Lakehouse
from lakehouse.web_identity import Identity
from orchestration.cli import cli
from tests.ports import free_ports
from workspace import depot_publish, staging_model, upload
from workspace.app import create_app
from workspace.catalog import UPLOAD_TO_VALIDATE, Catalog

with warnings.catch_warnings():  # Starlette's test client prefers httpx2 to the pinned httpx it still works with
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

HOST = "127.0.0.1:8100"
AGENT = Identity("agent.eau", "Camille Lefebvre", ("Agent_eau",), 2, "1764520000")
# a meter's readings, French decimals and dates: nothing personal, nothing for the scanner to propose
READINGS = "Date du relevé;Volume (m3);Compteur\n" + "".join(
    f"0{d}/03/2026;{100 + d},{d}5;C-{d:03d}\n" for d in range(1, 10)
)
# the same with the person who read each meter: a proposal for the steward
READERS = "Date du relevé;Volume (m3);Releveur;Courriel\n" + "".join(
    f"0{d}/03/2026;{100 + d},5;Jeanne Martin;jeanne.martin{d}@exemple.fr\n" for d in range(1, 10)
)


@pytest.fixture(scope="module")
def lh(tmp_path_factory):
    base = tmp_path_factory.mktemp("publication")
    values = {
        "HYPERVISEUR_DATA_DIR": str(base / "data"),
        "HYPERVISEUR_MASKING_KEY": "cle-de-test-hors-depot",
        # no Superset for this platform: a port nothing answers on, not the default one where a
        # `make run` of the same machine may be serving its own
        "HYPERVISEUR_SUPERSET_PORT": str(free_ports(1)[0]),
    }
    with pytest.MonkeyPatch.context() as mp:  # the CLI reads the same lake from the environment
        for k, v in values.items():
            mp.setenv(k, v)
        lake = Lakehouse.from_env(values)
        ensure_audit_key(lake.settings)
        yield lake


@pytest.fixture(scope="module")
def client(lh):
    with TestClient(create_app(lh, HOST), base_url=f"http://{HOST}", follow_redirects=False) as c:
        yield c


def _upload(lh, tmp_path, name: str, text: str) -> upload.Outcome:
    path = tmp_path / f"{name}.csv"
    path.write_text(text, encoding="utf-8")
    with open(path, "rb") as f:
        staged = upload.stage(lh, AGENT, path.name, f)
    types = {c.name: c.type for c in staged.schema.columns}
    return upload.confirm(lh, AGENT, staged.token, name, "eau", types, "test")


def test_an_upload_without_proposal_waits_then_is_published_on_acceptance(lh, client, tmp_path):
    outcome = _upload(lh, tmp_path, "releves_compteurs", READINGS)
    dataset = outcome.dataset
    assert outcome.pending == [] and outcome.balanced
    queue = client.get("/revue", headers=STEWARD).text
    row = re.search(rf'<tr id="revue-{re.escape(dataset)}">.*?</tr>', queue, re.S)
    assert row and UPLOAD_TO_VALIDATE in row.group(0)
    with pytest.raises(depot_publish.PublicationFailed, match="attend encore la validation"):
        depot_publish.publish(lh, dataset, {"sub": "referent"})

    review = client.get(f"/revue/{dataset}", headers=STEWARD).text
    assert "Valider le dépôt" in review
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', review).group(1)
    done = client.post(
        f"/revue/{dataset}/accepter", headers={**STEWARD, "Origin": f"http://{HOST}"}, data={"csrf": csrf}
    )
    assert done.status_code == 303, done.text[-3000:]
    model = staging_model.model_name(dataset, "eau")
    page = client.get(done.headers["location"], headers=STEWARD).text
    assert f"modèle <code>{model}</code> (9 ligne(s))" in page and "Superset n'était pas démarré" in page
    assert f"revue-{dataset}" not in client.get("/revue", headers=STEWARD).text

    # built typed from the raw zone, served masked, its lineage back to the upload
    table = lh.lake.read_table(Lake.curated_key(model))
    assert table.num_rows == outcome.rows_raw == 9
    assert str(table.schema.field("volume_m3").type) == "double"
    assert str(table.schema.field("date_du_releve").type) == "date32[day]"
    views = catalog_views(lh.settings.serving_dir / "serving_masked.duckdb")
    assert f"masked.{model}" in views
    view = Catalog(lh).get(model)
    assert view.state.parents == [dataset] and view.owner == "eau"
    [record] = [r for r in AuditLog(lh).records() if r["event_type"] == depot_publish.AUDIT_EVENT]
    assert record["actor"] == "referent" and record["payload"]["identity"]["interface"] == "espace de travail"


def test_personal_columns_wait_for_the_steward_and_the_cli_publishes_the_same_way(lh, client, tmp_path):
    outcome = _upload(lh, tmp_path, "releveurs", READERS)
    dataset = outcome.dataset
    assert "courriel" in outcome.pending
    queue = client.get("/revue", headers=STEWARD).text
    row = re.search(rf'<tr id="revue-{re.escape(dataset)}">.*?</tr>', queue, re.S).group(0)
    assert "courriel" in row and UPLOAD_TO_VALIDATE not in row

    r = CliRunner().invoke(cli, ["govern", "accept", dataset, "--par", "Marie Curie"])
    assert r.exit_code == 0, r.output
    model = staging_model.model_name(dataset, "eau")
    assert f"publié : modèle {model} (9 lignes)" in r.output.replace("\n", " "), r.output
    # the accepted tags travel to the model: its e-mail column is pseudonymised in the masked catalog
    con = lh.duckdb(str(lh.settings.serving_dir / "serving_masked.duckdb"), read_only=True)
    try:
        emails = [v for (v,) in con.execute(f"SELECT courriel FROM masked.{model}").fetchall()]
    finally:
        con.close()
    assert len(emails) == 9 and not any("@exemple.fr" in (e or "") for e in emails), emails


@pytest.mark.parametrize(
    ("dataset", "service"),
    [("depots.x; drop table y", "eau"), ("citizen.reports", "eau"), ("depots.releves", "eau__voirie")],
)
def test_only_an_upload_with_plain_names_gets_a_model(dataset, service):
    with pytest.raises(Exception, match="pas un dépôt d'agent publiable"):
        staging_model.model_name(dataset, service)
