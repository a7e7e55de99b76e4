"""Replay the demo series over MQTT (QoS 1) in the topic and payload contract of the brief.

``<root>/<domain>/<entity_id>`` with JSON payloads whose ``ts`` is ISO-8601 in local time
with its offset (as field devices send it). Messages of all datasets are merged in time
order; ``speed`` is simulated seconds per wall-clock second (``None``: as fast as the
broker takes them). Credentials and TLS come from ``mqtt`` (:class:`~lakehouse.settings.MqttSettings`),
by default the settings of the process environment (``HYPERVISEUR_MQTT_USERNAME``, …).
"""

from __future__ import annotations

import heapq
import json
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime

import paho.mqtt.client as mqtt
import pyarrow as pa

from ingestion.demo.model import PARIS, DemoModel, epoch
from ingestion.demo.sensors import AIR_POLLUTANTS
from lakehouse.settings import MqttSettings

DOMAINS = {  # dataset -> (topic domain, entity column, payload fields)
    "iot.air_quality": ("air", "station_id", ()),
    "iot.traffic_flow": ("traffic", "segment_id", ("vehicle_count", "occupancy_pct", "average_speed_kmh", "period_s")),
    "iot.water_flow": ("water", "meter_id", ("sector_id", "flow_m3h")),
    "iot.streetlight": ("lighting", "lamp_id", ("circuit_id", "power_w", "status", "dimming_pct")),
    "iot.building_energy": ("energy", "building_id", ("energy_kwh", "period_s")),
    "weather.observations": (
        "weather",
        "station_id",
        ("temperature_c", "humidity_pct", "wind_speed_ms", "wind_direction_deg", "precipitation_mm", "pressure_hpa"),
    ),
    "citizen.reports": ("reports", "report_id", None),
    "social.posts": ("social", "post_id", None),
    "cctv.events": ("cctv", "camera_id", ("event_id", "event_type", "zone", "confidence")),
}
TIME_COLUMN = {"citizen.reports": "created_at", "social.posts": "posted_at", "cctv.events": "occurred_at"}


def local_iso(dt: datetime) -> str:
    return dt.astimezone(PARIS).isoformat()


def _iso(v):
    return v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v


def messages(dataset: str, table: pa.Table, topic_root: str) -> Iterator[tuple[int, str, bytes]]:
    """(epoch seconds, topic, payload) for every message a dataset's rows make, in row order."""
    domain, entity, payload_fields = DOMAINS[dataset]
    rows = table.to_pylist()
    if dataset == "iot.air_quality":  # one message per station and instant, all pollutants
        for i in range(0, len(rows), len(AIR_POLLUTANTS)):
            group = rows[i : i + len(AIR_POLLUTANTS)]
            body = {"ts": local_iso(group[0]["observed_at"]), **{r["pollutant"]: r["value"] for r in group}}
            yield epoch(group[0]["observed_at"]), f"{topic_root}/{domain}/{group[0][entity]}", json.dumps(body).encode()
        return
    time_col = TIME_COLUMN.get(dataset, "observed_at")
    for r in rows:
        if payload_fields is None:  # reports, posts: the canonical record itself
            body = {k: _iso(v) for k, v in r.items()}
        else:
            body = {"ts": local_iso(r[time_col]), **{k: r[k] for k in payload_fields}}
        yield epoch(r[time_col]), f"{topic_root}/{domain}/{r[entity]}", json.dumps(body, ensure_ascii=False).encode()


def model_messages(model: DemoModel, t0: int, t1: int, topic_root: str) -> Iterator[tuple[int, str, bytes]]:
    """Every message of [t0, t1), merged across datasets in time order, one day at a time."""
    from ingestion.demo.simulator import iter_chunks

    day, streams = None, []
    for spec, w0, _, table in iter_chunks(model, t0, t1):
        if w0 != day and streams:
            yield from heapq.merge(*streams, key=lambda m: m[0])
            streams = []
        day = w0
        streams.append(list(messages(spec.qualified_name, table, topic_root)))
    if streams:
        yield from heapq.merge(*streams, key=lambda m: m[0])


class Publisher:
    """A QoS 1 publisher that survives broker restarts (paho resends unacknowledged messages)."""

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        client_id: str | None = None,
        protocol: str = "3.1.1",
        max_inflight: int = 200,
        mqtt_settings: MqttSettings | None = None,
        connect_timeout_s: float = 10,
    ):
        broker = (mqtt_settings or MqttSettings.from_env()).at(host, port)
        host, port = broker.host, broker.port
        version = mqtt.MQTTv5 if protocol == "5" else mqtt.MQTTv311
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"hv-pub-{uuid.uuid4().hex[:8]}",
            protocol=version,
            **({} if version == mqtt.MQTTv5 else {"clean_session": False}),
        )
        broker.configure(self.client)
        self.client.max_inflight_messages_set(max_inflight)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(0.05, 1)
        accepted, self.refused = threading.Event(), None
        self.client.on_connect = lambda _c, _u, _f, rc, _p=None: self._connected(rc, accepted)
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()
        # A QoS 1 publish before the broker's CONNACK is refused by paho (« not currently connected »):
        # wait for the broker to accept the session, and say why it did not.
        if not accepted.wait(connect_timeout_s) or self.refused:
            self.client.loop_stop()
            why = f" : {self.refused}" if self.refused else f" en {connect_timeout_s:.0f} s"
            raise ConnectionError(f"connexion MQTT à {host}:{port} non acceptée par le broker{why}")
        self.pending: list[mqtt.MQTTMessageInfo] = []

    def _connected(self, reason_code, accepted: threading.Event) -> None:
        if reason_code.is_failure:
            self.refused = str(reason_code)
        accepted.set()

    def send(self, topic: str, payload: bytes, qos: int = 1) -> None:
        self.pending.append(self.client.publish(topic, payload, qos=qos))
        if len(self.pending) >= 2000:
            self.pending = [p for p in self.pending if not p.is_published()]
            while len(self.pending) >= 2000:  # back-pressure: do not queue unboundedly
                time.sleep(0.005)
                self.pending = [p for p in self.pending if not p.is_published()]

    def close(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while any(not p.is_published() for p in self.pending):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{sum(not p.is_published() for p in self.pending)} message(s) non acquitté(s) par le broker"
                )
            time.sleep(0.02)
        self.client.disconnect()
        self.client.loop_stop()


def publish_stream(
    stream: Iterable[tuple[int, str, bytes]],
    *,
    host: str | None = None,
    port: int | None = None,
    speed: float | None = None,
    protocol: str = "3.1.1",
    client_id: str | None = None,
    mqtt_settings: MqttSettings | None = None,
) -> int:
    """Publish ``(epoch, topic, payload)`` messages at QoS 1, paced by ``speed``; returns the count."""
    pub = Publisher(host, port, client_id=client_id, protocol=protocol, mqtt_settings=mqtt_settings)
    sent, wall0, sim0 = 0, time.monotonic(), None
    try:
        for ts, topic, payload in stream:
            if speed:
                sim0 = ts if sim0 is None else sim0
                delay = wall0 + (ts - sim0) / speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            pub.send(topic, payload)
            sent += 1
    finally:
        pub.close()
    return sent


def publish_model(
    model: DemoModel,
    t0: int,
    t1: int,
    *,
    host: str | None = None,
    port: int | None = None,
    topic_root: str | None = None,
    speed: float | None = None,
    protocol: str = "3.1.1",
    mqtt_settings: MqttSettings | None = None,
) -> int:
    broker = (mqtt_settings or MqttSettings.from_env()).at(host, port, topic_root)
    return publish_stream(
        model_messages(model, t0, t1, broker.topic_root), speed=speed, protocol=protocol, mqtt_settings=broker
    )


def publish(
    *,
    host: str | None = None,
    port: int | None = None,
    topic_root: str | None = None,
    speed: float | None = None,
    start: datetime | str | None = None,
    hours: float = 1.0,
    end=None,
    days: float = 14,
    seed: int = 42,
    scale: float = 1.0,
    protocol: str = "3.1.1",
    mqtt_settings: MqttSettings | None = None,
) -> int:
    """Replay ``hours`` of the demo from ``start`` (default: the last ``hours`` of the period).

    A ``start`` at or after the period's end replays the territory's "live" continuation,
    which no file of the simulation holds (no overlap with the raw zone).
    """
    from ingestion.demo.model import to_datetime
    from ingestion.demo.simulator import build_model
    from lakehouse.settings import DemoSettings

    model = build_model(end=end or DemoSettings.from_env().end, days=days, seed=seed, scale=scale)
    t0 = epoch(to_datetime(start)) if start else model.end - int(hours * 3600)
    return publish_model(
        model,
        t0,
        t0 + int(hours * 3600),
        host=host,
        port=port,
        topic_root=topic_root,
        speed=speed,
        protocol=protocol,
        mqtt_settings=mqtt_settings,
    )
