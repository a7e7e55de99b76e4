"""The broker stops in the middle of the stream and comes back: the consumer says why it lost the
connection, reconnects with its backoff, resumes without duplicates and loses no row; the outage is in
the audit log and the chain verifies."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from ingestion.demo.publisher import publish_stream
from ingestion.stream.clock import SimulatedClock
from ingestion.stream.consumer import RECONNECT_MAX_S, ConsumerConfig, StreamConsumer
from lakehouse.audit import AuditLog, ensure_audit_key
from tests.stream.conftest import keyed_lake

pytestmark = pytest.mark.mqtt
N, EVERY = 6000, 50  # messages; one in EVERY is hostile (a time in the future)
T0 = datetime(2026, 3, 10, tzinfo=UTC)
OUTAGE_S = 3.0


def _messages():
    for i in range(N):
        ts = T0 + timedelta(minutes=i // 12) + (timedelta(days=400) if i % EVERY == 0 else timedelta(0))
        body = {"ts": ts.isoformat(), "sector_id": f"SEC{i % 12:02d}", "flow_m3h": 10 + i % 7}
        yield 0, f"city/water/WM{i % 12:02d}A", json.dumps(body).encode()


def test_broker_stop_and_restart_mid_stream_loses_nothing_and_duplicates_nothing(own_mosquitto, tmp_path, caplog):
    lake = keyed_lake(tmp_path / "data", own_mosquitto.env)
    ensure_audit_key(lake.settings)
    audit = AuditLog(lake)
    now = SimulatedClock(T0 + timedelta(days=1))
    consumer = StreamConsumer(lake, ConsumerConfig(client_id="fault", batch_size=500, clock=now, audit=audit))
    runner = threading.Thread(target=lambda: consumer.run(idle_exit_s=8, max_seconds=150))
    caplog.set_level(logging.INFO, logger="ingestion.stream.consumer")
    runner.start()
    assert consumer.subscribed.wait(15)

    def outage():
        while consumer.stats.messages < N // 3:
            time.sleep(0.01)
        own_mosquitto.stop()
        time.sleep(OUTAGE_S)
        own_mosquitto.start()

    breaker = threading.Thread(target=outage)
    breaker.start()
    sent = publish_stream(_messages(), client_id="fault-pub", mqtt_settings=lake.settings.mqtt)
    breaker.join(60)
    runner.join(160)
    assert sent == N and not runner.is_alive()

    logs = [r.getMessage() for r in caplog.records]
    assert any(f":{own_mosquitto.port} perdue — connexion coupée" in m and "broker arrêté" in m for m in logs), logs
    assert any(m.startswith("reconnecté au broker MQTT") for m in logs), logs
    stats = consumer.stats
    assert stats.reconnects == 1 and len(stats.outages_s) == 1
    assert OUTAGE_S <= stats.outages_s[0] <= OUTAGE_S + RECONNECT_MAX_S + 2, stats.outages_s

    hostile = len(range(0, N, EVERY))
    counts = stats.report.datasets["iot.water_flow"]
    con = lake.duckdb()
    raw, distinct = con.execute(
        f"SELECT count(*), count(DISTINCT (meter_id, observed_at)) "
        f"FROM read_parquet('{lake.lake.dataset_glob('raw', 'iot', 'water_flow')}')"
    ).fetchone()
    quarantined = con.execute(
        f"SELECT count(*) FROM read_parquet('{lake.lake.dataset_glob('quarantine', 'iot', 'water_flow')}')"
    ).fetchone()[0]
    assert (raw, distinct, quarantined) == (N - hostile, N - hostile, hostile)  # 0 lost, 0 duplicated
    assert counts.rows_in == stats.messages == counts.rows_raw + counts.rows_quarantined + counts.duplicates
    assert counts.balanced

    outages = [r for r in audit.records() if r["event_type"] == "stream.broker_outage"]
    assert len(outages) == 1 and outages[0]["payload"]["broker"].endswith(f":{own_mosquitto.port}")
    assert "broker arrêté" in outages[0]["payload"]["cause"]
    assert audit.verify().ok
    print(  # figures for the report
        f"\npubliés {sent}, reçus {stats.messages} (redélivrés {stats.redelivered}), brut {counts.rows_raw}, "
        f"quarantaine {counts.rows_quarantined}, doublons écartés {counts.duplicates}, coupure {stats.outages_s[0]} s"
    )
