"""Rules declared in YAML files: thresholds with hysteresis and minimum duration, counts, rates.

One class per rule ``type``, registered in :data:`RULE_TYPES`. Each rule keeps bounded
state per entity (at most ``max_keys`` entities; the oldest is forgotten first) and turns
an :class:`~alerting.events.Event` into zero or more :class:`~alerting.signals.Signal`.

Business constants (ATMO classes and bounds, EU limit values, congestion levels, leak
margin, night window) are not restated here nor in the rule files: they are the ``vars``
of the dbt project (``dbt_project/dbt_project.yml``), defined once with the texts they
come from and read by the dbt models too. A rule file refers to one as
``{constant: <name>}`` or ``{constant: <name>.<key>}`` (e.g.
``above: {constant: eu_limit_values_ugm3.no2.horaire}``); :func:`load_constants` reads
that file as plain YAML at load time (no dbt at run time).
"""

from __future__ import annotations

import unicodedata
from collections import deque
from pathlib import Path

import yaml

from alerting.errors import ConfigError
from alerting.events import KINDS, Event
from alerting.referential import Referential
from alerting.signals import CERTAINTIES, SEVERITIES, URGENCIES, Signal
from alerting.windows import Latch, LocalClock, RollingMean

DEFAULT_RULES = Path(__file__).parent / "config" / "rules.yaml"
# The business constants shared with the dbt models (the dbt project's ``vars``).
DEFAULT_CONSTANTS = Path(__file__).resolve().parents[1] / "dbt_project" / "dbt_project.yml"
# Streaming stand-in for each daily aggregation of the ATMO index (constant atmo_bounds_ugm3):
# the rolling mean over this many seconds is compared with the class bounds.
ATMO_WINDOWS_S = {"max_hourly": 3600, "mean_daily": 86400}
COMMON_KEYS = {
    "id",
    "type",
    "stream",
    "hazard",
    "severity",
    "urgency",
    "certainty",
    "category",
    "event_fr",
    "headline_fr",
    "instruction_fr",
    "confidence",
    "max_keys",
}


def load_constants(path: Path | str | None = None) -> dict:
    """The business constants: the ``vars`` of the dbt project file, read as plain YAML."""
    path = Path(path) if path else DEFAULT_CONSTANTS
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(path, f"constantes métier illisibles : {exc}") from None
    constants = doc.get("vars") if isinstance(doc, dict) else None
    if not isinstance(constants, dict):
        raise ConfigError(path, "bloc « vars » (constantes métier) absent")
    return constants


def constant(constants: dict, name: str):
    """Value of a constant by dotted name (``eu_limit_values_ugm3.no2.horaire``); KeyError if absent."""
    value = constants
    for part in str(name).split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(name)
        value = value[part]
    return value


def resolve_constants(value, constants: dict):
    """``value`` with every ``{constant: <name>}`` replaced by the constant's value."""
    if isinstance(value, dict):
        if set(value) == {"constant"}:
            return constant(constants, value["constant"])
        return {k: resolve_constants(v, constants) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_constants(v, constants) for v in value]
    return value


def class_code(label: str) -> str:
    """ASCII code of an ATMO class label (« très mauvais » -> ``tres_mauvais``)."""
    return unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().strip().replace(" ", "_")


class Rule:
    """Base class: common declaration fields and signal construction."""

    extra_keys: set[str] = set()
    required: set[str] = set()

    def __init__(self, spec: dict, ref: Referential, path: Path, constants: dict | None = None):
        self.spec, self.ref, self.path = spec, ref, path
        self.constants = constants or {}
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

    def const(self, name: str):
        """A business constant this rule needs (see :func:`load_constants`)."""
        try:
            return constant(self.constants, name)
        except KeyError:
            self.fail(f"constante métier « {name} » absente des variables du projet dbt")

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
            source=self.id,
            origin="regle",
            state=state,
            hazard=self.hazard,
            entity_type=etype,
            entity_id=eid,
            ts=ts,
            district_id=self.ref.district_of(etype, eid),
            severity=s.get("severity", "Moderate"),
            urgency=s.get("urgency", "Expected"),
            certainty=s.get("certainty", "Observed"),
            category=s.get("category", "Infra"),
            confidence=float(s.get("confidence", 0.9)),
            value=value,
            threshold=threshold,
            event_fr=s.get("event_fr", self.id),
            headline_fr=s.get("headline_fr", "").format(**values),
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

    def __init__(self, spec, ref, path, constants=None):
        super().__init__(spec, ref, path, constants)
        self.field = spec["field"]
        try:
            self.on = float(spec["above"])
            self.off = float(spec.get("clear_below", self.on))
        except (TypeError, ValueError):
            self.fail("above et clear_below doivent être des nombres (ou des constantes numériques)")
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
    """ATMO index of a station (worst sub-index) at or above ``min_class``.

    Classes and per-pollutant bounds are the constants ``atmo_classes`` and
    ``atmo_bounds_ugm3``; ``min_class`` is a class label or its ASCII code (``tres_mauvais``).
    """

    extra_keys = {"min_class", "min_duration"}
    required = {"min_class"}

    def __init__(self, spec, ref, path, constants=None):
        super().__init__(spec, ref, path, constants)
        self.labels = [str(label) for label in self.const("atmo_classes")]
        codes = [class_code(label) for label in self.labels]
        self.bounds: dict[str, tuple[tuple[float, ...], int]] = {}
        for pollutant, decl in self.const("atmo_bounds_ugm3").items():
            bounds = tuple(float(b) for b in decl.get("upper_bounds") or ())
            if len(bounds) != len(self.labels) - 1 or decl.get("aggregation") not in ATMO_WINDOWS_S:
                self.fail(
                    f"constante atmo_bounds_ugm3.{pollutant} invalide : {len(self.labels) - 1} bornes et une "
                    f"agrégation parmi {', '.join(ATMO_WINDOWS_S)} attendues"
                )
            self.bounds[pollutant] = (bounds, ATMO_WINDOWS_S[decl["aggregation"]])
        wanted = class_code(str(spec["min_class"]))
        if wanted not in codes:
            self.fail(f"min_class « {spec['min_class']} » inconnue (attendu : {', '.join(codes)})")
        self.min_class = codes.index(wanted)
        self.min_duration = float(spec.get("min_duration", 0))

    def _new(self):
        return {"latch": Latch(), "means": {p: RollingMean(w) for p, (_, w) in self.bounds.items()}, "classes": {}}

    def process(self, ev):
        st = None
        for pollutant, (bounds, _) in self.bounds.items():
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
            return [
                self.signal(
                    change,
                    ev.entity_type,
                    ev.entity_id,
                    ev.ts,
                    float(index),
                    float(self.min_class),
                    atmo=self.labels[index],
                    pollutant=worst.upper(),
                )
            ]
        return []


class NightFlowRule(Rule):
    """Minimum night flow of a water sector (sum of its meters) above its usual value.

    During the local night window the sector's flow is averaged over ``window`` seconds
    and its minimum kept (the minimum night flow, MNF). When the window closes the MNF is
    compared with the baseline, learnt separately for week nights and weekend nights
    (demand starts later at weekends) as an EWMA of past normal nights; the first
    ``learn_nights`` nights of each kind only learn. A night is a leak when its MNF exceeds
    the baseline by more than max(``min_excess_m3h``, ``min_excess_ratio`` × baseline) — the
    test of the dbt mart of leak candidates, with the same constants by default
    (``leak_min_excess_m3h``, ``leak_min_excess_ratio``, night window
    ``night_window_start_hour``/``night_window_end_hour``). A leak raises once per night
    until a normal night clears it.
    """

    extra_keys = {"night_hours", "min_excess_m3h", "min_excess_ratio", "learning_rate", "learn_nights", "window"}

    def __init__(self, spec, ref, path, constants=None):
        super().__init__(spec, ref, path, constants)
        hours = spec.get("night_hours") or [self.const("night_window_start_hour"), self.const("night_window_end_hour")]
        self.start_h, self.end_h = (int(h) for h in hours)
        self.min_excess = float(spec.get("min_excess_m3h", self.const("leak_min_excess_m3h")))
        self.min_ratio = float(spec.get("min_excess_ratio", self.const("leak_min_excess_ratio")))
        self.lr = float(spec.get("learning_rate", 0.3))
        self.learn_nights = int(spec.get("learn_nights", 1))
        self.window = float(spec.get("window", 1800))

    def _new_sector(self):
        return {
            "meters": {},
            "latch": Latch(),
            "baseline": [None, None],
            "nights": [0, 0],
            "night": None,
            "kind": 0,
            "since": None,
            "mnf": None,
            "mean": None,
        }

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
            limit = base + max(self.min_excess, self.min_ratio * base)
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

    def __init__(self, spec, ref, path, constants=None):
        super().__init__(spec, ref, path, constants)
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

    def __init__(self, spec, ref, path, constants=None):
        super().__init__(spec, ref, path, constants)
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
        if group is None or any(
            ev.data.get(k) not in (v if isinstance(v, list) else [v]) for k, v in self.match.items()
        ):
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


def load_rules(path: Path | str | None, ref: Referential, constants: dict | Path | str | None = None) -> list[Rule]:
    """Read and check a rules file (or every ``*.yaml`` of a folder); errors name file and rule.

    ``constants``: the business constants ``{constant: <name>}`` refers to, as a dict or the
    dbt project file holding them (default :data:`DEFAULT_CONSTANTS`).
    """
    path = Path(path) if path else DEFAULT_RULES
    if not isinstance(constants, dict):
        constants = load_constants(constants)
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
            try:
                spec = resolve_constants(spec, constants)
            except KeyError as exc:
                raise ConfigError(
                    file, f"règle « {rid} » : constante métier « {exc.args[0]} » inconnue (variables du projet dbt)"
                ) from None
            cls = RULE_TYPES.get(spec.get("type"))
            if cls is None:
                raise ConfigError(
                    file, f"règle « {rid} » : type « {spec.get('type')} » inconnu (attendu : {', '.join(RULE_TYPES)})"
                )
            if spec.get("stream") not in KINDS:
                raise ConfigError(
                    file, f"règle « {rid} » : flux « {spec.get('stream')} » inconnu (attendu : {', '.join(KINDS)})"
                )
            unknown = set(spec) - COMMON_KEYS - cls.extra_keys
            if unknown:
                raise ConfigError(file, f"règle « {rid} » : champ(s) inconnu(s) {', '.join(sorted(unknown))}")
            missing = cls.required - set(spec)
            if missing:
                raise ConfigError(
                    file, f"règle « {rid} » : champ(s) obligatoire(s) manquant(s) {', '.join(sorted(missing))}"
                )
            if rid in seen:
                raise ConfigError(file, f"règle « {rid} » déclarée deux fois")
            seen.add(rid)
            rules.append(cls(spec, ref, file, constants))
    return rules
