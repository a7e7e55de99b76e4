"""Acceptance over a real Mosquitto: the simulator's 14-day replay raises each injected incident, ranked,
with its consequences, and nothing during the quiet baseline.

The days where the incidents begin travel through the broker to a running :class:`MqttRunner`; the
quiet days before them and the tail after them are fed to the same engine directly, in the same order
(python's MQTT client costs ~0.4 ms of CPU per message each way, and the transport's losslessness has
its own tests in ``tests/stream``). Nothing changes for the detectors: same messages, same order."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

import pytest

from alerting.engine import Engine
from alerting.evaluation import by_origin
from alerting.runner import MqttRunner
from ingestion.demo.incidents import baseline_end, to_json
from ingestion.demo.publisher import model_messages, publish_stream
from ingestion.demo.simulator import build_model
from ingestion.stream.clock import SimulatedClock

pytestmark = pytest.mark.mqtt
MQTT_DAYS = 3  # the days from the first incident's onset that travel through the broker


def _feed(engine, messages) -> int:
    with engine.lock:
        for _, topic, payload in messages:
            engine.process(topic, payload)
    return len(messages)


def test_demo_incidents_detected_and_quiet_baseline(mqtt_lh, channels_file):
    lh = mqtt_lh  # broker address and account come from the settings (HYPERVISEUR_MQTT_*)
    root = f"test-{uuid.uuid4().hex[:8]}"
    model = build_model()
    truth = to_json(model.incidents)
    first_onset = min(int(datetime.fromisoformat(t["start"]).timestamp()) for t in truth)
    over_mqtt = (first_onset - first_onset % 86400, first_onset - first_onset % 86400 + MQTT_DAYS * 86400)
    engine = Engine(lh, channels=channels_file, root=root, clock=SimulatedClock(model.end))  # the replay's "now"
    fed = _feed(engine, list(model_messages(model, model.start, over_mqtt[0], root)))
    # a persistent session: if a starved client's connection drops, the broker keeps what it queued for it
    runner = MqttRunner(engine, client_id=f"{root}-engine").start()
    try:
        sent = publish_stream(model_messages(model, *over_mqtt, root), mqtt_settings=lh.settings.mqtt)
        # wait while the engine keeps making progress (a loaded machine is slower, not wrong)
        seen, last_progress = -1, time.monotonic()
        # (a stall up to 2 min covers a keep-alive timeout and reconnection of a starved client)
        while engine.stats["messages"] < fed + sent and time.monotonic() - last_progress < 120:
            if engine.stats["messages"] != seen:
                seen, last_progress = engine.stats["messages"], time.monotonic()
            time.sleep(0.2)
    finally:
        runner.stop()
    assert sent > 30_000 and runner.inbox.stats["received"] >= sent, runner.stats
    fed += sent + _feed(engine, list(model_messages(model, over_mqtt[1], model.end, root)))
    assert engine.stats["messages"] == fed and engine.stats["rejected"] == engine.stats["out_of_window"] == 0

    scores = by_origin(engine.signals, truth)
    rules = scores["regle"]
    assert rules["recall"] == 1.0, rules["missed"]
    # weak signals stay weak-but-right: shared (weather, regional episode) deviations are not alarms
    anomalies = scores["anomalie"]
    assert anomalies["precision"] >= 0.6 and anomalies["true_detections"] >= 3, anomalies["false_detections"]
    quiet_until = baseline_end(*model.period).timestamp()
    early = [i.title for i in engine.manager.incidents.values() if i.opened_at < quiet_until]
    assert early == [], f"alertes pendant la période calme : {early}"

    incidents = engine.manager.open_incidents()
    assert [i.priority for i in incidents] == sorted((i.priority for i in incidents), reverse=True)
    leak = next(i for i in incidents if i.entity_id == next(t["entity_id"] for t in truth if t["kind"] == "leak"))
    assert leak.impact["consequences"] and leak.impact["population"] > 0
