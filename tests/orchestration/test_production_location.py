"""The production code location never simulates, replays or writes demo data.

A "Materialize all" of the production ``Definitions`` with an empty inbox must leave the
raw zone empty (no simulated row anywhere) and the alert engine's state untouched; the
demo lives in its own location, which the production module never imports.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
from dagster import AssetKey, DagsterInstance

from lakehouse.platform import Lakehouse
from orchestration.cli.run import run_graph

STATE_KEY = "_meta/alerts/state.json"
STATE = b'{"incidents": [], "owner": "moteur d\'alertes de production"}'


def _tree(root) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def production_run(tmp_path_factory):
    data = tmp_path_factory.mktemp("production") / "data"
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("HYPERVISEUR_") and not key.startswith("HYPERVISEUR_TEST_"):
                mp.delenv(key)
        mp.setenv("HYPERVISEUR_DATA_DIR", str(data))
        lh = Lakehouse.from_env()
        lh.storage.write_bytes(STATE_KEY, STATE)
        (data / "inbox").mkdir(parents=True)
        (data.parent / "dagster").mkdir()
        instance = DagsterInstance.local_temp(str(data.parent / "dagster"))
        environ = dict(os.environ)
        summary = run_graph(lh, ops_config={"ingestion_brute": {"config": {"files": []}}}, instance=instance)
        assert dict(os.environ) == environ  # dbt got its environment from the launcher, not from this process
        yield lh, summary


def test_materialize_all_with_an_empty_inbox_writes_no_simulated_row(production_run):
    lh, summary = production_run
    lake = lh.settings.lake_dir
    raw = lake / "raw"
    assert not raw.exists() or not any(p.is_file() for p in raw.rglob("*")), _tree(raw)
    assert not (lake / "_meta" / "demo").exists()
    assert not [k for k in summary.materialized if k.startswith("raw/")]
    assert "alerting/incidents" not in summary.materialized
    assert summary.success and not summary.step_failures  # nothing to ingest: the marts' steps are skipped


def test_alert_state_is_untouched(production_run):
    lh, _ = production_run
    assert lh.storage.read_bytes(STATE_KEY) == STATE


def test_production_definitions_hold_no_demo_asset():
    from orchestration.definitions import defs

    keys = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    assert "alerting/incidents" not in keys
    assert {"raw/iot/water_flow", "governance/classification", "opendata/portal"} <= keys


def test_production_module_never_imports_the_demo():
    code = (
        "import sys, orchestration.definitions; "
        "print(sorted(m for m in sys.modules if m.startswith(('ingestion.demo', 'orchestration.demo'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_demo_location_adds_the_simulation_and_the_alert_replay():
    from orchestration.demo.definitions import defs

    keys = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    assert "alerting/incidents" in keys
    raw = defs.resolve_assets_def(AssetKey(["raw", "iot", "water_flow"]))
    assert "simulé" in raw.op.description


def test_dbt_target_setting_reaches_dbt(tmp_path):
    """HYPERVISEUR_DBT_TARGET goes through the settings to the dbt process Dagster starts."""
    from orchestration.resources import DBT_PROJECT_DIR

    launcher = os.path.join(os.path.dirname(sys.executable), "hyperviseur-dbt")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERVISEUR_")}
    env.update(HYPERVISEUR_DATA_DIR=str(tmp_path / "data"), HYPERVISEUR_DBT_TARGET="trino")
    args = [launcher, "debug", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "HYPERVISEUR_DBT_TRINO_PASSWORD" in proc.stderr  # fails closed without it
    password = tmp_path / "trino-password"
    password.write_text("s3cret\n")
    env["HYPERVISEUR_DBT_TRINO_PASSWORD_FILE"] = str(password)
    proc = subprocess.run(args, env=env, capture_output=True, text=True, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "trino" in out  # reached dbt: the repo profile has no trino output
    assert "s3cret" not in out
    env["HYPERVISEUR_DBT_TARGET"] = "inconnue"
    proc = subprocess.run(args, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "HYPERVISEUR_DBT_TARGET" in proc.stderr
