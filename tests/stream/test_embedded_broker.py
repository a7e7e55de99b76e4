"""The demo's embedded broker keeps the persistent session of a named client across its restarts
(amqtt forgets anonymous sessions): what is published while the alert engine is away reaches it.
The broker `make run` starts (``hyperviseur demo broker`` through infra/local/services.py) checks
passwords: an anonymous client, an unknown user and a wrong password are refused."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt

from ingestion.stream.broker import EmbeddedBroker
from orchestration.demo.assets import free_port
from tests.stream.conftest import ROOT, connect_result

USERS = {"hyperviseur-engine": "secret-moteur", "hyperviseur-simulator": "secret-simulateur"}


def _subscriber(port: int, received: list, subscribed: threading.Event) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="hv-test-engine", clean_session=False)
    client.username_pw_set("hyperviseur-engine", USERS["hyperviseur-engine"])
    client.on_connect = lambda c, u, flags, rc, p: c.subscribe("city/#", qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda c, u, msg: received.append(msg.payload)
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert subscribed.wait(10)
    return client


def test_named_persistent_session_gets_what_was_published_while_away():
    port = free_port()
    received: list[bytes] = []
    with EmbeddedBroker(port=port, users=USERS):
        engine = _subscriber(port, received, threading.Event())
        engine.disconnect()
        engine.loop_stop()
        publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="hv-test-pub")
        publisher.username_pw_set("hyperviseur-simulator", USERS["hyperviseur-simulator"])
        publisher.connect("127.0.0.1", port)
        publisher.loop_start()
        for i in range(20):
            publisher.publish("city/water/WM01A", str(i).encode(), qos=1).wait_for_publish(10)
        publisher.disconnect()
        publisher.loop_stop()
        engine = _subscriber(port, received, threading.Event())
        deadline = time.monotonic() + 30
        while len(received) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        engine.disconnect()
        engine.loop_stop()
    assert sorted(int(p) for p in received) == list(range(20))


def test_demo_broker_of_make_run_refuses_anonymous_and_wrong_passwords(tmp_path):
    """The broker `make run` leaves up (services.py start demo-broker): only its live services'
    accounts with the generated password connect."""
    env = {**os.environ, "HYPERVISEUR_RUN_DIR": str(tmp_path), "HYPERVISEUR_DEMO_MQTT_PORT": str(free_port())}
    services = [sys.executable, str(ROOT / "infra" / "local" / "services.py")]
    started = subprocess.run([*services, "start", "demo-broker"], env=env, capture_output=True, text=True)
    try:
        assert started.returncode == 0, started.stderr + (tmp_path / "demo-broker.log").read_text()
        broker = {"host": "127.0.0.1", "port": int(env["HYPERVISEUR_DEMO_MQTT_PORT"])}
        password = (tmp_path / "demo-mqtt-password").read_text()
        assert (tmp_path / "demo-mqtt-password").stat().st_mode & 0o077 == 0
        assert connect_result(broker) != "Success"  # anonymous
        assert connect_result(broker, "hyperviseur-engine") != "Success"  # no password
        assert connect_result(broker, "hyperviseur-engine", password + "x") != "Success"
        assert connect_result(broker, "intrus", password) != "Success"  # not one of its accounts
        for service in ("stream", "engine", "simulator"):
            assert connect_result(broker, f"hyperviseur-{service}", password) == "Success"
    finally:
        subprocess.run([*services, "stop", "demo-broker"], env=env, check=True, capture_output=True)
