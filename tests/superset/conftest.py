"""One real Superset per test session, from .venv-superset, on a test port and a temp data dir,
signing on through a real identity provider (infra/sso/idp.py: LemonLDAP::NG + OpenLDAP on
free loopback ports, in a temp run dir): the role users are the provider's demo accounts.

Nothing is installed here: the Makefile builds .venv-superset; without it the tests fail
with the command to run. The serving catalog is synthetic (``synthetic_marts``) with the
real mart names and columns, so the tests do not depend on the whole pipeline; it has the
layout of ``governance.serving`` (one catalog file per clearance, each Superset database
on one of them).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # browser.py
sys.path.insert(0, str(HERE.parent / "sso"))  # signon.py: the provider's script, as the sign-on tests load it

import synthetic_marts  # noqa: E402
from oidc_login import sign_on  # noqa: E402
from signon import idp  # noqa: E402

from superset import service  # noqa: E402
from superset.bundle import DATABASES  # noqa: E402
from superset.client import SupersetApiError, SupersetClient  # noqa: E402
from superset.provision import admin_client, provision  # noqa: E402

EXPORT_ROW_LIMIT = 500
SUPERSET_PORT = os.environ.get("HYPERVISEUR_TEST_SUPERSET_PORT", "18088")
# the API tests' role users: their login at the provider (demo accounts of infra/sso/idp.py)
USERS = {"agent_eau": "agent.eau", "analyste": "analyste", "referent": "referent"}


@pytest.fixture(scope="session")
def sso_provider(tmp_path_factory):
    """The identity provider, with Superset's callback on the test port registered."""
    run_dir = tmp_path_factory.mktemp("superset-sso")
    callback = f"http://127.0.0.1:{SUPERSET_PORT}/oauth-authorized/hyperviseur"
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(idp.CLIENTS, "superset", {**idp.CLIENTS["superset"], "redirect_uris": [callback]})
        state = idp.start(run_dir, port=0, ldap_port=0)
    try:
        accounts = json.loads((run_dir / "accounts.json").read_text())
        yield {**state, "run_dir": run_dir, "users": accounts["users"], "ldap_manager": accounts["ldap"]}
    finally:
        idp.stop(run_dir)


@pytest.fixture(scope="session")
def superset_instance(tmp_path_factory, sso_provider):
    venv = service.ROOT / ".venv-superset"
    if not (venv / "bin" / "superset").exists():
        pytest.fail(f"{venv} absent : construire l'environnement Superset avec « make superset-venv »")
    data = tmp_path_factory.mktemp("superset-data")
    synthetic_marts.build(data / "lake", data / "serving")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERVISEUR_") or k.startswith("HYPERVISEUR_TEST_")}
    env.update(
        {
            "HYPERVISEUR_DATA_DIR": str(data),
            "HYPERVISEUR_SUPERSET_PORT": SUPERSET_PORT,
            "HYPERVISEUR_SUPERSET_EXPORT_ROW_LIMIT": str(EXPORT_ROW_LIMIT),
            "HYPERVISEUR_SUPERSET_WORKERS": "2",
            "HYPERVISEUR_SSO_RUN_DIR": str(sso_provider["run_dir"]),
        }
    )
    inst = service.Instance.from_env(env)
    service.start(inst, wait=180)
    try:
        yield inst
    finally:
        service.stop(inst)


MANIFEST = {
    "nodes": {
        "model.hyperviseur.mart_water_night_flow": {
            "resource_type": "model",
            "name": "mart_water_night_flow",
            "description": "Débit minimum de nuit par secteur et par nuit.",
            "columns": {"min_night_flow_m3h": {"description": "Débit minimum entre 2 h et 4 h (m³/h)"}},
            "config": {"meta": {}},
        },
        "test.hyperviseur.not_null_mart_water_night_flow_sector_id": {
            "resource_type": "test",
            "name": "not_null",
            "depends_on": {"nodes": ["model.hyperviseur.mart_water_night_flow"]},
        },
    }
}


@pytest.fixture(scope="session")
def manifest(superset_instance) -> Path:
    """A small dbt manifest: one documented, tested mart (certified), the others undocumented."""
    path = superset_instance.settings.data_dir / "manifest.json"
    path.write_text(json.dumps(MANIFEST, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def provisioned(superset_instance, manifest):
    return provision(superset_instance, manifest=manifest)


@pytest.fixture(scope="session")
def admin(superset_instance, provisioned) -> SupersetClient:
    return admin_client(superset_instance)


@pytest.fixture(scope="session")
def users(superset_instance, admin, sso_provider) -> dict[str, SupersetClient]:
    """The role users, signed on through the provider (roles from their directory groups)."""
    return {
        name: SupersetClient(
            superset_instance.url, sign_on(superset_instance.url, sso_provider["users"][uid], uid), uid
        )
        for name, uid in USERS.items()
    }


@pytest.fixture(scope="session")
def database_ids(admin) -> dict[str, int]:
    """``{clearance: Superset database id}`` (public, masked, clear)."""
    return {c: admin.find("/api/v1/database/", "database_name", name)["id"] for c, name in DATABASES.items()}


@pytest.fixture(scope="session")
def database_id(database_ids) -> int:
    return database_ids["masked"]


SCHEMAS = {"public": "public", "masked": "masked", "clear": "curated"}


@pytest.fixture(scope="session")
def run_sql(database_ids):
    """Run SQL in SQL Lab as a client on one database (clearance); returns (rows, None) or (None, error text)."""

    def run(client: SupersetClient, sql: str, limit: int = 1000, schema: str | None = None, database: str = "masked"):
        try:
            body = client.post(
                "/api/v1/sqllab/execute/",
                {
                    "database_id": database_ids[database],
                    "sql": sql,
                    "schema": schema or SCHEMAS[database],
                    "runAsync": False,
                    "queryLimit": limit,
                    "client_id": secrets.token_hex(5),
                },
            )
        except SupersetApiError as exc:
            return None, str(exc)
        if body.get("status") != "success":
            return None, str(body)
        return body["data"], None

    return run


@pytest.fixture(scope="session")
def table_request(admin):
    """A table chart's data request on a dataset by name, as the frontend sends it."""

    def body(dataset: str, columns: list[str], row_limit: int, metrics: list[dict] | None = None) -> dict:
        query = {
            "columns": columns,
            "metrics": metrics or [],
            "filters": [],
            "extras": {"having": "", "where": ""},
            "row_limit": row_limit,
            "orderby": [[columns[0], True]],
            "time_range": "No filter",
        }
        return {
            "datasource": {"id": admin.find("/api/v1/dataset/", "table_name", dataset)["id"], "type": "table"},
            "queries": [query],
            "form_data": {"viz_type": "table"},
            "result_format": "json",
            "result_type": "full",
        }

    return body
