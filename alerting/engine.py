"""The streaming engine: MQTT message → event → rules + detectors → incidents → notifications.

:meth:`Engine.process` is synchronous and cheap (dictionary look-ups and a few floats per
message); :meth:`Engine.tick` (about once a second) clears rate windows, escalates,
applies operators' actions and saves the state. :class:`MqttRunner` subscribes to
``<root>/#`` on the broker as an independent consumer of the ingestion topics.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from pathlib import Path

import yaml

from alerting.anomaly import AnomalyWatcher, DetectorParams, SeriesSpec
from alerting.bursts import BurstDetector
from alerting.dispatch import Dispatcher, load_audiences
from alerting.errors import ConfigError
from alerting.events import EventError, parse
from alerting.graph import ConsequenceGraph
from alerting.incidents import Decision, IncidentManager
from alerting.referential import Referential
from alerting.rules import load_rules
from alerting.store import AlertStore

DEFAULT_DETECTORS = Path(__file__).parent / "config" / "detectors.yaml"
log = logging.getLogger(__name__)


def topic_root(env=None) -> str:
    import os
    return (env or os.environ).get("HYPERVISEUR_MQTT_TOPIC_ROOT", "city")


def load_detectors(path, ref) -> tuple[AnomalyWatcher, BurstDetector]:
    path = Path(path) if path else DEFAULT_DETECTORS
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        params = DetectorParams(**(doc.get("params") or {}))
        specs = [SeriesSpec(**s) for s in doc.get("series") or []]
        bursts = BurstDetector(ref, **(doc.get("bursts") or {}))
    except (OSError, yaml.YAMLError, TypeError) as exc:
        raise ConfigError(path, f"déclaration des détecteurs invalide : {exc}") from None
    return AnomalyWatcher(specs, ref, params), bursts


class Engine:
    def __init__(self, lh, *, seeds=None, rules=None, detectors=None, graph=None, channels=None,
                 root: str | None = None, audit=None, persist: bool = True, anomalies: bool = True):
        self.lh = lh
        self.ref = Referential.load(seeds)
        self.rules = load_rules(rules, self.ref)
        self.rules_by_stream: dict[str, list] = {}
        for r in self.rules:
            self.rules_by_stream.setdefault(r.stream, []).append(r)
        self.watcher, self.bursts = load_detectors(detectors, self.ref)
        self.anomalies = anomalies
        self.graph = ConsequenceGraph.load(self.ref, graph)
        self.manager = IncidentManager(self.graph)
        self.store = AlertStore(lh) if persist else None
        self.last_action = ""
        if self.store:
            state = self.store.load()
            self.manager.load(state.get("incidents", []))
            self.last_action = state.get("last_action", "")
        self.dispatcher = Dispatcher(lh, self.ref, load_audiences(lh, channels), audit) if channels is not False else None
        self.root = root or topic_root()
        self.root_depth = len(self.root.split("/"))
        self.clock = 0.0  # latest event time seen
        self.lock = threading.RLock()
        self.stats = {"messages": 0, "rejected": 0, "signals": 0, "decisions": 0}
        self.signals: list = []  # recent signals (bounded), for evaluation and the CLI
        self.last_event = None

    # -- per message ---------------------------------------------------------------------
    def process(self, topic: str, payload: bytes) -> list[Decision]:
        with self.lock:
            self.stats["messages"] += 1
            try:
                ev = parse(topic, payload, self.root_depth)
            except EventError as exc:
                self.stats["rejected"] += 1
                log.debug("message ignoré : %s", exc)
                return []
            self.last_event = ev
            if ev.ts > self.clock:
                self.clock = ev.ts
            sigs = []
            for rule in self.rules_by_stream.get(ev.kind, ()):
                sigs += rule.process(ev)
            if self.anomalies:
                sigs += self.watcher.process(ev)
                if ev.kind in ("reports", "social"):
                    sigs += self.bursts.process(ev)
            return self._decide(sigs) if sigs else []

    def _decide(self, sigs) -> list[Decision]:
        out = []
        for sig in sigs:
            self.stats["signals"] += 1
            self.signals.append(sig)
            decision = self.manager.apply(sig)
            if decision:
                out.append(decision)
        del self.signals[:-10_000]
        self.stats["decisions"] += len(out)
        if self.dispatcher:
            for d in out:
                self.dispatcher.submit(d)
        return out

    # -- periodic ------------------------------------------------------------------------
    def tick(self, now: float | None = None) -> list[Decision]:
        with self.lock:
            now = now if now is not None else self.clock
            sigs = [s for r in self.rules for s in r.tick(now)] + (self.bursts.tick(now) if self.anomalies else [])
            out = self._decide(sigs) if sigs else []
            escalations = self.manager.tick(now)
            if self.dispatcher:
                for d in escalations:
                    self.dispatcher.submit(d)
            out += escalations
            out += self.apply_actions()
            self.save()
            return out

    def apply_actions(self) -> list[Decision]:
        if not self.store:
            return []
        out = []
        for key, act in self.store.actions_after(self.last_action):
            self.last_action = key
            if act.get("incident_id") not in self.manager.incidents:
                log.warning("action %s sur un incident inconnu : %s", act.get("action"), act.get("incident_id"))
                continue
            if act["action"] == "ack":
                self.manager.acknowledge(act["incident_id"], act.get("actor", "?"), act.get("ts", time.time()))
            elif act["action"] == "close":
                d = self.manager.close(act["incident_id"], act.get("actor", "?"), act.get("ts", time.time()))
                out.append(d)
                if self.dispatcher:
                    self.dispatcher.submit(d)
            self.manager.dirty = True
        return out

    def save(self, force: bool = False) -> None:
        if self.store and (self.manager.dirty or force):
            self.manager.prune()
            self.store.save([i.to_dict() for i in self.manager.incidents.values()], self.last_action,
                            {**self.stats, "clock": self.clock})
            self.manager.dirty = False


class MqttRunner:
    """Feeds an :class:`Engine` from the broker; ``observer(engine, decisions)`` runs after each message."""

    def __init__(self, engine: Engine, host: str, port: int, observer=None, qos: int = 1, tick_s: float = 1.0):
        import paho.mqtt.client as mqtt

        self.engine, self.observer, self.qos, self.tick_s = engine, observer, qos, tick_s
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"hyperviseur-alerting-{uuid.uuid4().hex[:8]}",
                                  clean_session=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.host, self.port = host, port
        self.connected = threading.Event()
        self.stop_event = threading.Event()

    def _on_connect(self, client, userdata, flags, reason_code, properties=None):
        client.subscribe(f"{self.engine.root}/#", qos=self.qos)

    def _on_subscribe(self, *args):
        self.connected.set()

    def _on_message(self, client, userdata, msg):
        decisions = self.engine.process(msg.topic, msg.payload)
        if self.observer:
            self.observer(self.engine, decisions)

    def start(self, timeout: float = 10) -> "MqttRunner":
        self.client.on_subscribe = self._on_subscribe
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        if not self.connected.wait(timeout):
            raise ConnectionError(f"abonnement MQTT impossible sur {self.host}:{self.port}")
        self._ticker = threading.Thread(target=self._tick_loop, daemon=True, name="alert-tick")
        self._ticker.start()
        return self

    def _tick_loop(self):
        while not self.stop_event.wait(self.tick_s):
            try:
                self.engine.tick()
            except Exception as exc:  # keep supervising; the error is logged for the operator
                log.error("tick du moteur d'alerte en échec : %s", exc)

    def stop(self) -> None:
        self.stop_event.set()
        self.client.loop_stop()
        self.client.disconnect()
        self.engine.tick()
