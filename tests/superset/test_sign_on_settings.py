"""Where Superset finds its identity provider, and that it refuses to start without one
(issue 14): no fall-back to the password database."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from superset import service


def _instance(tmp_path, **env) -> service.Instance:
    return service.Instance.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path), **env})


def test_explicit_settings_win_and_the_secret_may_be_a_file(tmp_path):
    secret = tmp_path / "client-secret"
    secret.write_text("s3cret\n")
    inst = _instance(
        tmp_path,
        HYPERVISEUR_SSO_ISSUER="https://sso.example",
        HYPERVISEUR_SUPERSET_OIDC_CLIENT_ID="tableaux",
        HYPERVISEUR_SUPERSET_OIDC_CLIENT_SECRET_FILE=str(secret),
    )
    assert inst.sign_on == {"issuer": "https://sso.example", "client_id": "tableaux", "client_secret": "s3cret"}
    env = inst.child_env()
    assert env["HYPERVISEUR_SUPERSET_OIDC_CLIENT_SECRET"] == "s3cret"
    assert env["HYPERVISEUR_SUPERSET_ADMIN_USER"] == service.ADMIN_USER


def test_local_provider_run_dir(tmp_path):
    run = tmp_path / "sso"
    run.mkdir()
    (run / "state.json").write_text(json.dumps({"issuer": "http://127.0.0.1:8070"}))
    (run / "accounts.json").write_text(json.dumps({"clients": {"superset": {"client_secret": "abc"}}}))
    inst = _instance(tmp_path, HYPERVISEUR_SSO_RUN_DIR=str(run))
    assert inst.sign_on == {"issuer": "http://127.0.0.1:8070", "client_id": "superset", "client_secret": "abc"}
    with pytest.raises(service.SupersetError, match="fournisseur d'identité local illisible"):
        _ = _instance(tmp_path, HYPERVISEUR_SSO_RUN_DIR=str(tmp_path / "absent")).sign_on


def test_no_provider_no_superset(tmp_path):
    with pytest.raises(service.SupersetError, match="authentification unique de Superset non configurée"):
        _instance(tmp_path, HYPERVISEUR_SSO_ISSUER="https://sso.example").child_env()


def test_superset_config_refuses_to_load_without_the_client_secret(tmp_path):
    """Production loads superset_config.py without service.py (Helm): it fails closed itself."""
    python = service.ROOT / ".venv-superset" / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERVISEUR_")}
    env.update(HYPERVISEUR_SUPERSET_SECRET_KEY="x", HYPERVISEUR_SSO_ISSUER="https://sso.example")
    proc = subprocess.run(
        [str(python), "-c", f"import runpy; runpy.run_path({str(service.CONFIG)!r})"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "le secret du client OpenID Connect de Superset absent" in proc.stderr
