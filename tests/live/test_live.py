"""The live control tower (issue 17) with its real services: the alert engine as a long-lived
process with a persistent MQTT session, the live simulator and its on-demand incidents, the
health endpoints, and the operators' page updated in Chromium by server-sent events."""

from __future__ import annotations

import json
import random
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from live_services import HYPERVISEUR, ROOT, Service, readyz, wait_for

from ingestion.demo.model import DAY, DemoModel
from ingestion.demo.publisher import model_messages, publish_stream
from ingestion.demo.territory import build_territory
from lakehouse.settings import MqttSettings
from orchestration.demo.live import make_incident

pytestmark = pytest.mark.mqtt
SECTOR = "SEC03"


def mqtt_of(env: dict) -> MqttSettings:
    return MqttSettings.from_env(env)


def leak_messages(root: str, now: float) -> list[tuple[int, str, bytes]]:
    """Eight days of the water meters of SECTOR up to now, leaking for the last two nights:
    enough normal nights of both kinds (week, weekend) for the baseline, one leaking night closed."""
    territory = build_territory()
    start = int(now) - 9 * DAY
    leak = make_incident(
        territory, "fuite", SECTOR, datetime.fromtimestamp(now, UTC) - timedelta(days=2), random.Random(3)
    )
    model = DemoModel(territory, 42, start, int(now), 1.0, [leak])
    meters = {m.meter_id for m in territory.water_meters if m.sector_id == SECTOR}
    return [
        m
        for m in model_messages(model, int(now) - 8 * DAY, int(now), root)
        if m[1].split("/")[-2] == "water" and m[1].split("/")[-1] in meters
    ]


def test_health_endpoints_and_persistent_session(engine_service, live_env):
    """healthz/readyz answer; what is published while the engine is down is processed when it is back."""
    engine_service.start()
    with urllib.request.urlopen(f"http://127.0.0.1:{engine_service.health_port}/healthz", timeout=5) as r:
        assert r.status == 200 and json.loads(r.read())["service"] == "moteur d'alertes"
    status, body = readyz(engine_service.health_port)
    assert status == 200 and body["pret"] is True and "retard_s" in body and "file_attente" in body

    engine_service.stop()  # the broker keeps the session and queues for it
    assert readyz(engine_service.health_port) == (0, {})
    root = live_env["HYPERVISEUR_MQTT_TOPIC_ROOT"]
    sent = publish_stream(leak_messages(root, time.time())[-200:], mqtt_settings=mqtt_of(live_env))
    engine_service.start()
    body = wait_for(
        lambda: (b := engine_service.ready()) and b["messages"] >= sent and b,
        "messages publiés pendant l'arrêt traités au retour",
        60,
        engine_service.log,
    )
    assert body["messages"] == sent


def test_demo_incident_injects(live_env, tmp_path):
    """`hyperviseur demo incident embouteillage SEG001` reaches the running simulator, whose
    readings of that segment then show the jam."""
    import paho.mqtt.client as mqtt

    from tests.ports import free_ports

    (port,) = free_ports(1)
    env = {**live_env, "HYPERVISEUR_SIMULATOR_HEALTH_PORT": str(port)}
    root = env["HYPERVISEUR_MQTT_TOPIC_ROOT"]
    simulator = Service(
        ["demo", "simuler", "--echelle", "300", "--pas", "0.5", "--intervalle-incidents", "0", "--rattrapage", "0"],
        env,
        tmp_path / "simulator.log",
        port,
    )
    readings: list[dict] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"hv-test-obs-{port}")
    mqtt_of(env).configure(client)
    client.on_message = lambda c, u, msg: readings.append(json.loads(msg.payload))
    client.connect("127.0.0.1", int(env["HYPERVISEUR_MQTT_PORT"]))
    client.subscribe(f"{root}/traffic/SEG001", qos=1)
    client.loop_start()
    try:
        simulator.start()
        unknown = subprocess.run(
            [str(HYPERVISEUR), "demo", "incident", "fuite", "SEC99"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert unknown.returncode != 0 and "secteur d'eau « SEC99 » inconnu" in unknown.stderr
        done = subprocess.run(
            [str(HYPERVISEUR), "demo", "incident", "embouteillage", "SEG001"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "injecté" in done.stdout
        injected = simulator.ready()["incidents_injectes"]
        assert [(i["genre"], i["entite"], i["origine"]) for i in injected] == [
            ("embouteillage", "SEG001", "à la demande")
        ]
        wait_for(lambda: any(r["occupancy_pct"] > 60 for r in readings), "mesures d'embouteillage publiées", 60)
    finally:
        client.loop_stop()
        client.disconnect()
        simulator.stop()


def test_demo_location_keeps_hourly_marts_fresh_production_never_simulates():
    import dagster as dg

    from orchestration.definitions import defs as production
    from orchestration.demo.definitions import defs as demo

    schedule = demo.get_repository_def().get_schedule_def("marts_horaires_en_direct")
    assert schedule.job_name == "marts_horaires" and schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert all(
        s.default_status == dg.DefaultScheduleStatus.STOPPED for s in production.get_repository_def().schedule_defs
    )
    manifests = "".join(p.read_text() for p in (ROOT / "infra" / "k8s").rglob("*.yaml"))
    assert "args: [demo" not in manifests and "simuler" not in manifests  # Kubernetes never simulates


def test_consumer_health_and_status_command(live_env, tmp_path):
    """The stream consumer's /readyz while it runs; `hyperviseur status` shows it with its lag, in French."""
    import threading

    from ingestion.stream.consumer import ConsumerConfig, StreamConsumer
    from lakehouse.encryption import ensure_key_file
    from lakehouse.platform import Lakehouse
    from tests.ports import free_ports

    lh = Lakehouse.from_env(live_env)
    ensure_key_file(lh.settings)
    (port,) = free_ports(1)
    consumer = StreamConsumer(lh, ConsumerConfig(client_id=f"hv-test-{port}", health_port=port))
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        body = wait_for(lambda: (r := readyz(port))[0] == 200 and r[1], "consommateur prêt", 30)
        assert body["service"] == "consommateur MQTT" and body["file_attente"] == 0 and "retard_s" in body
        env = {**live_env, "HYPERVISEUR_STREAM_HEALTH_PORT": str(port), "HYPERVISEUR_RUN_DIR": str(tmp_path / "run")}
        out = subprocess.run([str(HYPERVISEUR), "status"], cwd=ROOT, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        for text in ("Services", "Moteur d'alertes", "Fraîcheur des marts", "mart_air_quality_hourly", "incident(s)"):
            assert text in out.stdout
        line = next(x for x in out.stdout.splitlines() if "Consommateur MQTT" in x)
        assert "prêt" in line and "retard 0 s" in line
    finally:
        consumer.stop()
        thread.join(30)
    assert readyz(port) == (0, {})
