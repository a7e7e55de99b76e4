"""The streaming engine: MQTT message → event → rules + detectors → incidents → notifications.

:meth:`Engine.process` is synchronous and cheap (dictionary look-ups and a few floats per
message); :meth:`Engine.tick` (about once a second) clears rate windows, escalates,
applies operators' actions and saves the state — storage I/O happens outside the
engine's lock, so a slow object store never delays the evaluation of messages.
:class:`~alerting.runner.MqttRunner` subscribes to ``<root>/#`` on the broker as an
independent consumer of the ingestion topics.

Time sanity: a message beyond the limits of the settings is rejected (``stats["rejected"]``);
an event whose time lies outside ``[now − max_event_age_days, now + max_clock_skew_s]`` is
counted in ``stats["out_of_window"]`` and ignored. ``now`` is the injected ``clock`` (the
wall clock by default; the demo replays pass a clock anchored on the simulated period), so
the engine's own clock — the latest accepted event time, which drives escalation — never
runs more than ``max_clock_skew_s`` ahead of it, whatever one message says.
"""

from __future__ import annotations

import logging
import threading
import time
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
from ingestion.stream.clock import Clock, TimeWindow, wall_clock
from lakehouse.settings import LimitsSettings

DEFAULT_DETECTORS = Path(__file__).parent / "config" / "detectors.yaml"
log = logging.getLogger(__name__)


def topic_root(env=None) -> str:
    """``HYPERVISEUR_MQTT_TOPIC_ROOT`` (default ``city``) from ``env``, default: the process environment."""
    from lakehouse.settings import MqttSettings

    return MqttSettings.from_env(env).topic_root


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
    def __init__(
        self,
        lh,
        *,
        seeds=None,
        rules=None,
        detectors=None,
        graph=None,
        channels=None,
        root: str | None = None,
        audit=None,
        persist: bool = True,
        anomalies: bool = True,
        clock: Clock = wall_clock,
    ):
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
        self.dispatcher = (
            Dispatcher(lh, self.ref, load_audiences(lh, channels), audit) if channels is not False else None
        )
        own = getattr(getattr(lh, "settings", None), "mqtt", None)
        self.root = root or (own.topic_root if own is not None else topic_root())
        self.root_depth = len(self.root.split("/"))
        self.limits = getattr(getattr(lh, "settings", None), "limits", None) or LimitsSettings()
        self.window = TimeWindow(self.limits, clock)
        self.clock = 0.0  # latest accepted event time
        self.lock = threading.RLock()
        self.stats = {"messages": 0, "rejected": 0, "out_of_window": 0, "signals": 0, "decisions": 0}
        self.signals: list = []  # recent signals (bounded), for evaluation and the CLI
        self.last_event = None

    # -- per message ---------------------------------------------------------------------
    def process(self, topic: str, payload: bytes) -> list[Decision]:
        with self.lock:
            self.stats["messages"] += 1
            try:
                ev = parse(topic, payload, self.root_depth, self.limits)
            except EventError as exc:
                self.stats["rejected"] += 1
                log.debug("message ignoré : %s", exc)
                return []
            why = self.window.refusal("horodatage", ev.ts)
            if why:
                self.stats["out_of_window"] += 1
                log.debug("message ignoré sur %s : %s", topic[:200], why)
                return []
            self.last_event = ev
            self.clock = max(self.clock, ev.ts)
            try:
                sigs = self._signals(ev)
            except (TypeError, ValueError) as exc:  # a field of the wrong type (text where a number is read)
                self.stats["rejected"] += 1
                log.debug("message ignoré sur %s : champ illisible (%s)", topic[:200], exc)
                return []
            return self._decide(sigs) if sigs else []

    def _signals(self, ev) -> list:
        sigs = []
        for rule in self.rules_by_stream.get(ev.kind, ()):
            sigs += rule.process(ev)
        if self.anomalies:
            sigs += self.watcher.process(ev)
            if ev.kind in ("reports", "social"):
                sigs += self.bursts.process(ev)
        return sigs

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
        actions = self.store.actions_after(self.last_action) if self.store else []  # I/O before the lock
        with self.lock:
            now = now if now is not None else self.clock
            sigs = [s for r in self.rules for s in r.tick(now)] + (self.bursts.tick(now) if self.anomalies else [])
            out = self._decide(sigs) if sigs else []
            escalations = self.manager.tick(now)
            if self.dispatcher:
                for d in escalations:
                    self.dispatcher.submit(d)
            out += escalations
            out += self._apply_actions(actions)
        self.save()
        return out

    def _apply_actions(self, actions) -> list[Decision]:
        out = []
        for key, act in actions:
            if key <= self.last_action:
                continue
            self.last_action = key
            if act.get("incident_id") not in self.manager.incidents:
                log.warning("action %s sur un incident inconnu : %s", act.get("action"), act.get("incident_id"))
                continue
            if act["action"] == "ack":
                self.manager.acknowledge(
                    act["incident_id"], act.get("actor", "?"), act.get("ts", time.time()), act.get("identity")
                )
            elif act["action"] == "close":
                d = self.manager.close(
                    act["incident_id"], act.get("actor", "?"), act.get("ts", time.time()), act.get("identity")
                )
                out.append(d)
                if self.dispatcher:
                    self.dispatcher.submit(d)
            self.manager.dirty = True
        return out

    def save(self, force: bool = False) -> None:
        """Snapshot the incidents under the lock, write them after releasing it."""
        if not self.store:
            return
        with self.lock:
            if not (self.manager.dirty or force):
                return
            self.manager.prune()
            snapshot = (
                [i.to_dict() for i in self.manager.incidents.values()],
                self.last_action,
                {**self.stats, "clock": self.clock},
            )
            self.manager.dirty = False
        self.store.save(*snapshot)
