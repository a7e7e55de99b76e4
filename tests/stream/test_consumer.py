"""The MQTT consumer: quarantine with reasons, end-to-end on the embedded broker, restart without duplicates,
authentication on the test Mosquitto, and no consumption without the encryption key."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from consumer_thread import run_in_thread

from ingestion.demo.publisher import publish, publish_stream
from ingestion.stream.broker import EmbeddedBroker
from ingestion.stream.clock import SimulatedClock
from ingestion.stream.consumer import ConsumerConfig, StreamConsumer
from lakehouse.errors import SettingsError
from lakehouse.platform import Lakehouse
from lakehouse.settings import MqttSettings
from tests.ports import free_ports
from tests.stream.conftest import connect_result

MARCH_10 = SimulatedClock(datetime(2026, 3, 10, 12, tzinfo=UTC))  # the simulated "now" of these messages


@pytest.mark.mqtt
def test_invalid_messages_are_quarantined_with_topic_index_and_reason(mqtt_lake):
    root = f"t{uuid.uuid4().hex[:8]}"
    consumer = StreamConsumer(mqtt_lake, ConsumerConfig(topic_root=root, client_id=f"q-{root}", clock=MARCH_10))
    runner = run_in_thread(consumer, idle_exit_s=1.5, max_seconds=30)
    ts = "2026-03-10T08:00:00+01:00"
    msgs = [
        (
            f"{root}/traffic/SEG001",
            json.dumps(
                {"ts": ts, "vehicle_count": 120, "occupancy_pct": 20.5, "average_speed_kmh": 41, "period_s": 900}
            ),
        ),
        (f"{root}/traffic/SEG002", '{"ts": "2026-03-10T08:00:00+01:00", "vehicle_count": '),  # truncated JSON
        (f"{root}/traffic/SEG003", json.dumps({"ts": ts, "vehicle_count": "beaucoup", "occupancy_pct": 130})),
        (f"{root}/air/AQ01", json.dumps({"ts": ts, "no2": 31.5, "pm10": -4})),
        (f"{root}/parking/P1", json.dumps({"ts": ts, "free": 3})),
        (
            f"{root}/traffic/SEG001",
            json.dumps(
                {
                    "ts": "2026-03-10T07:00:00Z",
                    "vehicle_count": 120,
                    "occupancy_pct": 20.5,
                    "average_speed_kmh": 41,
                    "period_s": 900,
                }
            ),
        ),  # same instant, UTC
    ]
    publish_stream(((0, t, p.encode()) for t, p in msgs), mqtt_settings=mqtt_lake.settings.mqtt)
    runner.join(40)

    lh = mqtt_lake
    report = consumer.stats.report
    assert all(c.balanced for c in report.datasets.values())
    traffic = report.datasets["iot.traffic_flow"]
    assert (traffic.rows_in, traffic.rows_raw, traffic.rows_quarantined, traffic.duplicates) == (4, 1, 2, 1)
    air = report.datasets["iot.air_quality"]
    assert (air.rows_raw, air.rows_quarantined) == (1, 1)
    assert report.datasets["mqtt.unroutable"].rows_quarantined == 1

    con = lh.duckdb()
    errors = [
        json.loads(e)
        for (e,) in con.execute(
            f"SELECT _error FROM read_parquet('{lh.lake.dataset_glob('quarantine', 'iot', 'traffic_flow')}', union_by_name=true)"
            " ORDER BY _row"
        ).fetchall()
    ]
    assert errors[0]["file"] == f"{root}/traffic/SEG002" and errors[0]["row"] == 2
    assert "JSON invalide" in errors[0]["errors"][0]["message"]
    assert errors[1]["row"] == 3 and {e["field"] for e in errors[1]["errors"]} == {"vehicle_count", "occupancy_pct"}
    assert errors[1]["file"].endswith(f"/{root}/traffic/+")
    unroutable = con.execute(
        f"SELECT topic, _error FROM read_parquet('{lh.lake.dataset_glob('quarantine', 'mqtt', 'unroutable')}')"
    ).fetchone()
    assert unroutable[0] == f"{root}/parking/P1" and "domaine inconnu" in unroutable[1]
    assert consumer.stats.acked == len(msgs)


def test_embedded_broker_end_to_end_with_demo_replay(keyed_local_lake):
    local_lakehouse = keyed_local_lake  # citizen reports are in the replay: the key file must exist
    port = free_ports(1)[0]
    with EmbeddedBroker(port=port):
        consumer = StreamConsumer(
            local_lakehouse,
            ConsumerConfig(port=port, client_id="e2e", clock=SimulatedClock(datetime(2026, 3, 15, 0, 30, tzinfo=UTC))),
        )
        runner = run_in_thread(consumer, idle_exit_s=2, max_seconds=60)
        sent = publish(
            port=port,
            start="2026-03-15T00:00:00Z",
            hours=0.5,  # live continuation after the period
            mqtt_settings=local_lakehouse.settings.mqtt,
        )
        runner.join(70)
    assert sent > 200 and consumer.stats.messages == sent
    report = consumer.stats.report
    assert report.rows_quarantined == 0 and all(c.balanced for c in report.datasets.values())
    con = local_lakehouse.duckdb()
    lamps = con.execute(
        f"SELECT count(*), min(observed_at) FROM read_parquet("
        f"'{local_lakehouse.lake.dataset_glob('raw', 'iot', 'streetlight')}')"
    ).fetchone()
    assert lamps[0] == report.datasets["iot.streetlight"].rows_raw > 0
    assert str(lamps[1].astimezone(UTC)).startswith("2026-03-15 00:00")


@pytest.mark.mqtt
def test_consumer_restart_does_not_duplicate_written_but_unacked_messages(mqtt_lake):
    """A consumer that wrote a batch but died before acknowledging gets it again: it must skip it."""
    local_lakehouse = mqtt_lake
    root = f"r{uuid.uuid4().hex[:8]}"
    config = ConsumerConfig(topic_root=root, client_id=f"crash-{root}", clock=MARCH_10)
    first = StreamConsumer(local_lakehouse, config)
    first.client.ack = lambda mid, qos: None  # simulate a crash between the lake write and the acknowledgement
    runner = run_in_thread(first, idle_exit_s=1.5, max_seconds=30)
    body = lambda i: json.dumps({"ts": f"2026-03-10T08:{i:02d}:00Z", "energy_kwh": 1.5 + i, "period_s": 60})  # noqa: E731
    publish_stream(
        ((0, f"{root}/energy/BAT01", body(i).encode()) for i in range(20)), mqtt_settings=local_lakehouse.settings.mqtt
    )
    runner.join(40)
    assert first.stats.rows_raw == 20

    second = StreamConsumer(local_lakehouse, config)
    runner = run_in_thread(second, idle_exit_s=2, max_seconds=30)
    runner.join(40)
    assert second.stats.messages == 20 and second.stats.duplicates == 20 and second.stats.rows_raw == 0
    con = local_lakehouse.duckdb()
    n = con.execute(
        f"SELECT count(*) FROM read_parquet('{local_lakehouse.lake.dataset_glob('raw', 'iot', 'building_energy')}')"
    ).fetchone()[0]
    assert n == 20


@pytest.mark.mqtt
def test_test_broker_refuses_anonymous_clients_and_wrong_passwords(mqtt_broker):
    assert connect_result(mqtt_broker) != "Success"
    assert connect_result(mqtt_broker, mqtt_broker["username"], mqtt_broker["password"] + "x") != "Success"
    assert connect_result(mqtt_broker, mqtt_broker["username"], mqtt_broker["password"]) == "Success"


@pytest.mark.mqtt
def test_consumer_authenticates_with_the_settings_credentials(mqtt_broker, tmp_path):
    from tests.stream.conftest import keyed_lake

    root = f"a{uuid.uuid4().hex[:8]}"
    wrong = keyed_lake(tmp_path / "wrong", {**mqtt_broker["env"], "HYPERVISEUR_MQTT_PASSWORD": "mauvais"})
    with pytest.raises(ConnectionError, match="refusée"):
        StreamConsumer(wrong, ConsumerConfig(topic_root=root, client_id=f"w-{root}")).run(max_seconds=5)

    secret = tmp_path / "mqtt-password"  # the password as a mounted secret file (HYPERVISEUR_MQTT_PASSWORD_FILE)
    secret.write_text(mqtt_broker["password"] + "\n")
    env = {k: v for k, v in mqtt_broker["env"].items() if k != "HYPERVISEUR_MQTT_PASSWORD"}
    lake = keyed_lake(
        tmp_path / "data", {**env, "HYPERVISEUR_MQTT_PASSWORD_FILE": str(secret), "HYPERVISEUR_MQTT_TOPIC_ROOT": root}
    )
    assert lake.settings.mqtt.password == mqtt_broker["password"] and lake.settings.mqtt.topic_root == root
    consumer = StreamConsumer(lake, ConsumerConfig(client_id=f"ok-{root}", clock=MARCH_10))
    runner = run_in_thread(consumer, idle_exit_s=1.5, max_seconds=30)
    body = json.dumps({"ts": "2026-03-10T08:00:00Z", "energy_kwh": 2.5, "period_s": 60})
    publish_stream([(0, f"{root}/energy/BAT07", body.encode())], mqtt_settings=lake.settings.mqtt)
    runner.join(40)
    assert consumer.stats.rows_raw == 1 and consumer.stats.acked == 1


def test_consumer_refuses_to_start_without_the_encryption_key(tmp_path):
    lake = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")})
    consumer = StreamConsumer(
        lake, ConsumerConfig(port=free_ports(1)[0], client_id="sans-cle", mqtt=MqttSettings(port=free_ports(1)[0]))
    )
    with pytest.raises(SettingsError, match="HYPERVISEUR_KMS_KEY_FILE") as err:
        consumer.run(max_seconds=1)
    assert err.value.variable == "HYPERVISEUR_KMS_KEY_FILE"
    assert not lake.storage.list("raw/")
