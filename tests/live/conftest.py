"""Fixtures of the live control tower tests: the long-lived services as real subprocesses
(``hyperviseur alerts engine``, ``hyperviseur demo simuler``) on the test Mosquitto, each on its
own topic root and data folder, with their health listeners on free loopback ports."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
for folder in (TESTS, TESTS / "sso"):  # shared helpers: browser.py, signon.py (sign-on scripts)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from live_services import Service  # noqa: E402

from tests.ports import free_ports  # noqa: E402


@pytest.fixture
def live_env(tmp_path, mqtt_broker) -> dict:
    """A data folder with its audit key, the test broker, a topic root of its own."""
    from lakehouse.audit import ensure_audit_key
    from lakehouse.settings import Settings

    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERVISEUR_")}
    env.update(mqtt_broker["env"])
    env["HYPERVISEUR_DATA_DIR"] = str(tmp_path / "data")
    env["HYPERVISEUR_MQTT_TOPIC_ROOT"] = f"live-{uuid.uuid4().hex[:8]}"
    ensure_audit_key(Settings.from_env(env, dotenv=False))
    return env


@pytest.fixture
def engine_service(live_env, tmp_path):
    """The alert engine as a long-lived service with a persistent session (fixed client id)."""
    (port,) = free_ports(1)
    argv = ["alerts", "engine", "--id-client", f"hv-test-{uuid.uuid4().hex[:8]}", "--port-sante", str(port)]
    service = Service(argv, live_env, tmp_path / "engine.log", port)
    yield service
    service.stop()
