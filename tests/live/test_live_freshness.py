"""The live freshness path end to end: on a lake the demo graph has built (as `make run` leaves
it), readings published now on the broker and landed by the stream consumer are in the hourly
marts after one run of the job the demo's live schedule triggers."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime

import pytest
from live_services import wait_for

from ingestion.demo.model import DemoModel
from ingestion.demo.publisher import model_messages, publish_stream
from ingestion.demo.territory import build_territory
from lakehouse.settings import MqttSettings

pytestmark = pytest.mark.mqtt
HOURS = 2  # of readings up to now, every air station and road segment
PAST_END = "2026-03-15T00:00:00+00:00"  # the graph's backfill: long before the readings published now


def test_schedule_job_puts_just_published_readings_in_the_hourly_marts(live_env, tmp_path, monkeypatch):
    from dagster import DagsterInstance

    from ingestion.stream.consumer import ConsumerConfig, StreamConsumer
    from lakehouse.encryption import ensure_key_file
    from lakehouse.lake import Lake
    from lakehouse.platform import Lakehouse
    from orchestration.cli.run import run_demo_graph
    from orchestration.demo.definitions import defs
    from quality.suites import MARTS

    for key in [k for k in os.environ if k.startswith("HYPERVISEUR_")]:
        monkeypatch.delenv(key)
    for key, value in live_env.items():
        if key.startswith("HYPERVISEUR_"):
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)  # no `.env` of the repository
    lh = Lakehouse.from_env()
    ensure_key_file(lh.settings)
    (tmp_path / "dagster").mkdir()
    instance = DagsterInstance.local_temp(str(tmp_path / "dagster"))
    built = run_demo_graph(lh, instance=instance, days=2, scale=0.1, end=PAST_END)
    assert set(MARTS) <= set(built.mart_rows), built.step_failures  # two days: some checks block later steps

    now = int(time.time())
    root = lh.settings.mqtt.topic_root
    model = DemoModel(build_territory(), 42, now - 2 * 86400, now, 1.0, [])
    messages = [
        m for m in model_messages(model, now - HOURS * 3600, now, root) if m[1].split("/")[-2] in ("air", "traffic")
    ]
    consumer = StreamConsumer(lh, ConsumerConfig(client_id=f"hv-fraicheur-{now}"))
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        assert consumer.subscribed.wait(30), "consommateur non abonné"
        sent = publish_stream(messages, mqtt_settings=MqttSettings.from_env(live_env))
        wait_for(lambda: consumer.stats.messages >= sent, "messages reçus par le consommateur", 120)
    finally:
        consumer.stop()
        thread.join(60)
    assert sent == len(messages) and consumer.stats.rows_quarantined == 0

    schedule = defs.get_repository_def().get_schedule_def("marts_horaires_en_direct")
    job = defs.resolve_job_def(schedule.job_name)
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    failures = [e.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert result.success, failures

    published = {}  # (segment, hour) -> vehicles, from the payloads sent
    for ts, topic, payload in messages:
        if topic.split("/")[-2] == "traffic":
            key = (topic.split("/")[-1], ts - ts % 3600)
            published[key] = published.get(key, 0) + json.loads(payload)["vehicle_count"]
    con = lh.duckdb()
    rows = con.execute(
        f"SELECT segment_id, epoch(hour_start)::BIGINT, vehicle_count "
        f"FROM read_parquet('{lh.storage.uri(Lake.curated_key('mart_traffic_hourly'))}') WHERE hour_start > ?",
        [datetime.fromisoformat(PAST_END)],
    ).fetchall()
    assert {(s, h): v for s, h, v in rows} == published
    air = con.execute(
        f"SELECT count(*), max(hour_start) FROM read_parquet('{lh.storage.uri(Lake.curated_key('mart_air_quality_hourly'))}')"
    ).fetchone()
    assert air[0] > 0 and air[1] >= datetime.fromtimestamp(now - now % 3600 - 3600, UTC)
