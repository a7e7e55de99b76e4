"""Benchmark: MQTT message → alert decision latency (p50/p99) at sustained rates, CPU per message, memory.

A publisher in another process sends messages to a real Mosquitto at a fixed rate and
stamps each with its publish time (``time.time()`` just before ``publish``; same machine,
same clock). Three consumers subscribe in turn, each for the same load:

* ``brut``: the baseline — a bare paho subscriber that only decodes the JSON;
* ``moteur``: the engine as deployed — :class:`~alerting.runner.MqttRunner` enqueues on
  paho's network thread and a worker evaluates in batches; latency = time of the decision
  (right after the engine evaluated the message) − publish time;
* ``moteur-fil-reseau``: the former design, evaluating inside paho's callback, kept as
  the same-run reference.

For each: messages received/sent, publish rate actually achieved, p50/p99 latency,
consumer CPU time per message (all threads of this process: paho + evaluation) and, for
the runner, the inbox peak and back-pressure waits. Memory: RSS growth of an engine fed
N messages in-process over many entities (bounded state: it must level off).
Usage: ``python benchmarks/bench_alerting.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psutil
from common import mqtt_env_from_test_server, peak_rss_mb, report

from alerting.engine import Engine
from alerting.runner import MqttRunner
from lakehouse.platform import Lakehouse
from lakehouse.settings import MqttSettings

# The broker of `make bench` (the test Mosquitto, with its generated login); a child
# publisher process receives the same settings through its environment.
MQTT_ENV = {k: v for k, v in os.environ.items() if k.startswith("HYPERVISEUR_MQTT_")} or mqtt_env_from_test_server()
BROKER = MqttSettings.from_env(MQTT_ENV)
HOST, PORT = BROKER.host, BROKER.port

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def message(root: str, n: int, rng: random.Random, entities: int = 1) -> tuple[str, dict]:
    """The n-th message of the mix (traffic, water, air of the demo territory); ``entities`` multiplies the series."""
    ts = (T0 + timedelta(seconds=n * 0.5)).isoformat()
    k, e = n % 3, (n // 3) % entities
    suffix = f"-{e}" if e else ""
    if k == 0:
        return f"{root}/traffic/SEG{n % 24 + 1:03d}{suffix}", {
            "ts": ts,
            "occupancy_pct": rng.uniform(5, 30),
            "average_speed_kmh": 40,
        }
    if k == 1:
        return f"{root}/water/WM0{n % 6 + 1}A{suffix}", {
            "ts": ts,
            "sector_id": f"SEC0{n % 6 + 1}",
            "flow_m3h": rng.uniform(10, 40),
        }
    return f"{root}/air/AQ0{n % 5 + 1}{suffix}", {"ts": ts, "no2": rng.uniform(10, 60), "pm10": rng.uniform(5, 30)}


def publisher(root: str, rate: float, seconds: float, host: str, port: int) -> None:
    """Runs in its own process: publish at ``rate`` msg/s, each stamped with its publish time."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    BROKER.configure(c)
    c.max_queued_messages_set(0)
    c.max_inflight_messages_set(1000)
    c.connect(host, port)
    c.loop_start()
    rng = random.Random(1)
    cpu0, start, n, total = time.process_time(), time.perf_counter(), 0, int(rate * seconds)
    while n < total:
        due = int((time.perf_counter() - start) * rate) + 1
        while n < min(due, total):
            topic, body = message(root, n, rng)
            body["_sent"] = time.time()
            c.publish(topic, json.dumps(body), qos=1)
            n += 1
        time.sleep(0.001)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    time.sleep(1)
    c.loop_stop()
    c.disconnect()
    print(n, elapsed, cpu)


def _publish(root: str, rate: float, seconds: float) -> tuple[int, float, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--editeur", root, str(rate), str(seconds), HOST, str(PORT)],
        env={**os.environ, **MQTT_ENV},
        capture_output=True,
        text=True,
        timeout=seconds * 4 + 60,
        check=True,
    )
    n, elapsed, cpu = out.stdout.split()
    return int(n), float(elapsed), float(cpu)


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


class _Run:
    """Latencies and this process's CPU time over one publishing run."""

    def __init__(self):
        self.lat: list[float] = []
        self.proc = psutil.Process()

    def measure(self, root, rate, seconds, done, wait_s=60):
        cpu = self.proc.cpu_times()
        sent, elapsed, pub_cpu = _publish(root, rate, seconds)
        deadline = time.time() + wait_s
        while done() < sent and time.time() < deadline:
            time.sleep(0.02)
        after = self.proc.cpu_times()
        self.cpu_s = (after.user + after.system) - (cpu.user + cpu.system)
        self.sent, self.rate, self.pub_cpu = sent, sent / elapsed, pub_cpu
        return self


def raw_latency(rate, seconds):
    root, run, got = f"bench-{uuid.uuid4().hex[:8]}", _Run(), threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    BROKER.configure(c)
    c.on_connect = lambda cl, *a: cl.subscribe(f"{root}/#", qos=1)
    c.on_subscribe = lambda *a: got.set()
    c.on_message = lambda cl, u, m: run.lat.append(time.time() - json.loads(m.payload)["_sent"])
    c.connect(HOST, PORT)
    c.loop_start()
    got.wait(10)
    run.measure(root, rate, seconds, lambda: len(run.lat), wait_s=30)
    c.loop_stop()
    c.disconnect()
    run.extra = "—"
    return run


class _OnNetworkThread(MqttRunner):
    """The former design: evaluation inside paho's callback (reference only)."""

    def _on_message(self, client, userdata, msg):
        self.inbox.stats["received"] += 1
        self.observer(self.engine, self.engine.process(msg.topic, msg.payload))


def engine_latency(lh, rate, seconds, runner_cls=MqttRunner):
    root, run = f"bench-{uuid.uuid4().hex[:8]}", _Run()
    engine = Engine(lh, root=root, channels=False, persist=False)

    def observe(eng, decisions):
        ev = eng.last_event
        if ev is not None and "_sent" in ev.data:
            run.lat.append(time.time() - ev.data["_sent"])  # decision time − publish time

    runner = runner_cls(engine, HOST, PORT, observer=observe).start()
    run.measure(root, rate, seconds, lambda: engine.stats["messages"])
    runner.stop()
    st = runner.stats
    run.extra = (
        f"interne p99 {st['internal_p99_ms']} ms, file max {st['peak']}, attentes {st['full_waits']}"
        if runner_cls is MqttRunner
        else "—"
    )
    return run


def memory(lh, n, entities):
    engine = Engine(lh, root="mem", channels=False, persist=False)
    proc, rng = psutil.Process(), random.Random(2)
    payloads = []
    for i in range(n):
        topic, body = message("mem", i, rng, entities)
        payloads.append((topic, json.dumps(body).encode()))
    before = proc.memory_info().rss
    checkpoints = {}
    cpu0, start = time.process_time(), time.perf_counter()
    for i, (topic, payload) in enumerate(payloads):
        engine.process(topic, payload)
        if (i + 1) in (n // 10, n):
            checkpoints[i + 1] = (proc.memory_info().rss - before) / 2**20
    return time.perf_counter() - start, time.process_time() - cpu0, checkpoints


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="petite taille (test de fumée)")
    ap.add_argument("--repetitions", type=int, default=1, help="mesures par débit et par chemin (entrelacées)")
    ap.add_argument(
        "--editeur",
        nargs=5,
        metavar=("RACINE", "DEBIT", "SECONDES", "HOTE", "PORT"),
        help="(interne) jouer l'éditeur dans ce processus",
    )
    args = ap.parse_args(argv)
    if args.editeur:
        root, rate, seconds, host, port = args.editeur
        publisher(root, float(rate), float(seconds), host, int(port))
        return
    rates, seconds, n_mem, entities = ([200, 500], 2, 20_000, 50) if args.quick else ([1000, 5000], 10, 1_000_000, 400)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": tmp, **MQTT_ENV})
        paths = (
            ("brut", raw_latency),
            ("moteur", lambda r, s: engine_latency(lh, r, s)),
            ("moteur-fil-reseau", lambda r, s: engine_latency(lh, r, s, _OnNetworkThread)),
        )
        for rate in rates:
            for _ in range(args.repetitions):  # interleaved, so a burst of load on the machine hits every path
                for name, fn in paths:
                    run = fn(rate, seconds)
                    rows.append(
                        [
                            rate,
                            name,
                            f"{len(run.lat)}/{run.sent}",
                            round(run.rate),
                            round(_pct(run.lat, 0.5), 1),
                            round(_pct(run.lat, 0.99), 1),
                            round(run.cpu_s / max(1, run.sent) * 1e6, 1),
                            round(run.pub_cpu / max(1, run.sent) * 1e6, 1),
                            round(os.getloadavg()[0], 1),
                            run.extra,
                        ]
                    )
        elapsed, cpu, mem = memory(lh, n_mem, entities)
    notes = (
        f"Mémoire : {n_mem:,} messages ({3 * entities} séries environ par flux) évalués en {elapsed:.1f} s "
        f"({n_mem / elapsed:,.0f} msg/s, {cpu / n_mem * 1e6:.1f} µs CPU/msg en processus) ; "
        + ", ".join(f"+{v:.1f} Mio après {k:,}" for k, v in mem.items())
        + f" ; pic RSS du processus {peak_rss_mb():.0f} Mio (messages préparés compris). Machine : "
        f"{os.cpu_count()} cœurs partagés ; la latence dépend de leur charge (colonne « charge 1 min »)."
    )
    report(
        "alerting",
        [
            "débit visé (msg/s)",
            "chemin",
            "reçus/envoyés",
            "débit publié",
            "p50 ms",
            "p99 ms",
            "CPU µs/msg (abonné)",
            "CPU µs/msg (éditeur)",
            "charge 1 min",
            "file",
        ],
        rows,
        notes,
    )


if __name__ == "__main__":
    main()
