"""Acceptance over a real Mosquitto: the simulator's 14-day replay raises each injected incident, ranked,
with its consequences, and nothing during the quiet baseline."""

from __future__ import annotations

import time
import uuid

import pytest

from alerting.engine import Engine
from alerting.evaluation import by_origin
from alerting.runner import MqttRunner
from ingestion.demo.incidents import baseline_end, to_json
from ingestion.demo.publisher import model_messages, publish_stream
from ingestion.demo.simulator import build_model
from ingestion.stream.clock import SimulatedClock

pytestmark = pytest.mark.mqtt


def test_demo_incidents_detected_and_quiet_baseline(mqtt_lh, channels_file):
    lh = mqtt_lh  # broker address and account come from the settings (HYPERVISEUR_MQTT_*)
    root = f"test-{uuid.uuid4().hex[:8]}"
    model = build_model()
    truth = to_json(model.incidents)
    engine = Engine(lh, channels=channels_file, root=root, clock=SimulatedClock(model.end))  # the replay's "now"
    runner = MqttRunner(engine).start()
    try:
        sent = publish_stream(model_messages(model, model.start, model.end, root), mqtt_settings=lh.settings.mqtt)
        # wait while the engine keeps making progress (a loaded machine is slower, not wrong)
        seen, last_progress = -1, time.monotonic()
        # (a stall up to 2 min covers a keep-alive timeout and reconnection of a starved client)
        while engine.stats["messages"] < sent and time.monotonic() - last_progress < 120:
            if engine.stats["messages"] != seen:
                seen, last_progress = engine.stats["messages"], time.monotonic()
            time.sleep(0.2)
    finally:
        runner.stop()
    assert engine.stats["messages"] == sent and engine.stats["rejected"] == engine.stats["out_of_window"] == 0

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
