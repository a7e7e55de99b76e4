"""Unsupervised, online anomaly detection per numeric series, aware of hour of day and weekday.

For every series (stream, entity, field) the detector keeps a seasonal profile of 48
slots (24 local hours × working day / weekend), 24 hour-only slots used while the
48-slot profile is still warming up, and the series' overall level (a floor for the
scale, so near-zero night values do not produce huge residuals). Each slot holds an exponentially weighted mean and
mean absolute deviation (3 floats), so memory per series is fixed (73 × 3 doubles) and
the number of series is capped (least recently seen series forgotten first).

A standardised residual feeds a two-sided CUSUM whose increments are weighted by the
time elapsed since the previous point (so sensor sampling rate does not change the false
alarm rate). The anomaly score is CUSUM / threshold (≥ 1 means anomalous); the
confidence grows with the score and with how much history the slot has seen.
Anomalous points update the profile with a much smaller weight, so a lasting incident
is not learnt as the new normal within hours.
"""

from __future__ import annotations

import math
from array import array
from collections import OrderedDict
from dataclasses import dataclass

from alerting.signals import Signal
from alerting.windows import LocalClock

NSLOTS = 73  # 48 seasonal + 24 hour-only + 1 whole-series level
GLOBAL = 72


@dataclass(frozen=True)
class DetectorParams:
    alpha: float = 0.1          # EWMA weight of a new normal point
    slack: float = 1.0          # CUSUM allowance k, in standard deviations
    threshold: float = 6.0      # CUSUM decision h
    clip: float = 6.0           # residuals are clipped to ±clip
    unit_s: float = 900.0       # a CUSUM increment counts fully once per unit_s of elapsed time
    warmup: float = 3.0         # hours of observation (≈ days) a slot needs before it is used
    fallback_weight: float = 0.3  # CUSUM weight while only the hour-only slot is warm
    warmup_s: float = 2 * 86400 # history a series needs before it is scored
    rel_floor: float = 0.05     # minimum scale, relative to the slot mean
    level_floor: float = 0.05   # minimum scale, relative to the series' overall mean level
    abs_floor: float = 1e-6
    clear_ratio: float = 0.2    # clears when CUSUM falls below clear_ratio × threshold
    max_series: int = 200_000


class SeriesState:
    __slots__ = ("prof", "pos", "neg", "first_ts", "last_ts", "active", "peak")

    def __init__(self):
        self.prof = array("d", bytes(8 * NSLOTS * 3))  # mean, mad, n per slot
        self.pos = self.neg = 0.0
        self.first_ts = self.last_ts = None
        self.active = False
        self.peak = 0.0


class SeasonalDetector:
    """Scores each new value of a series; returns (score, confidence, z, transition)."""

    def __init__(self, params: DetectorParams | None = None, clock: LocalClock | None = None):
        self.p = params or DetectorParams()
        self.clock = clock or LocalClock()
        self.series: OrderedDict[tuple, SeriesState] = OrderedDict()

    def _state(self, key) -> SeriesState:
        st = self.series.get(key)
        if st is None:
            if len(self.series) >= self.p.max_series:
                self.series.popitem(last=False)
            st = self.series[key] = SeriesState()
        else:
            self.series.move_to_end(key)
        return st

    def update(self, key, ts: float, x: float, direction: str = "both"):
        p = self.p
        st = self._state(key)
        hour, weekday = self.clock.hour_weekday(ts)
        slots = (hour + (24 if weekday >= 5 else 0), 48 + hour, GLOBAL)
        prof = st.prof
        if st.first_ts is None:
            st.first_ts = ts
        ready = ts - st.first_ts >= p.warmup_s
        ref = next((s for s in slots[:2] if prof[s * 3 + 2] >= p.warmup), None) if ready else None
        z = 0.0
        score = conf = 0.0
        transition = None
        if ref is not None:
            mean, mad, n = prof[ref * 3], prof[ref * 3 + 1], prof[ref * 3 + 2]
            level = abs(prof[GLOBAL * 3])
            scale = max(1.25 * mad, p.rel_floor * abs(mean), p.level_floor * level, p.abs_floor)
            z = max(-p.clip, min(p.clip, (x - mean) / scale))
            dt = p.unit_s if st.last_ts is None else max(0.0, min(ts - st.last_ts, p.unit_s))
            w = dt / p.unit_s
            if ref != slots[0]:  # hour-only fallback (e.g. first weekend): weaker evidence
                w *= p.fallback_weight
            if direction != "down":
                st.pos = max(0.0, st.pos + w * (z - p.slack))
            if direction != "up":
                st.neg = max(0.0, st.neg + w * (-z - p.slack))
            cusum = max(st.pos, st.neg)
            score = cusum / p.threshold
            warm = n / (n + p.warmup)
            conf = warm * (1.0 - 0.5 ** score)
            if not st.active and score >= 1.0:
                st.active, st.peak = True, score
                transition = "raise"
            elif st.active:
                st.peak = max(st.peak, score)
                if cusum <= p.clear_ratio * p.threshold:
                    st.active = False
                    transition = "clear"
        seen = 1.0 if st.last_ts is None else max(0.0, min(1.0, (ts - st.last_ts) / 3600))
        st.last_ts = ts
        weight = p.alpha * (0.05 if (st.active or abs(z) > 3) else 1.0)
        for s in slots:
            i = s * 3
            n = prof[i + 2]
            if n == 0:
                prof[i], prof[i + 1], prof[i + 2] = x, 0.0, seen
                continue
            a = max(weight, 1.0 / (n + 1)) if n < 1.0 / p.alpha else weight  # fast start, then EWMA
            dev = abs(x - prof[i])
            prof[i] += a * (x - prof[i])
            prof[i + 1] += a * (dev - prof[i + 1])
            prof[i + 2] = n + seen  # counts hours of observation, so a slot warms up over days
        return score, conf, z, transition


@dataclass(frozen=True)
class SeriesSpec:
    stream: str
    field: str
    direction: str
    hazard: str
    event_fr: str
    category: str = "Infra"


class AnomalyWatcher:
    """Applies the detector to the series declared in ``detectors.yaml`` and emits signals."""

    def __init__(self, specs: list[SeriesSpec], ref, params: DetectorParams | None = None):
        self.by_stream: dict[str, list[SeriesSpec]] = {}
        for s in specs:
            self.by_stream.setdefault(s.stream, []).append(s)
        self.ref = ref
        self.detector = SeasonalDetector(params)

    def process(self, ev) -> list[Signal]:
        specs = self.by_stream.get(ev.kind)
        if not specs:
            return []
        out = []
        for spec in specs:
            raw = ev.data.get(spec.field)
            if raw is None:
                continue
            x = float(raw)
            score, conf, z, transition = self.detector.update((ev.kind, ev.entity_id, spec.field), ev.ts, x, spec.direction)
            if transition:
                out.append(self._signal(spec, ev, transition, x, score, conf, z))
        return out

    def _signal(self, spec, ev, state, x, score, conf, z) -> Signal:
        etype, eid = ev.entity_type, ev.entity_id
        if etype == "meter" and ev.data.get("sector_id"):  # a meter's anomaly is its sector's
            etype, eid = "sector", ev.data["sector_id"]
        sens = "au-dessus" if z > 0 else "en dessous"
        return Signal(
            source=f"anomalie.{spec.stream}.{spec.field}", origin="anomalie", state=state, hazard=spec.hazard,
            entity_type=etype, entity_id=eid, ts=ev.ts, district_id=self.ref.district_of(etype, eid),
            severity="Moderate" if score >= 2 else "Minor", urgency="Expected",
            certainty="Likely" if conf >= 0.7 else "Possible", category=spec.category,
            confidence=round(conf, 3), value=x, event_fr=spec.event_fr,
            headline_fr=(f"{spec.event_fr} : {spec.field} = {x:.1f}, nettement {sens} du profil habituel "
                         f"à {self.ref.label(ev.entity_type, ev.entity_id)} (score {score:.1f})"),
            details={"score": round(score, 2), "z": round(z, 2), "sensor": ev.entity_id, "field": spec.field},
        )


def poisson_sf(count: int, lam: float) -> float:
    """P(X ≥ count) for X ~ Poisson(lam)."""
    if count <= 0:
        return 1.0
    term = math.exp(-lam)
    cdf = term
    for i in range(1, count):
        term *= lam / i
        cdf += term
    return max(0.0, 1.0 - cdf)
