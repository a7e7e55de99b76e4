"""The workspace's browser tests reuse the sign-on tests' helpers (tests/sso/signon.py) and
prerequisites: a missing Debian package is a failure, never a skip.

``stack`` (module scope): a real identity provider (infra/sso/idp.py), the real gateway
(infra/sso/gateway.py ``--application workspace``: nginx + LemonLDAP::NG's handler) and the real
workspace (``python -m workspace``, a subprocess on a Unix socket in a private directory) over a
small governed lake: marts scanned by the real scanner, a dbt manifest, a quality result.
``steward``: the steward ``referent`` signed on with password + TOTP."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "sso"))
sys.path.insert(0, str(TESTS))
from browser import chromium  # noqa: E402
from signon import sign_on, socket_page  # noqa: E402
from workspace_fixtures import DATASET, manifest, write_marts  # noqa: E402

from governance.classify import scan_dataset  # noqa: E402
from governance.scan import ScanConfig  # noqa: E402
from lakehouse.audit import ensure_audit_key  # noqa: E402
from lakehouse.platform import Lakehouse  # noqa: E402
from quality.results import CheckOutcome, QualityResult  # noqa: E402
from quality.results import save as save_quality  # noqa: E402


def _sso_conftest():
    spec = importlib.util.spec_from_file_location("hv_sso_conftest", TESTS / "sso" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def sso_ready():
    """The Debian packages of infra/sso/install.sh (tests/sso/conftest.py's list)."""
    missing = _sso_conftest()._missing()
    if missing:
        pytest.fail(
            f"paquets de l'authentification unique absents ({', '.join(missing)}) : lancer infra/sso/install.sh"
        )


@pytest.fixture(scope="module")
def browser(sso_ready):
    with chromium() as b:
        yield b


def _quality(lh) -> None:
    outcomes = [
        CheckOutcome("valeurs_non_nulles:report_id", "blocking", True, "identifiant toujours renseigné"),
        CheckOutcome("valeurs_dans:status", "warning", False, "2 statut(s) hors de la liste attendue"),
    ]
    save_quality(lh, QualityResult.from_outcomes(DATASET, outcomes, rows=80))


@pytest.fixture(scope="module")
def stack(tmp_path_factory, sso_ready):
    base = tmp_path_factory.mktemp("workspace")
    data = base / "data"
    manifest_file = base / "manifest.json"
    manifest_file.write_text(json.dumps(manifest()))
    env_vars = {
        "HYPERVISEUR_DATA_DIR": str(data),
        "HYPERVISEUR_DBT_MANIFEST": str(manifest_file),
        "HYPERVISEUR_MASKING_KEY": "cle-de-test-hors-depot",
    }
    saved = {k: os.environ.get(k) for k in env_vars}
    os.environ.update(env_vars)  # the test's own Classifier reads the manifest from the environment
    lh = Lakehouse.from_env(env_vars)
    ensure_audit_key(lh.settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERVISEUR_")} | env_vars
    try:
        with socket_page(base, [sys.executable, "-m", "workspace"], env, "workspace") as page:
            # the lake, scanned while the workspace loads its own Presidio in the background
            write_marts(lh, reports_rows=80)
            scan_dataset(lh, DATASET, ScanConfig(sample_size=60))
            _quality(lh)
            yield page | {"lh": lh}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def steward(browser, stack):
    context, page = sign_on(browser, stack, "referent", "/revue", expect_totp=True)
    # the first review page may wait for the workspace's background load of Presidio (free-text samples)
    page.set_default_timeout(90_000)
    yield context, page
    context.close()
