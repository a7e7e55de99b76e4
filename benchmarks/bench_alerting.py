"""Benchmark: MQTT message → alert decision latency (p50/p99) at sustained rates, and memory after N messages.

A publisher in another process sends timestamped messages to a real Mosquitto at a fixed
rate; the alerting engine (same topics, its own subscription) decides on each and the
latency is now − publish time. The raw baseline is a subscriber that only decodes JSON,
in the same run. Memory: RSS growth of an engine fed N messages in-process (bounded
state: it must level off). Usage: ``python benchmarks/bench_alerting.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import paho.mqtt.client as mqtt
import psutil

from alerting.engine import Engine, MqttRunner
from lakehouse.platform import Lakehouse

HOST = os.environ.get("HYPERVISEUR_MQTT_HOST", "127.0.0.1")
PORT = int(os.environ.get("HYPERVISEUR_MQTT_PORT", os.environ.get("HYPERVISEUR_TEST_MQTT_PORT", "1883")))

PUBLISHER = textwrap.dedent("""
    import json, sys, time, random
    from datetime import datetime, timedelta, timezone
    import paho.mqtt.client as mqtt
    root, rate, seconds, host, port = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2); c.max_queued_messages_set(0); c.max_inflight_messages_set(1000)
    c.connect(host, port); c.loop_start()
    t0 = datetime(2026, 3, 2, tzinfo=timezone.utc); rng = random.Random(1)
    start = time.perf_counter(); n = 0; total = int(rate * seconds)
    while n < total:
        due = int((time.perf_counter() - start) * rate) + 1
        while n < min(due, total):
            ts = (t0 + timedelta(seconds=n * 0.5)).isoformat()
            k = n % 3
            if k == 0:
                topic, body = f"{root}/traffic/SEG{n % 24 + 1:03d}", {"ts": ts, "occupancy_pct": rng.uniform(5, 30), "average_speed_kmh": 40}
            elif k == 1:
                topic, body = f"{root}/water/WM0{n % 6 + 1}A", {"ts": ts, "sector_id": f"SEC0{n % 6 + 1}", "flow_m3h": rng.uniform(10, 40)}
            else:
                topic, body = f"{root}/air/AQ0{n % 5 + 1}", {"ts": ts, "no2": rng.uniform(10, 60), "pm10": rng.uniform(5, 30)}
            body["_sent"] = time.time()
            c.publish(topic, json.dumps(body), qos=1); n += 1
        time.sleep(0.002)
    time.sleep(1); c.loop_stop(); c.disconnect()
    print(n)
""")


def _publish(root: str, rate: float, seconds: float) -> int:
    out = subprocess.run([sys.executable, "-c", PUBLISHER, root, str(rate), str(seconds), HOST, str(PORT)],
                         capture_output=True, text=True, timeout=seconds * 4 + 60, check=True)
    return int(out.stdout.strip())


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


def raw_latency(rate, seconds):
    root = f"bench-{uuid.uuid4().hex[:8]}"
    lat, got = [], threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    c.on_connect = lambda cl, *a: cl.subscribe(f"{root}/#", qos=1)
    c.on_subscribe = lambda *a: got.set()
    c.on_message = lambda cl, u, m: lat.append(time.time() - json.loads(m.payload)["_sent"])
    c.connect(HOST, PORT)
    c.loop_start()
    got.wait(10)
    sent = _publish(root, rate, seconds)
    deadline = time.time() + 30
    while len(lat) < sent and time.time() < deadline:
        time.sleep(0.05)
    c.loop_stop()
    c.disconnect()
    return sent, lat


def engine_latency(lh, rate, seconds):
    root = f"bench-{uuid.uuid4().hex[:8]}"
    engine = Engine(lh, root=root, channels=False, persist=False)
    lat = []

    def observe(eng, decisions):
        ev = eng.last_event
        if ev is not None and "_sent" in ev.data:
            lat.append(time.time() - ev.data["_sent"])

    runner = MqttRunner(engine, HOST, PORT, observer=observe).start()
    sent = _publish(root, rate, seconds)
    deadline = time.time() + 60
    while engine.stats["messages"] < sent and time.time() < deadline:
        time.sleep(0.05)
    runner.stop()
    return sent, lat


def memory(lh, n):
    engine = Engine(lh, root="mem", channels=False, persist=False)
    proc = psutil.Process()
    t0 = datetime(2026, 3, 2, tzinfo=timezone.utc)
    before = proc.memory_info().rss
    start = time.perf_counter()
    checkpoints = {}
    for i in range(n):
        ts = (t0 + timedelta(seconds=i * 0.5)).isoformat()
        seg = f"SEG{i % 24 + 1:03d}"
        engine.process(f"mem/traffic/{seg}", f'{{"ts": "{ts}", "occupancy_pct": {5 + i % 20}}}'.encode())
        if (i + 1) in (n // 10, n):
            checkpoints[i + 1] = (proc.memory_info().rss - before) / 2**20
    return time.perf_counter() - start, checkpoints


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="petite taille (test de fumée)")
    args = ap.parse_args(argv)
    rates, seconds, n_mem = ([200, 500], 2, 20_000) if args.quick else ([1000, 5000], 10, 1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": tmp})
        print(f"{'débit (msg/s)':>14} {'chemin':>10} {'reçus':>8} {'p50 ms':>8} {'p99 ms':>8}")
        for rate in rates:
            for name, fn in (("brut", raw_latency), ("moteur", lambda r, s: engine_latency(lh, r, s))):
                sent, lat = fn(rate, seconds)
                print(f"{rate:>14} {name:>10} {len(lat):>6}/{sent:<6} {_pct(lat, .5):>8.1f} {_pct(lat, .99):>8.1f}")
        elapsed, mem = memory(lh, n_mem)
        print(f"mémoire : {n_mem} messages traités en {elapsed:.1f} s ({n_mem / elapsed:,.0f} msg/s en processus) ; "
              + ", ".join(f"+{v:.1f} Mio après {k:,}" for k, v in mem.items()))


if __name__ == "__main__":
    main()
