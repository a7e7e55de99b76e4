"""Benchmark: end-to-end freshness of the live tower (issue 17), p50/p95, against the broker's own delay.

Four delays from the same publish on the real Mosquitto of ``make bench``, each sample a
fresh message stamped just before ``publish``:

* ``broker`` (baseline, same run): publish → a bare paho subscriber receives it;
* ``ligne visible``: publish → the row is readable in the raw zone through DuckDB (the stream
  consumer's micro-batch written: ``max_latency_s``, then the Parquet write);
* ``incident sur la page``: publish (an NO2 reading over the EU hourly limit) → the incident is
  in what the operators' page renders (:func:`alerting.feed.current_incidents`, read by its
  event stream every second): evaluation, the engine's tick (1 s) and its snapshot in the lake;
* ``ligne dans le jeu Superset``: publish a road count → its hour in ``masked.mart_traffic_hourly``
  of the serving catalog Superset reads, after one run of the live schedule's job (dbt's hourly
  marts, the serving copies): what an agent's chart shows, less the schedule's wait.

Ratios are against the broker baseline. Usage: ``python benchmarks/bench_freshness.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from common import mqtt_env_from_test_server, report

from alerting.engine import Engine
from alerting.feed import current_incidents
from alerting.runner import MqttRunner
from ingestion.demo.publisher import Publisher, local_iso
from ingestion.stream.consumer import ConsumerConfig, StreamConsumer
from lakehouse.encryption import ensure_key_file
from lakehouse.lake import Zone
from lakehouse.platform import Lakehouse

MQTT_ENV = {k: v for k, v in os.environ.items() if k.startswith("HYPERVISEUR_MQTT_")} or mqtt_env_from_test_server()
GRAPH_END = "2026-03-15T00:00:00+00:00"  # the demo graph's day: long before the readings published now


def lake(folder: Path, root: str) -> Lakehouse:
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(folder), "HYPERVISEUR_MQTT_TOPIC_ROOT": root, **MQTT_ENV})
    ensure_key_file(lh.settings)
    return lh


def wait(check, timeout: float = 60) -> float:
    """Seconds until ``check()`` is true (polled every 10 ms)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("délai dépassé")
        time.sleep(0.01)
    return time.time()


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def broker_delays(lh: Lakehouse, n: int) -> list[float]:
    root = lh.settings.mqtt.topic_root
    received: dict[str, float] = {}
    ready = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"hv-bench-{uuid.uuid4().hex[:6]}")
    lh.settings.mqtt.configure(client)
    client.on_connect = lambda c, *_: c.subscribe(f"{root}/#", qos=1)
    client.on_subscribe = lambda *_: ready.set()
    client.on_message = lambda c, u, m: received.setdefault(json.loads(m.payload)["id"], time.time())
    client.connect(lh.settings.mqtt.host, lh.settings.mqtt.port)
    client.loop_start()
    ready.wait(10)
    pub = Publisher(mqtt_settings=lh.settings.mqtt)
    out = []
    for i in range(n):
        key = f"m{i}"
        t0 = time.time()
        pub.send(f"{root}/probe/x", json.dumps({"id": key}).encode())
        out.append(wait(lambda key=key: key in received) - t0)
    pub.close()
    client.loop_stop()
    client.disconnect()
    return out


def row_delays(lh: Lakehouse, n: int) -> list[float]:
    """publish → the reading is in the raw zone (DuckDB over the lake)."""
    root = lh.settings.mqtt.topic_root
    consumer = StreamConsumer(lh, ConsumerConfig(client_id=f"hv-bench-{uuid.uuid4().hex[:6]}", max_latency_s=0.5))
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    consumer.subscribed.wait(15)
    pub = Publisher(mqtt_settings=lh.settings.mqtt)
    glob = lh.lake.dataset_glob(Zone.RAW, "iot", "water_flow")
    out = []
    base = int(time.time()) - 3600
    for i in range(n):
        ts = datetime.fromtimestamp(base + 60 * i, UTC)
        t0 = time.time()
        pub.send(f"{root}/water/WM01A", json.dumps({"ts": local_iso(ts), "sector_id": "SEC01", "flow_m3h": i}).encode())

        def visible(value=float(i)) -> bool:
            con = lh.duckdb()
            try:
                return bool(
                    con.execute(
                        f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning=true, union_by_name=true) "
                        "WHERE CAST(flow_m3h AS DOUBLE) = $v",
                        {"v": value},
                    ).fetchone()[0]
                )
            except Exception:  # no file yet
                return False
            finally:
                con.close()

        out.append(wait(visible) - t0)
    pub.close()
    consumer.stop()
    thread.join(30)
    return out


def incident_delays(folder: Path, n: int) -> list[float]:
    """publish an NO2 peak → the incident is in what the operators' page renders."""
    out = []
    for i in range(n):
        lh = lake(folder / f"incident-{i}", f"bench-{uuid.uuid4().hex[:8]}")
        engine = Engine(lh, channels=False)
        runner = MqttRunner(engine).start()
        pub = Publisher(mqtt_settings=lh.settings.mqtt)
        body = {"ts": local_iso(datetime.now(UTC)), "no2": 420.0, "pm10": 20.0, "pm25": 10.0, "o3": 30.0}
        t0 = time.time()
        pub.send(f"{lh.settings.mqtt.topic_root}/air/AQ02", json.dumps(body).encode())
        out.append(wait(lambda lh=lh: bool(current_incidents(lh))) - t0)
        pub.close()
        runner.stop()
    return out


def dataset_delays(folder: Path, n: int) -> list[float]:
    """publish a road count → it is in Superset's dataset (``masked.mart_traffic_hourly`` of the
    serving catalog Superset reads), through the consumer and one run of the job the live schedule
    starts every quarter of an hour, on a lake the demo graph has built (as ``make run`` leaves it).
    The schedule's own wait (up to 15 min) is not counted: the job runs as soon as the row landed."""
    from dagster import DagsterInstance

    from ingestion.demo.model import DemoModel
    from ingestion.demo.publisher import model_messages
    from ingestion.demo.territory import build_territory
    from orchestration.cli.run import run_demo_graph
    from orchestration.demo.definitions import defs

    root = f"bench-{uuid.uuid4().hex[:8]}"
    env = {"HYPERVISEUR_DATA_DIR": str(folder / "marts"), "HYPERVISEUR_MQTT_TOPIC_ROOT": root, **MQTT_ENV}
    os.environ.update(env)  # the graph's resources and dbt read the process environment
    lh = lake(folder / "marts", root)
    (folder / "dagster").mkdir()
    instance = DagsterInstance.local_temp(str(folder / "dagster"))
    run_demo_graph(lh, instance=instance, days=1, scale=0.05, end=GRAPH_END)
    job = defs.resolve_job_def(defs.get_repository_def().get_schedule_def("marts_horaires_en_direct").job_name)
    now = int(time.time())
    model = DemoModel(build_territory(), 42, now - 86400, now, 1.0, [])
    ts, topic, payload = next(m for m in model_messages(model, now - 3600, now, root) if "/traffic/" in m[1])
    segment, body = topic.rsplit("/", 1)[1], json.loads(payload)
    consumer = StreamConsumer(lh, ConsumerConfig(client_id=f"hv-bench-{uuid.uuid4().hex[:6]}", max_latency_s=0.5))
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    consumer.subscribed.wait(15)
    pub = Publisher(mqtt_settings=lh.settings.mqtt)
    serving = lh.settings.serving_dir / "serving_masked.duckdb"
    out = []
    for i in range(n):
        hour = now - now % 3600 - (i + 2) * 3600  # one past hour per sample, its only reading
        count = 1000 + i
        t0 = time.time()
        pub.send(
            topic,
            json.dumps({**body, "ts": local_iso(datetime.fromtimestamp(hour, UTC)), "vehicle_count": count}).encode(),
        )
        wait(lambda i=i: consumer.stats.rows_raw > i, 60)  # its micro-batch written to the raw zone
        assert job.execute_in_process(instance=instance, raise_on_error=False).success, "job horaire en échec"
        con = lh.duckdb(str(serving), read_only=True)
        try:
            seen = con.execute(
                "SELECT vehicle_count FROM masked.mart_traffic_hourly WHERE segment_id = ? AND epoch(hour_start)::BIGINT = ?",
                [segment, hour],
            ).fetchall()
        finally:
            con.close()
        assert seen == [(count,)], f"jeu de données Superset : {seen} au lieu de {count}"
        out.append(time.time() - t0)
    pub.close()
    consumer.stop()
    thread.join(30)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    n = 5 if parser.parse_args().quick else 20
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        lh = lake(folder / "stream", f"bench-{uuid.uuid4().hex[:8]}")
        rows = {
            "broker (référence)": broker_delays(lh, n),
            "ligne visible (zone brute)": row_delays(lh, n),
            "incident sur la page": incident_delays(folder, max(3, n // 2)),
            "ligne dans le jeu Superset (job horaire)": dataset_delays(folder, 2 if n < 20 else 5),
        }
    base = statistics.median(rows["broker (référence)"])
    report(
        "freshness",
        ["mesure", "échantillons", "p50 (s)", "p95 (s)", "p50 / broker"],
        [[k, len(v), pct(v, 0.5), pct(v, 0.95), pct(v, 0.5) / base if base else 0.0] for k, v in rows.items()],
        "Fraîcheur de bout en bout : publication MQTT → ligne lisible dans le lac, → incident sur la page "
        "des opérateurs, → ligne dans le jeu de données de Superset après le job horaire (sans l'attente de "
        "sa planification, 15 min au plus) ; rapport à la latence du broker seul, mesurée dans la même exécution.",
    )


if __name__ == "__main__":
    main()
