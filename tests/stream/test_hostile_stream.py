"""Hostile messages over the real broker: each one becomes a quarantined record with its French reason, is
acknowledged, and the stream goes on; a full inbox drops QoS 0 messages visibly, never silently."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
from consumer_thread import run_in_thread

from ingestion.demo.publisher import publish_stream
from ingestion.stream.clock import SimulatedClock
from ingestion.stream.consumer import ConsumerConfig, StreamConsumer
from ingestion.stream.inbox import Inbox
from tests.stream.conftest import keyed_lake

NOW = SimulatedClock(datetime(2026, 3, 10, 12, tzinfo=UTC))
GOOD = '{"ts": "2026-03-10T09:%02d:00+01:00", "energy_kwh": 1.5, "period_s": 60}'
HOSTILE = {  # payload -> what the quarantine reason must say
    b'{"ts": "0001-01-01T00:00:00+01:00", "energy_kwh": 1}': "ts = « 0001-01-01T00:00:00+01:00 » hors des dates",
    b'{"ts": "2026-03-10T08:00:00Z", "energy_kwh": '
    + b"9" * 5000
    + b"}": "chiffres, au-delà des 4300 chiffres que Python convertit",
    b"[" * 100_000: "au-delà de la limite de 32 niveaux (HYPERVISEUR_MAX_NESTING_DEPTH)",
    b'{"ts": "2026-03-10T08:00:00Z", "energy_kwh": NaN}': "valeur « NaN » interdite en JSON",
    b'{"ts": "2026-03-10T08:00:00Z", "note": "' + b"x" * 300_000 + b'"}': "octets (HYPERVISEUR_MAX_MESSAGE_BYTES)",
    b'{"ts": "2026-03-10T08:00:00Z", "status": "\xff\xfe"}': "n'est pas en utf-8",
    b'{"ts": "2027-01-01T00:00:00Z", "energy_kwh": 1}': "ts = 2027-01-01T00:00:00Z postérieur à la borne",
    b'{"ts": "2025-01-01T00:00:00Z", "energy_kwh": 1}': "ts = 2025-01-01T00:00:00Z plus ancien que la borne",
}


@pytest.mark.mqtt
def test_each_hostile_message_is_quarantined_with_its_reason_acknowledged_and_the_stream_goes_on(mqtt_lake):
    root = f"h{uuid.uuid4().hex[:8]}"
    config = ConsumerConfig(topic_root=root, client_id=f"hostile-{root}", clock=NOW)
    consumer = StreamConsumer(mqtt_lake, config)
    runner = run_in_thread(consumer, idle_exit_s=2, max_seconds=60)
    msgs = [GOOD % 0] + list(HOSTILE) + [GOOD % 1]
    stream = ((0, f"{root}/energy/BAT01", m.encode() if isinstance(m, str) else m) for m in msgs)
    publish_stream(stream, mqtt_settings=mqtt_lake.settings.mqtt)
    runner.join(70)
    assert not runner.is_alive()
    stats = consumer.stats
    assert (stats.messages, stats.rows_raw, stats.messages_quarantined, stats.acked) == (10, 2, 8, 10)

    glob = mqtt_lake.lake.dataset_glob("quarantine", "iot", "building_energy")
    con = mqtt_lake.duckdb()
    rows = con.execute(f"SELECT _row, _error, length(payload) FROM read_parquet('{glob}') ORDER BY _row").fetchall()
    reasons = [json.loads(e)["errors"][0]["message"] for _, e, _ in rows]
    for expected, reason in zip(HOSTILE.values(), reasons, strict=True):
        assert expected in reason, reason
    assert max(n for *_, n in rows) <= mqtt_lake.settings.limits.max_cell_chars + 200  # a huge payload is truncated

    again = StreamConsumer(mqtt_lake, config)  # every message was acknowledged: nothing comes back
    run_in_thread(again, idle_exit_s=1.5, max_seconds=20).join(30)
    assert again.stats.messages == 0


def test_full_inbox_drops_qos0_with_a_count_and_a_french_log_but_waits_for_qos1(caplog):
    inbox = Inbox(2, "file de test")
    with caplog.at_level(logging.WARNING, logger="ingestion.stream.inbox"):
        assert inbox.put("a", 0) and inbox.put("b", 1)
        assert inbox.put("c", 0) is False and inbox.put("d", 0) is False
    assert inbox.stats["dropped"] == 2 and len(inbox) == 2
    assert [r.getMessage() for r in caplog.records] == [
        "file de test pleine (2 messages, HYPERVISEUR_QUEUE_MAX_MESSAGES) : message QoS 0 abandonné "
        "(1 abandon(s) depuis le démarrage)"
    ]  # one line per LOG_EVERY_S, with the running count
    waiting = threading.Thread(target=inbox.put, args=("e", 1))
    waiting.start()
    waiting.join(0.3)
    assert waiting.is_alive(), "QoS 1 : une file pleine fait attendre, elle ne perd rien"
    assert inbox.take(10, 1) == ["a", "b"]
    waiting.join(2)
    assert inbox.take(10, 1) == ["e"] and inbox.stats["dropped"] == 2


@pytest.mark.mqtt
def test_qos0_flood_on_a_tiny_inbox_loses_nothing_silently(mqtt_broker, tmp_path):
    root = f"f{uuid.uuid4().hex[:8]}"
    lake = keyed_lake(tmp_path / "data", {**mqtt_broker["env"], "HYPERVISEUR_QUEUE_MAX_MESSAGES": "3"})
    consumer = StreamConsumer(
        lake, ConsumerConfig(topic_root=root, client_id=f"flood-{root}", batch_size=50, clock=NOW)
    )
    runner = run_in_thread(consumer, idle_exit_s=2, max_seconds=60)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    lake.settings.mqtt.configure(pub)
    pub.connect(mqtt_broker["host"], mqtt_broker["port"])
    pub.loop_start()
    n = 3000
    try:
        for i in range(n):
            body = {"ts": f"2026-03-10T{8 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z", "energy_kwh": 1.0}
            pub.publish(f"{root}/energy/B{i % 7}", json.dumps(body), qos=0)
        time.sleep(0.5)
    finally:
        pub.loop_stop()
        pub.disconnect()
    runner.join(70)
    stats = consumer.stats
    assert stats.dropped > 0, "3 000 messages QoS 0 sur une file de 3 : des abandons attendus"
    assert stats.messages + stats.dropped == n and stats.rows_raw == stats.messages  # every message accounted for
