"""Long-running MQTT consumer: topics → validated micro-batches in the raw zone, at least once.

Delivery guarantees:

- persistent session (fixed client id, no clean session) and manual acknowledgements:
  a QoS 1 message is acknowledged only after the batch holding it is in the lake (raw or
  quarantine), so a crash or a broker restart makes the broker redeliver it;
- a redelivery is not duplicated: rows whose dataset key was already written (a bounded
  window of recent keys, warmed at start-up from the last batches this consumer wrote)
  are counted as duplicates and skipped, and batch ids derive from the keys, so writing
  the same messages again overwrites the same object;
- acknowledgements of messages received before a reconnection are not sent on the new
  connection (packet ids are reused there); the broker redelivers those messages and
  the key window drops them.

Hostile input and faults:

- every message is read within the limits of the settings (``max_message_bytes``,
  ``max_nesting_depth``, ``max_cell_chars``) and its event time must lie in
  ``[now − max_event_age_days, now + max_clock_skew_s]`` (``now``: ``ConsumerConfig.clock``,
  the wall clock unless a demo replay anchors it on its period). Anything else becomes a
  quarantined record with its French reason, acknowledged with its batch like any other
  message, so one bad message never stops the stream;
- the inbox between paho's thread and this loop is bounded (``queue_max_messages``): full,
  it makes QoS ≥ 1 deliveries wait (the broker keeps the rest) and drops QoS 0 ones,
  counted in ``StreamStats.dropped`` and logged (see :mod:`ingestion.stream.inbox`);
- a lost connection is logged with its cause, paho reconnects with an exponential backoff
  (``RECONNECT_MIN_S`` doubling up to ``RECONNECT_MAX_S``), the outage is measured (``StreamStats.outages_s``) and, with
  ``ConsumerConfig.audit``, recorded in the audit log.

A batch is flushed when it reaches ``batch_size`` rows, when its oldest message is
``max_latency_s`` old, or when no message came for ``idle_flush_s`` (a broker that limits
unacknowledged messages in flight stops sending until we acknowledge).

Credentials and TLS come from the settings (``HYPERVISEUR_MQTT_USERNAME``,
``HYPERVISEUR_MQTT_PASSWORD``/``_FILE``, ``HYPERVISEUR_MQTT_TLS_*``). The consumer refuses to
start when the raw-encryption key file is missing (personal columns are never written in clear).
"""

from __future__ import annotations

import hashlib
import json
import logging
import signal
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field, replace

import paho.mqtt.client as mqtt
import pyarrow as pa

from ingestion.pipeline import IngestReport, register, write_chunk
from ingestion.spec import DatasetSpec
from ingestion.stream.clock import Clock, TimeWindow, wall_clock
from ingestion.stream.inbox import Inbox
from ingestion.stream.mapping import DOMAINS, PayloadError, decode, key_digest, parse_topic, rows_for
from ingestion.validation import ERROR_COLUMN, ROW_COLUMN
from lakehouse.audit import AuditLog
from lakehouse.encryption import raw_encryption
from lakehouse.lake import Zone
from lakehouse.platform import Lakehouse
from lakehouse.settings import MqttSettings

log = logging.getLogger(__name__)
RECONNECT_MIN_S, RECONNECT_MAX_S = 0.05, 2.0  # paho's reconnection backoff: doubles from min to max

UNROUTABLE = ("mqtt", "unroutable")  # quarantine dataset for messages outside every known topic


@dataclass
class ConsumerConfig:
    """Address and topic root (``None``: from the settings' MQTT group), batching and session."""

    host: str | None = None
    port: int | None = None
    topic_root: str | None = None
    client_id: str = "hyperviseur-stream"
    protocol: str = "3.1.1"  # "5" for MQTT v5 brokers (receive-maximum lifts the in-flight limit)
    batch_size: int = 5000
    max_latency_s: float = 2.0
    idle_flush_s: float = 0.05
    source_tz: str = "Europe/Paris"
    dedup_window: int = 1_000_000  # keys remembered to drop redeliveries
    warm_minutes: float = 10.0  # at start, remember the keys of the last minutes this consumer wrote
    mqtt: MqttSettings | None = None  # credentials and TLS; None: the lakehouse's settings
    clock: Clock = wall_clock  # "now" of the event-time window; demo replays anchor it on their period
    audit: AuditLog | None = None  # where broker outages are recorded
    health_port: int | None = None  # /healthz and /readyz on 127.0.0.1 while running (0: a free port)


@dataclass
class StreamStats:
    messages: int = 0
    redelivered: int = 0  # messages the broker flagged as duplicates
    messages_quarantined: int = 0  # unreadable messages (bad topic, bad JSON)
    batches: int = 0
    acked: int = 0
    reconnects: int = 0
    dropped: int = 0  # QoS 0 messages dropped because the inbox was full
    outages_s: list[float] = field(default_factory=list)  # measured broker outages, seconds
    report: IngestReport = field(default_factory=lambda: IngestReport(origin="mqtt"))

    @property
    def rows_raw(self) -> int:
        return self.report.rows_raw

    @property
    def rows_quarantined(self) -> int:
        return self.report.rows_quarantined

    @property
    def duplicates(self) -> int:
        return self.report.duplicates


class RecentKeys:
    """A bounded set of key digests, oldest forgotten first."""

    def __init__(self, size: int):
        self.size = size
        self._set: set[bytes] = set()
        self._order: deque[bytes] = deque()

    def __contains__(self, key: bytes) -> bool:
        return key in self._set

    def __len__(self) -> int:
        return len(self._set)

    def add(self, key: bytes) -> None:
        if key in self._set:
            return
        self._set.add(key)
        self._order.append(key)
        while len(self._order) > self.size:
            self._set.discard(self._order.popleft())


@dataclass
class _Pending:
    generation: int
    mid: int
    qos: int


class StreamConsumer:
    def __init__(self, lh: Lakehouse, config: ConsumerConfig | None = None):
        self.lh = lh
        config = config or ConsumerConfig()
        broker = (config.mqtt or lh.settings.mqtt).at(config.host, config.port, config.topic_root)
        self.config = replace(config, host=broker.host, port=broker.port, topic_root=broker.topic_root, mqtt=broker)
        self.stats = StreamStats()
        self.recent = RecentKeys(self.config.dedup_window)
        self.limits = lh.settings.limits
        self.window = TimeWindow(self.limits, self.config.clock)
        self._inbox = Inbox(self.limits.queue_max_messages, "file de réception du consommateur MQTT")
        self._lost_at: float | None = None
        self._outages: list[tuple[str, float]] = []  # (cause, seconds), recorded by the main loop
        self._cause = ""
        self._stop = threading.Event()
        self._generation = 0
        self._connected = threading.Event()
        self.subscribed = threading.Event()  # set once the broker confirmed the subscription
        self.refused: str | None = None  # the broker's reason when it refused the connection
        self._rows: dict[str, list[dict]] = defaultdict(list)
        self._bad: dict[tuple[str, str], list[dict]] = defaultdict(list)
        self._pending: list[_Pending] = []
        self._buffered = 0
        self._first_at: float | None = None
        self._last_at = time.monotonic()
        self.last_flush: float | None = None  # wall time of the latest written batch
        self.health = None  # the running HealthServer, if any
        version = mqtt.MQTTv5 if self.config.protocol == "5" else mqtt.MQTTv311
        kwargs = {} if version == mqtt.MQTTv5 else {"clean_session": False}
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.config.client_id,
            protocol=version,
            manual_ack=True,
            **kwargs,
        )
        broker.configure(self.client)
        self.client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: self.subscribed.set()

    # -- callbacks (network thread) -------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("connexion MQTT refusée : %s", reason_code)
            self.refused = str(reason_code)
            return
        self._generation += 1
        if self._generation > 1:
            self.stats.reconnects += 1
        if self._lost_at is not None:
            outage = time.monotonic() - self._lost_at
            self._lost_at = None
            self.stats.outages_s.append(round(outage, 3))
            self._outages.append((self._cause, outage))
            log.warning("reconnecté au broker MQTT %s:%s après %.1f s de coupure", *self._address(), outage)
        client.subscribe(f"{self.config.topic_root}/#", qos=1)
        self._connected.set()

    def _address(self) -> tuple[str, int]:
        return self.config.host, self.config.port

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self._stop.is_set():
            return
        self._lost_at = self._lost_at or time.monotonic()
        if flags.is_disconnect_packet_from_server:
            self._cause = f"le broker a fermé la session ({reason_code})"
        else:
            self._cause = (
                f"connexion coupée sans message du broker : broker arrêté ou réseau interrompu ({reason_code})"
            )
        log.warning(
            "connexion au broker MQTT %s:%s perdue — %s ; reconnexion automatique, attente de %g s doublée "
            "jusqu'à %g s entre les essais ; les messages non acquittés seront redélivrés",
            *self._address(),
            self._cause,
            RECONNECT_MIN_S,
            RECONNECT_MAX_S,
        )

    def _on_connect_fail(self, client, userdata) -> None:
        log.info("broker MQTT %s:%s injoignable : nouvel essai de reconnexion", *self._address())

    def _on_message(self, client, userdata, msg) -> None:
        if not self._inbox.put((self._generation, msg.mid, msg.qos, msg.topic, msg.payload, msg.dup), msg.qos):
            self.stats.dropped += 1

    # -- origin and warm-up ---------------------------------------------------------------
    def origin(self, domain: str) -> str:
        return f"mqtt://{self.config.host}:{self.config.port}/{self.config.topic_root}/{domain}/+"

    def warm_up(self) -> int:
        """Remember the keys this consumer's topics wrote in the last minutes before the
        latest write, so messages written but not acknowledged before a crash are not
        written twice when the broker redelivers them."""
        con = self.lh.duckdb()
        added = 0
        for domain, (spec, _, _) in DOMAINS.items():
            if not self.lh.storage.list(self.lh.lake.dataset_prefix(Zone.RAW, spec.source, spec.name)):
                continue
            src = (
                f"read_parquet('{self.lh.lake.dataset_glob(Zone.RAW, spec.source, spec.name)}', "
                "hive_partitioning=true, union_by_name=true)"
            )
            cols = ", ".join(spec.key)
            rows = con.execute(
                f"SELECT {cols} FROM {src} WHERE _source = $o AND _ingested_at >= "
                f"(SELECT max(_ingested_at) FROM {src} WHERE _source = $o) - to_microseconds($w)",
                {"o": self.origin(domain), "w": int(self.config.warm_minutes * 60e6)},
            ).fetchall()
            for r in rows:
                self.recent.add(key_digest(spec, dict(zip(spec.key, r))))
                added += 1
        con.close()
        return added

    # -- main loop --------------------------------------------------------------------------
    def run(
        self,
        *,
        max_seconds: float | None = None,
        max_messages: int | None = None,
        idle_exit_s: float | None = None,
        install_signals: bool = False,
    ) -> StreamStats:
        """Consume until stopped (``stop()``, SIGINT/SIGTERM if ``install_signals``), or
        ``max_seconds`` elapsed, or ``max_messages`` received, or ``idle_exit_s`` without any."""
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: self._stop.set())
        for spec, _, _ in DOMAINS.values():
            raw_encryption(self.lh.settings, spec.encrypted_columns)  # fail closed before consuming anything
        for spec, _, _ in DOMAINS.values():
            register(self.lh, spec)
        self.warm_up()
        if self.config.health_port is not None:
            from ingestion.stream.health import HealthServer

            self.health = HealthServer("consommateur MQTT", self.config.health_port, self.readiness).start()
        self.client.connect(
            self.config.host,
            self.config.port,
            keepalive=30,
            **({"clean_start": False} if self.config.protocol == "5" else {}),
        )
        self.client.loop_start()
        started = time.monotonic()
        self._last_at = started
        try:
            if not self._connected.wait(10):
                why = f"connexion refusée ({self.refused})" if self.refused else "injoignable"
                raise ConnectionError(f"broker MQTT {why} sur {self.config.host}:{self.config.port}")
            while not self._stop.is_set():
                self._drain(timeout=0.01)
                self._record_outages()
                now = time.monotonic()
                if self._should_flush(now):
                    self.flush()
                if max_seconds is not None and now - started >= max_seconds:
                    break
                if max_messages is not None and self.stats.messages >= max_messages and not self._buffered:
                    break
                if idle_exit_s is not None and now - self._last_at >= idle_exit_s and not self._buffered:
                    break
            self._drain(timeout=0)
            self.flush()
        finally:
            if self.health:
                self.health.stop()
            self._stop.set()
            self._inbox.close()  # releases paho's thread if it waits for room
            self.client.disconnect()
            self.client.loop_stop()
            self._record_outages()
        return self.stats

    def stop(self) -> None:
        self._stop.set()

    def readiness(self) -> tuple[bool, dict]:
        """Ready while connected and subscribed; the lag: messages waiting and age of the oldest unwritten one."""
        connected = self._connected.is_set() and self._lost_at is None and self.subscribed.is_set()
        oldest = time.monotonic() - self._first_at if self._first_at is not None else 0.0
        return connected, {
            "messages": self.stats.messages,
            "lots": self.stats.batches,
            "file_attente": len(self._inbox) + self._buffered,
            "retard_s": round(oldest, 1),
            "dernier_lot": self.last_flush,
        }

    def _drain(self, timeout: float) -> None:
        for item in self._inbox.take(max(1, self.config.batch_size - self._buffered), timeout):
            self._handle(*item)

    def _record_outages(self) -> None:
        while self._outages:
            cause, seconds = self._outages.pop(0)
            if self.config.audit is not None:
                self.config.audit.append(
                    "stream.broker_outage",
                    self.config.client_id,
                    {"broker": "{}:{}".format(*self._address()), "cause": cause, "duration_s": round(seconds, 3)},
                )

    def _should_flush(self, now: float) -> bool:
        if not self._pending and not self._buffered:
            return False
        return (
            self._buffered >= self.config.batch_size
            or (self._first_at is not None and now - self._first_at >= self.config.max_latency_s)
            or now - self._last_at >= self.config.idle_flush_s
        )

    def _handle(self, generation: int, mid: int, qos: int, topic: str, payload: bytes, dup: bool) -> None:
        self.stats.messages += 1
        self.stats.redelivered += int(dup)
        index = self.stats.messages
        now = time.monotonic()
        self._last_at = now
        self._first_at = self._first_at or now
        self._pending.append(_Pending(generation, mid, qos))
        target = UNROUTABLE
        try:
            domain, entity = parse_topic(topic, self.config.topic_root)
            spec = DOMAINS[domain][0]
            target = (spec.source, spec.name)
            body = decode(payload, self.limits)
            rows = rows_for(domain, entity, body, index, self.config.source_tz, self.limits, self.window)
        except PayloadError as exc:
            self._bad[target].append(self._bad_row(topic, payload, index, str(exc)))
            self._buffered += 1
            return
        self._rows[spec.qualified_name].extend(rows)
        self._buffered += len(rows)

    def _bad_row(self, topic: str, payload: bytes, index: int, reason: str) -> dict:
        text = payload.decode("utf-8", errors="replace")
        if len(text) > self.limits.max_cell_chars:  # keep a bounded, still distinct, trace of a huge payload
            digest = hashlib.blake2b(payload, digest_size=16).hexdigest()
            text = f"{text[: self.limits.max_cell_chars]}… [tronqué : {len(payload)} octets, blake2b {digest}]"
        error = {"file": topic, "row": index, "errors": [{"field": "payload", "message": reason, "value": text[:200]}]}
        return {"topic": topic, "payload": text, ROW_COLUMN: index, ERROR_COLUMN: json.dumps(error, ensure_ascii=False)}

    # -- writing and acknowledging -------------------------------------------------------
    def flush(self) -> None:
        """Write every buffered row to the lake, then acknowledge the messages."""
        report = self.stats.report
        for name, rows in self._rows.items():
            spec = DOMAINS[next(d for d, v in DOMAINS.items() if v[0].qualified_name == name)][0]
            self._write_rows(spec, rows, report)
        for (source, dataset), rows in self._bad.items():
            fresh, digests = self._fresh(
                rows,
                lambda r: hashlib.blake2b((r["topic"] + "\x1f" + r["payload"]).encode(), digest_size=8).digest(),
                f"{source}.{dataset}",
            )
            if fresh:
                table = pa.Table.from_pylist(fresh, schema=_BAD_SCHEMA)
                m = self.lh.lake.write_batch(
                    Zone.QUARANTINE, source, dataset, table, origin="mqtt", batch_id=_batch_id(digests)
                )
                counts = report.datasets[f"{source}.{dataset}"]
                counts.rows_in += len(fresh)
                counts.rows_quarantined += m.rows
                counts.quarantine_keys.append(m.key)
                self.stats.messages_quarantined += len(fresh)
            for d in digests:
                self.recent.add(d)
        if self._rows or self._bad:
            self.stats.batches += 1
            self.last_flush = time.time()
        current = self._generation
        for p in self._pending:
            if p.qos > 0 and p.generation == current:
                self.client.ack(p.mid, p.qos)
                self.stats.acked += 1
        self._rows.clear()
        self._bad.clear()
        self._pending.clear()
        self._buffered = 0
        self._first_at = None

    def _fresh(self, rows: list[dict], digest, dataset: str) -> tuple[list[dict], list[bytes]]:
        """Rows not written recently nor earlier in this batch (a redelivery can arrive before
        the first copy is flushed), with their digests; the others are counted as duplicates."""
        fresh, digests, batch = [], [], set()
        for r in rows:
            d = digest(r)
            if d not in self.recent and d not in batch:
                batch.add(d)
                fresh.append(r)
                digests.append(d)
        skipped = len(rows) - len(fresh)
        if skipped:
            counts = self.stats.report.datasets[dataset]
            counts.rows_in += skipped
            counts.duplicates += skipped
        return fresh, digests

    def _write_rows(self, spec: DatasetSpec, rows: list[dict], report: IngestReport) -> None:
        fresh, digests = self._fresh(rows, lambda r: key_digest(spec, r), spec.qualified_name)
        if fresh:
            table = pa.Table.from_pylist(fresh, schema=_text_schema(spec))
            domain = next(d for d, v in DOMAINS.items() if v[0] is spec)
            write_chunk(self.lh, spec, table, self.origin(domain), report, batch_id=_batch_id(digests))
        for d in digests:
            self.recent.add(d)


_BAD_SCHEMA = pa.schema(
    [("topic", pa.string()), ("payload", pa.string()), (ROW_COLUMN, pa.int64()), (ERROR_COLUMN, pa.string())]
)


def _text_schema(spec: DatasetSpec) -> pa.Schema:
    return pa.schema([pa.field(c.name, pa.string()) for c in spec.columns] + [pa.field(ROW_COLUMN, pa.int64())])


def _batch_id(digests: list[bytes]) -> str:
    """Batch id derived from the (sorted) keys it holds: the same messages give the same id."""
    h = hashlib.sha256()
    for d in sorted(digests):
        h.update(d)
    return "mqtt-" + h.hexdigest()[:24]
