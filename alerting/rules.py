"""Rules declared in YAML files: thresholds with hysteresis and minimum duration, counts, rates.

One class per rule ``type``, registered in :data:`RULE_TYPES`. Each rule keeps bounded
state per entity (at most ``max_keys`` entities; the oldest is forgotten first) and turns
an :class:`~alerting.events.Event` into zero or more :class:`~alerting.signals.Signal`.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import yaml

from alerting.errors import ConfigError
from alerting.events import KINDS, Event
from alerting.referential import Referential
from alerting.signals import CERTAINTIES, SEVERITIES, URGENCIES, Signal
from alerting.windows import Latch, LocalClock, RollingMean

DEFAULT_RULES = Path(__file__).parent / "config" / "rules.yaml"
ATMO_CLASSES = ("bon", "moyen", "degrade", "mauvais", "tres_mauvais", "extremement_mauvais")
ATMO_LABELS_FR = ("bon", "moyen", "dégradé", "mauvais", "très mauvais", "extrêmement mauvais")
# Upper bounds of the first five classes (arrêté du 10 juillet 2020), µg/m³, and averaging window.
ATMO_BOUNDS = {
    "no2": ((40, 90, 120, 230, 340), 3600),
    "so2": ((100, 200, 350, 500, 750), 3600),
    "o3": ((50, 100, 130, 240, 380), 3600),
    "pm10": ((20, 40, 50, 100, 150), 86400),
    "pm25": ((10, 20, 25, 50, 75), 86400),
}
COMMON_KEYS = {"id", "type", "stream", "hazard", "severity", "urgency", "certainty", "category",
               "event_fr", "headline_fr", "instruction_fr", "confidence", "max_keys"}


class Rule:
    """Base class: common declaration fields and signal construction."""

    extra_keys: set[str] = set()
    required: set[str] = set()

    def __init__(self, spec: dict, ref: Referential, path: Path):
        self.spec, self.ref, self.path = spec, ref, path
        self.id = spec["id"]
        self.stream = spec["stream"]
        self.hazard = spec.get("hazard", "autre")
        self.max_keys = int(spec.get("max_keys", 100_000))
        self.state: dict = {}
        self.clock = LocalClock()
        for key, allowed in (("severity", SEVERITIES), ("urgency", URGENCIES), ("certainty", CERTAINTIES)):
            if key in spec and spec[key] not in allowed:
                self.fail(f"{key} « {spec[key]} » invalide (attendu : {', '.join(allowed)})")

    def fail(self, message: str):
        raise ConfigError(self.path, f"règle « {self.id} » : {message}")

    def slot(self, key, factory):
        """Per-entity state, bounded: the least recently created key is dropped first."""
        st = self.state.get(key)
        if st is None:
            if len(self.state) >= self.max_keys:
                self.state.pop(next(iter(self.state)))
            st = self.state[key] = factory()
        return st

    def signal(self, state: str, etype: str, eid: str, ts: float, value, threshold, **fmt) -> Signal:
        s = self.spec
        entity = self.ref.label(etype, eid)
        values = {"value": value if value is not None else 0.0, "threshold": threshold or 0.0, "entity": entity, **fmt}
        return Signal(
            source=self.id, origin="regle", state=state, hazard=self.hazard,
            entity_type=etype, entity_id=eid, ts=ts, district_id=self.ref.district_of(etype, eid),
            severity=s.get("severity", "Moderate"), urgency=s.get("urgency", "Expected"),
            certainty=s.get("certainty", "Observed"), category=s.get("category", "Infra"),
            confidence=float(s.get("confidence", 0.9)), value=value, threshold=threshold,
            event_fr=s.get("event_fr", self.id), headline_fr=s.get("headline_fr", "").format(**values),
            instruction_fr=s.get("instruction_fr", ""),
        )

    def process(self, ev: Event) -> list[Signal]:
        raise NotImplementedError

    def tick(self, now: float) -> list[Signal]:
        return []


class ThresholdRule(Rule):
    """A numeric field (optionally averaged over ``window`` s) above ``above`` for ``min_duration`` s."""

    extra_keys = {"field", "window", "above", "clear_below", "min_duration"}
    required = {"field", "above"}

    def __init__(self, spec, ref, path):
        super().__init__(spec, ref, path)
        self.field = spec["field"]
        self.on = float(spec["above"])
        self.off = float(spec.get("clear_below", self.on))
        if self.off > self.on:
            self.fail("clear_below doit être inférieur ou égal à above")
        self.window = float(spec.get("window", 0))
        self.min_duration = float(spec.get("min_duration", 0))

    def process(self, ev):
        raw = ev.data.get(self.field)
        if raw is None:
            return []
        value = float(raw)
        st = self.slot(ev.entity_id, lambda: [Latch(), RollingMean(self.window) if self.window else None])
        if st[1] is not None:
            value = st[1].add(ev.ts, value)
        change = st[0].step(ev.ts, value, self.on, self.off, self.min_duration)
        if change:
            return [self.signal(change, ev.entity_type, ev.entity_id, ev.ts, round(value, 2), self.on)]
        return []


class AtmoRule(Rule):
    """ATMO index of a station (worst sub-index) at or above ``min_class``."""

    extra_keys = {"min_class", "min_duration"}
    required = {"min_class"}

    def __init__(self, spec, ref, path):
        super().__init__(spec, ref, path)
        if spec["min_class"] not in ATMO_CLASSES:
            self.fail(f"min_class « {spec['min_class']} » inconnue (attendu : {', '.join(ATMO_CLASSES)})")
        self.min_class = ATMO_CLASSES.index(spec["min_class"])
        self.min_duration = float(spec.get("min_duration", 0))

    @staticmethod
    def _new():
        return {"latch": Latch(), "means": {p: RollingMean(w) for p, (_, w) in ATMO_BOUNDS.items()}, "classes": {}}

    def process(self, ev):
        st = None
        for pollutant, (bounds, _) in ATMO_BOUNDS.items():
            raw = ev.data.get(pollutant)
            if raw is None:
                continue
            st = st or self.slot(ev.entity_id, self._new)
            mean = st["means"][pollutant].add(ev.ts, float(raw))
            st["classes"][pollutant] = next((i for i, b in enumerate(bounds) if mean <= b), len(bounds))
        if st is None:
            return []
        worst = max(st["classes"], key=st["classes"].get)
        index = st["classes"][worst]
        change = st["latch"].step(ev.ts, index, self.min_class, self.min_class, self.min_duration)
        if change:
            return [self.signal(change, ev.entity_type, ev.entity_id, ev.ts, float(index), float(self.min_class),
                                atmo=ATMO_LABELS_FR[index], pollutant=worst.upper())]
        return []


class NightFlowRule(Rule):
    """Minimum night flow of a water sector (sum of its meters) above its usual value.

    During the local night window the sector's flow is averaged over ``window`` seconds
    and its minimum kept (the minimum night flow, MNF). When the window closes the MNF is
    compared with the baseline, learnt separately for week nights and weekend nights
    (demand starts later at weekends) as an EWMA of past normal nights; the first
    ``learn_nights`` nights of each kind only learn. A leak raises once per night until
    a normal night clears it.
    """

    extra_keys = {"night_hours", "ratio", "margin_m3h", "learning_rate", "learn_nights", "window"}

    def __init__(self, spec, ref, path):
        super().__init__(spec, ref, path)
        self.start_h, self.end_h = spec.get("night_hours", [2, 4])
        self.ratio = float(spec.get("ratio", 1.15))
        self.margin = float(spec.get("margin_m3h", 2.0))
        self.lr = float(spec.get("learning_rate", 0.3))
        self.learn_nights = int(spec.get("learn_nights", 1))
        self.window = float(spec.get("window", 1800))

    def _new_sector(self):
        return {"meters": {}, "latch": Latch(), "baseline": [None, None], "nights": [0, 0], "night": None,
                "kind": 0, "since": None, "mnf": None, "mean": None}

    def process(self, ev):
        sector_id = ev.data.get("sector_id") or (self.ref.get("meter", ev.entity_id) or {}).get("sector_id")
        flow = ev.data.get("flow_m3h")
        if not sector_id or flow is None:
            return []
        st = self.slot(sector_id, self._new_sector)
        st["meters"][ev.entity_id] = float(flow)
        hour, weekday = self.clock.hour_weekday(ev.ts)
        if self.start_h <= hour < self.end_h:
            night_id = int(ev.ts // 86400)
            if st["night"] != night_id:
                st["night"], st["kind"], st["since"], st["mnf"] = night_id, int(weekday >= 5), ev.ts, None
                st["mean"] = RollingMean(self.window)
            current = st["mean"].add(ev.ts, sum(st["meters"].values()))
            if ev.ts - st["since"] >= self.window:
                st["mnf"] = current if st["mnf"] is None else min(st["mnf"], current)
            return []
        if st["mnf"] is None:
            return []
        mnf, kind = st["mnf"], st["kind"]
        st["mnf"] = None  # the night is over: decide once
        base = st["baseline"][kind]
        change, limit = None, None
        if base is not None and st["nights"][kind] >= self.learn_nights:
            limit = base * self.ratio + self.margin
            change = st["latch"].step(ev.ts, mnf, limit, limit, 0)
        if not st["latch"].active:
            st["baseline"][kind] = mnf if base is None else (1 - self.lr) * base + self.lr * mnf
            st["nights"][kind] += 1
        if change:
            return [self.signal(change, "sector", sector_id, ev.ts, round(mnf, 2), round(limit, 2), baseline=base)]
        return []


class StateCountRule(Rule):
    """Count of entities of a group whose latest ``field`` is in ``values`` (e.g. lamps in fault per circuit)."""

    extra_keys = {"field", "values", "group_by", "group_type", "min_count", "clear_below", "min_duration"}
    required = {"field", "values", "group_by", "group_type", "min_count"}

    def __init__(self, spec, ref, path):
        super().__init__(spec, ref, path)
        self.field, self.values = spec["field"], set(spec["values"])
        self.group_by, self.group_type = spec["group_by"], spec["group_type"]
        self.on = float(spec["min_count"])
        self.off = float(spec.get("clear_below", self.on))
        self.min_duration = float(spec.get("min_duration", 0))

    def process(self, ev):
        group = ev.data.get(self.group_by)
        status = ev.data.get(self.field)
        if group is None or status is None:
            return []
        st = self.slot(group, lambda: [Latch(), set()])
        members = st[1]
        if status in self.values:
            members.add(ev.entity_id)
        else:
            members.discard(ev.entity_id)
        change = st[0].step(ev.ts, len(members), self.on, self.off, self.min_duration)
        if change:
            return [self.signal(change, self.group_type, group, ev.ts, float(len(members)), self.on)]
        return []


class RateRule(Rule):
    """Number of messages per group in a sliding ``window`` (e.g. citizen reports per district)."""

    extra_keys = {"group_by", "group_type", "window", "min_count", "clear_below", "match"}
    required = {"group_by", "group_type", "window", "min_count"}

    def __init__(self, spec, ref, path):
        super().__init__(spec, ref, path)
        self.group_by, self.group_type = spec["group_by"], spec["group_type"]
        self.window = float(spec["window"])
        self.on = float(spec["min_count"])
        self.off = float(spec.get("clear_below", self.on))
        self.match = spec.get("match") or {}
        self.cap = int(self.on * 20)

    def _count(self, st, now):
        times = st[1]
        while times and times[0] <= now - self.window:
            times.popleft()
        return len(times)

    def process(self, ev):
        group = ev.data.get(self.group_by)
        if group is None or any(ev.data.get(k) not in (v if isinstance(v, list) else [v]) for k, v in self.match.items()):
            return []
        st = self.slot(group, lambda: [Latch(), deque(maxlen=self.cap)])
        st[1].append(ev.ts)
        n = self._count(st, ev.ts)
        change = st[0].step(ev.ts, n, self.on, self.off, 0)
        return [self.signal(change, self.group_type, group, ev.ts, float(n), self.on)] if change else []

    def tick(self, now):
        out = []
        for group, st in self.state.items():
            if st[0].active:
                n = self._count(st, now)
                if st[0].step(now, n, self.on, self.off, 0) == "clear":
                    out.append(self.signal("clear", self.group_type, group, now, float(n), self.on))
        return out


RULE_TYPES: dict[str, type[Rule]] = {
    "threshold": ThresholdRule,
    "atmo": AtmoRule,
    "night_flow": NightFlowRule,
    "state_count": StateCountRule,
    "rate": RateRule,
}


def load_rules(path: Path | str | None, ref: Referential) -> list[Rule]:
    """Read and check a rules file (or every ``*.yaml`` of a folder); errors name file and rule."""
    path = Path(path) if path else DEFAULT_RULES
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    rules: list[Rule] = []
    seen: set[str] = set()
    for file in files:
        try:
            doc = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(file, f"lecture impossible : {exc}") from None
        for i, spec in enumerate(doc.get("rules", []), start=1):
            if not isinstance(spec, dict) or not spec.get("id"):
                raise ConfigError(file, f"règle n° {i} : champ « id » manquant")
            rid = spec["id"]
            cls = RULE_TYPES.get(spec.get("type"))
            if cls is None:
                raise ConfigError(file, f"règle « {rid} » : type « {spec.get('type')} » inconnu "
                                        f"(attendu : {', '.join(RULE_TYPES)})")
            if spec.get("stream") not in KINDS:
                raise ConfigError(file, f"règle « {rid} » : flux « {spec.get('stream')} » inconnu "
                                        f"(attendu : {', '.join(KINDS)})")
            unknown = set(spec) - COMMON_KEYS - cls.extra_keys
            if unknown:
                raise ConfigError(file, f"règle « {rid} » : champ(s) inconnu(s) {', '.join(sorted(unknown))}")
            missing = cls.required - set(spec)
            if missing:
                raise ConfigError(file, f"règle « {rid} » : champ(s) obligatoire(s) manquant(s) {', '.join(sorted(missing))}")
            if rid in seen:
                raise ConfigError(file, f"règle « {rid} » déclarée deux fois")
            seen.add(rid)
            rules.append(cls(spec, ref, file))
    return rules
