"""Feed an engine from MQTT without evaluating on the network thread.

paho runs every callback on its single network thread: evaluating there means a slow
message (or a tick holding the engine's lock) stalls reception, acknowledgements and
keep-alives, and latency grows with every queued packet. Here the callback only appends
``(topic, payload, received_at)`` to a bounded :class:`Inbox`; one worker drains it in
batches (one lock acquisition per batch) and evaluates in arrival order, so the order of
every series is the broker's order (at QoS ≥ 1 nothing is dropped). The time from reception to
decision of the latest messages is kept (bounded sample) and reported by :attr:`MqttRunner.stats`,
so an operator can tell a slow engine from a slow network or broker.

Bounded memory: the inbox holds at most ``queue_max_messages`` (settings,
``HYPERVISEUR_QUEUE_MAX_MESSAGES``). When it is full, a QoS ≥ 1 message waits for room
(back-pressure: paho stops reading and acknowledging, the broker keeps the rest queued for
this client, its ``max_queued_messages`` limit applies); a QoS 0 message is dropped, counted
and logged in French (policy of :class:`ingestion.stream.inbox.Inbox`). Both appear in
:attr:`MqttRunner.stats` (``full_waits``, ``full_wait_s``, ``dropped``).

QoS 1 (at least once) is the default subscription level, because it is what makes the
back-pressure lossless: the broker sends at most its in-flight window of unacknowledged
messages and keeps the rest queued for this client, whereas QoS 0 is paced only by TCP
buffers and the broker's per-client queue. It costs one PUBACK per message (measured
here: about 20 µs CPU per message more than QoS 0 in the subscriber). QoS 2 would add
two more packets per message for exactly-once delivery the detectors do not need (a rare
duplicate re-asserts a latch, it does not raise a second alert).

Session: with a fixed ``client_id`` (the long-lived service, ``hyperviseur alerts engine``)
the session is persistent (MQTT 3.1.1 ``clean_session`` false): the broker keeps the
subscription and queues the QoS 1 messages published while the engine is down, and delivers
them when it comes back, so nothing sent during a restart escapes evaluation. Without one
(replays, tests), a random id and a clean session: nothing outlives the connection.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque

from ingestion.stream.inbox import Inbox

log = logging.getLogger(__name__)


class MqttRunner:
    """Subscribes to ``<root>/#`` and feeds an engine through an :class:`Inbox`.

    ``observer(engine, decisions)`` runs after each evaluated message, in the worker
    (``engine.last_event`` is that message's event). Credentials and TLS come from ``mqtt``
    (:class:`~lakehouse.settings.MqttSettings`), by default the engine's lakehouse settings
    (``HYPERVISEUR_MQTT_USERNAME``, ``..._PASSWORD``/``_FILE``, ``..._TLS_*``).
    """

    def __init__(
        self,
        engine,
        host: str | None = None,
        port: int | None = None,
        observer=None,
        qos: int = 1,
        tick_s: float = 1.0,
        queue_size: int | None = None,
        batch: int = 100,
        linger_s: float = 0.002,
        mqtt=None,
        client_id: str | None = None,
    ):
        import paho.mqtt.client as mqtt_client

        from lakehouse.settings import MqttSettings

        if mqtt is None:
            mqtt = getattr(getattr(engine.lh, "settings", None), "mqtt", None) or MqttSettings.from_env()
        mqtt = mqtt.at(host, port)
        host, port = mqtt.host, mqtt.port

        self.engine, self.observer, self.qos, self.tick_s, self.batch = engine, observer, qos, tick_s, batch
        self.linger_s = linger_s
        self.inbox = Inbox(queue_size or engine.limits.queue_max_messages, "file de réception du moteur d'alertes")
        self.client_id = client_id or f"hyperviseur-alerting-{uuid.uuid4().hex[:8]}"
        self.client_id_fixed = client_id is not None
        self.client = mqtt_client.Client(
            mqtt_client.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=client_id is None,
        )
        self.client.reconnect_delay_set(0.05, 2.0)
        mqtt.configure(self.client)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self.host, self.port = host, port
        self.subscribed = threading.Event()  # cleared while the connection is lost (readiness)
        self.connected = threading.Event()
        self.stop_event = threading.Event()
        self.errors = 0
        self.refused: str | None = None
        self.waits: deque = deque(maxlen=10_000)  # reception → decision, seconds, latest messages

    @property
    def stats(self) -> dict:
        waits = sorted(self.waits.copy())  # the copy is atomic; iterating while the worker appends is not
        pct = {
            f"internal_p{q}_ms": round(waits[min(len(waits) - 1, int(q / 100 * len(waits)))] * 1000, 2)
            if waits
            else None
            for q in (50, 99)
        }
        return {**self.inbox.stats, "queued": len(self.inbox), "errors": self.errors, **pct}

    def _on_connect(self, client, userdata, flags, reason_code, properties=None):
        if reason_code.is_failure:  # wrong credentials or ACL: start() reports it after its timeout
            log.error("connexion MQTT refusée par %s:%s : %s", self.host, self.port, reason_code)
            self.refused = str(reason_code)
            return
        client.subscribe(f"{self.engine.root}/#", qos=self.qos)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None):
        self.subscribed.clear()
        if not self.stop_event.is_set():  # paho reconnects by itself; say so, a clean session loses the broker's queue
            session = (
                "session persistante" if self.client_id_fixed else "session non persistante : file du broker perdue"
            )
            log.warning(
                "connexion MQTT perdue avec %s:%s (%s), reconnexion (%s)", self.host, self.port, reason_code, session
            )

    def _on_subscribe(self, *args):
        self.connected.set()
        self.subscribed.set()

    def _on_message(self, client, userdata, msg):
        self.inbox.put((msg.topic, msg.payload, time.time()), msg.qos)

    def start(self, timeout: float = 10) -> MqttRunner:
        self._worker = threading.Thread(target=self._work, daemon=True, name="alert-eval")
        self._worker.start()
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        if not self.connected.wait(timeout):
            self.client.loop_stop()
            self.inbox.close()
            why = f" (connexion refusée : {self.refused})" if self.refused else ""
            raise ConnectionError(f"abonnement MQTT impossible sur {self.host}:{self.port}{why}")
        self._ticker = threading.Thread(target=self._tick_loop, daemon=True, name="alert-tick")
        self._ticker.start()
        return self

    def _work(self) -> None:
        engine, observer, inbox = self.engine, self.observer, self.inbox
        while True:
            batch = inbox.take(self.batch, 0.2)
            if not batch:
                if inbox.closed:
                    return
                continue
            with engine.lock:  # one acquisition per batch; the tick thread gets its turn between batches
                for topic, payload, received_at in batch:
                    try:
                        decisions = engine.process(topic, payload)
                        self.waits.append(time.time() - received_at)
                        if observer:
                            observer(engine, decisions)
                    except Exception as exc:
                        self.errors += 1
                        log.error("évaluation du message %s en échec : %s", topic, exc)
            # Pause after every batch. paho's thread reads one packet per select() and gives up the
            # GIL at each one: against a worker that never sleeps it would get the GIL back only
            # every switch interval (5 ms), one packet at a time, and the broker's queue would grow
            # while ours stays short. The pause leaves it whole stretches to read in, and makes the
            # next batch gather several messages per wake-up (throughput ceiling batch / linger_s,
            # 50 000 msg/s by default, above what one evaluation thread does).
            time.sleep(self.linger_s)

    def _tick_loop(self):
        while not self.stop_event.wait(self.tick_s):
            try:
                self.engine.tick()
            except Exception as exc:
                log.error("tick du moteur d'alerte en échec : %s", exc)

    def stop(self, drain_timeout: float = 60) -> None:
        """Stop receiving, evaluate what is already queued, then tick once more."""
        self.stop_event.set()
        self.client.loop_stop()
        self.client.disconnect()
        self.inbox.close()
        self._worker.join(drain_timeout)
        if self._worker.is_alive():
            log.error("arrêt du moteur : %d message(s) non évalué(s)", len(self.inbox))
        self.engine.tick()
