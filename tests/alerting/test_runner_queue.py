"""The MQTT runner over a real Mosquitto: reception is decoupled from evaluation, a full inbox applies
back-pressure instead of dropping, and every series is evaluated in the order it was published."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest

from alerting.engine import Engine
from alerting.runner import MqttRunner
from ingestion.stream.clock import SimulatedClock
from ingestion.stream.inbox import Inbox

pytestmark = pytest.mark.mqtt
T0 = datetime(2026, 3, 2, tzinfo=UTC)


def test_inbox_blocks_when_full_and_keeps_order():
    inbox = Inbox(maxsize=3)
    for i in range(3):
        inbox.put(i)
    producer = threading.Thread(target=lambda: [inbox.put(i) for i in range(3, 10)])
    producer.start()
    time.sleep(0.2)
    assert producer.is_alive() and len(inbox) == 3, "une file pleine doit faire attendre, pas grossir ni perdre"
    got = []
    while len(got) < 10:
        got += inbox.take(2, timeout=1)
    producer.join(2)
    assert got == list(range(10))
    assert inbox.stats["full_waits"] >= 1 and inbox.stats["peak"] == 3


def test_no_message_lost_and_order_per_series_under_back_pressure(mqtt_broker, mqtt_lh):
    lh = mqtt_lh
    root = f"test-{uuid.uuid4().hex[:8]}"
    engine = Engine(lh, root=root, channels=False, persist=False, clock=SimulatedClock(T0 + timedelta(hours=5)))
    seen: dict[str, list[int]] = {}

    def slow_observer(eng, decisions):  # a slow evaluation, so the tiny inbox fills up
        ev = eng.last_event
        seen.setdefault(ev.entity_id, []).append(ev.data["seq"])
        time.sleep(0.0005)

    runner = MqttRunner(engine, observer=slow_observer, queue_size=5, batch=2).start()  # address, account: settings
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    lh.settings.mqtt.configure(pub)
    pub.max_inflight_messages_set(100)
    pub.max_queued_messages_set(0)
    pub.connect(mqtt_broker["host"], mqtt_broker["port"])
    pub.loop_start()
    n_series, per_series = 6, 250
    try:
        infos = []
        for i in range(per_series):
            for s in range(n_series):
                body = {"ts": (T0 + timedelta(minutes=i)).isoformat(), "occupancy_pct": 10.0, "seq": i}
                infos.append(pub.publish(f"{root}/traffic/SEG{s + 1:03d}", json.dumps(body), qos=1))
        for info in infos:
            info.wait_for_publish(30)
        deadline = time.time() + 60
        while engine.stats["messages"] < n_series * per_series and time.time() < deadline:
            time.sleep(0.05)
    finally:
        pub.loop_stop()
        pub.disconnect()
        runner.stop()
    assert engine.stats["messages"] == n_series * per_series and runner.stats["errors"] == 0
    assert seen == {f"SEG{s + 1:03d}": list(range(per_series)) for s in range(n_series)}
    assert runner.stats["full_waits"] > 0 and runner.stats["peak"] <= 5, runner.stats
    assert 0 <= runner.stats["internal_p50_ms"] <= runner.stats["internal_p99_ms"]  # reception → decision, measured
