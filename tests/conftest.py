"""Shared fixtures: real servers (SeaweedFS S3, Mosquitto) and lakehouses on both backends.

The servers are started by ``make test`` (``infra/local/services.py start all``); when a
test is run alone, the fixtures start them on first use through the same script.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from pathlib import Path

import pytest

from lakehouse.platform import Lakehouse

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


def _services():
    spec = importlib.util.spec_from_file_location("hv_services", ROOT / "infra" / "local" / "services.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


services = _services()


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """Test material copied into the repository (standards examples, real open data); see its README."""
    if not FIXTURES.is_dir():
        pytest.fail(f"dossier de données de test introuvable : {FIXTURES}")
    return FIXTURES


@pytest.fixture(scope="session")
def s3_server() -> dict:
    """A running S3 server; returns endpoint, keys and the test bucket."""
    services.RUN_DIR.mkdir(parents=True, exist_ok=True)
    services.start_s3()
    env = services.env_vars()
    return {
        "endpoint": env["HYPERVISEUR_TEST_S3_ENDPOINT"],
        "access_key": env["HYPERVISEUR_TEST_S3_ACCESS_KEY"],
        "secret_key": env["HYPERVISEUR_TEST_S3_SECRET_KEY"],
        "bucket": env["HYPERVISEUR_TEST_S3_BUCKET"],
    }


@pytest.fixture(scope="session")
def mqtt_broker() -> dict:
    """A running Mosquitto on loopback, with authentication; returns host, port, the test
    account (username, password) and ``env``: the HYPERVISEUR_MQTT_* settings to reach it."""
    services.RUN_DIR.mkdir(parents=True, exist_ok=True)
    services.start_mqtt()
    creds = services.mqtt_credentials()
    broker = {"host": services.HOST, "port": services.MQTT_PORT, **creds}
    broker["env"] = {
        "HYPERVISEUR_MQTT_HOST": broker["host"],
        "HYPERVISEUR_MQTT_PORT": str(broker["port"]),
        "HYPERVISEUR_MQTT_USERNAME": creds["username"],
        "HYPERVISEUR_MQTT_PASSWORD": creds["password"],
    }
    return broker


def s3_env(s3_server: dict, data_dir: Path, prefix_bucket: str | None = None) -> dict:
    return {
        "HYPERVISEUR_DATA_DIR": str(data_dir),
        "HYPERVISEUR_S3_ENDPOINT": s3_server["endpoint"],
        "HYPERVISEUR_S3_ACCESS_KEY": s3_server["access_key"],
        "HYPERVISEUR_S3_SECRET_KEY": s3_server["secret_key"],
        "HYPERVISEUR_S3_BUCKET": prefix_bucket or s3_server["bucket"],
    }


def temporary_bucket(s3_server: dict, prefix: str):
    """A new empty bucket on the test S3 server, emptied and removed when the generator ends."""
    from minio import Minio

    client = Minio(
        s3_server["endpoint"].split("://", 1)[1], s3_server["access_key"], s3_server["secret_key"], secure=False
    )
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    client.make_bucket(name)
    yield name
    for obj in client.list_objects(name, recursive=True):
        client.remove_object(name, obj.object_name)
    try:
        client.remove_bucket(name)
    except Exception:  # SeaweedFS may list emptied prefixes for a moment
        pass


@pytest.fixture
def fresh_bucket(s3_server):
    """A new empty bucket for one test, removed afterwards."""
    yield from temporary_bucket(s3_server, "t")


@pytest.fixture(params=["local", "s3"])
def lakehouse(request, tmp_path) -> Lakehouse:
    """A lakehouse on an empty lake, once per backend (local folder, real S3 server)."""
    if request.param == "s3":
        return request.getfixturevalue("s3_lakehouse")
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")})
    lh.storage.check()
    return lh


@pytest.fixture
def s3_lakehouse(s3_server, fresh_bucket, tmp_path) -> Lakehouse:
    """A lakehouse on an empty bucket of the real S3 server."""
    lh = Lakehouse.from_env(s3_env(s3_server, tmp_path / "data", fresh_bucket))
    lh.storage.check()
    return lh


@pytest.fixture
def local_lakehouse(tmp_path) -> Lakehouse:
    return Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")})


@pytest.fixture
def clean_env(monkeypatch):
    """Remove HYPERVISEUR_* variables of the caller's shell so tests see defaults."""
    for key in list(os.environ):
        if key.startswith("HYPERVISEUR_") and not key.startswith("HYPERVISEUR_TEST_") and key != "HYPERVISEUR_RUN_DIR":
            monkeypatch.delenv(key)
    return monkeypatch


@pytest.fixture(autouse=True)
def audit_key(request):
    """The platform's audit key for the test's data folder (``<tmp_path>/data``), as an
    operator or ``hyperviseur demo run`` creates it; tests marked ``sans_cle_audit`` get none."""
    if request.node.get_closest_marker("sans_cle_audit"):
        return None
    from lakehouse.audit import ensure_audit_key
    from lakehouse.settings import Settings

    data_dir = request.getfixturevalue("tmp_path") / "data"
    return ensure_audit_key(Settings.from_env({"HYPERVISEUR_DATA_DIR": str(data_dir)}))
