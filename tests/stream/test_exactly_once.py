"""10 000 QoS 1 messages land exactly once in the raw zone despite a broker restart."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from ingestion.demo.publisher import publish_stream
from ingestion.stream.clock import SimulatedClock
from ingestion.stream.consumer import ConsumerConfig, StreamConsumer
from tests.stream.conftest import keyed_lake

pytestmark = pytest.mark.mqtt
N = 10_000


def _messages(n: int):
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    for i in range(n):
        meter = f"WM{i % 12:02d}A"
        ts = t0 + timedelta(minutes=i // 12)
        body = {"ts": ts.isoformat(), "sector_id": f"SEC{i % 12:02d}", "flow_m3h": round(10 + i % 7 * 0.5, 2)}
        yield int(ts.timestamp()), f"city/water/{meter}", json.dumps(body).encode()


def test_10k_messages_exactly_once_across_broker_restart(own_mosquitto, tmp_path):
    local_lakehouse = keyed_lake(tmp_path / "data", own_mosquitto.env)  # broker address and account: the settings
    consumer = StreamConsumer(
        local_lakehouse,
        ConsumerConfig(
            client_id="exactly-once", batch_size=2000, clock=SimulatedClock(datetime(2026, 3, 2, tzinfo=UTC))
        ),
    )
    runner = threading.Thread(target=lambda: consumer.run(idle_exit_s=6, max_seconds=120))
    runner.start()
    assert consumer.subscribed.wait(15), "le consommateur ne s'est pas abonné"

    restarted = threading.Event()

    def restart_midway():
        while consumer.stats.messages < N // 3:
            time.sleep(0.01)
        own_mosquitto.restart()
        restarted.set()

    restarter = threading.Thread(target=restart_midway)
    restarter.start()
    sent = publish_stream(_messages(N), client_id="exactly-once-pub", mqtt_settings=local_lakehouse.settings.mqtt)
    restarter.join(30)
    runner.join(150)

    assert restarted.is_set() and sent == N
    assert consumer.stats.reconnects >= 1
    assert consumer.stats.messages > N  # the restart really caused redeliveries …
    con = local_lakehouse.duckdb()
    glob = local_lakehouse.lake.dataset_glob("raw", "iot", "water_flow")
    total, distinct = con.execute(
        f"SELECT count(*), count(DISTINCT (meter_id, observed_at)) FROM read_parquet('{glob}')"
    ).fetchone()
    assert (total, distinct) == (N, N)
    counts = consumer.stats.report.datasets["iot.water_flow"]
    assert counts.rows_raw == N and counts.rows_quarantined == 0 and counts.balanced
    assert counts.duplicates == consumer.stats.messages - N  # … and every one of them was dropped
