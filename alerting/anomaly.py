"""Unsupervised, online anomaly detection per numeric series, aware of hour of day and weekday.

For every series (stream, entity, field) the detector keeps a seasonal profile of 48
slots (24 local hours × working day / weekend), 24 hour-only slots used while the
48-slot profile is still warming up, and the series' overall level (a floor for the
scale, so near-zero night values do not produce huge residuals). Each slot holds an
exponentially weighted mean and mean absolute deviation and a count of days (3 floats),
updated once per visit of the hour (the visit's mean, when the hour is over): a point is
always compared with previous days, never with today's earlier points of the same hour.
Memory per series is fixed (73 × 3 doubles and one visit accumulator) and the number of
series is capped (least recently seen series forgotten first).

A standardised residual feeds a two-sided CUSUM whose increments are weighted by the
time elapsed since the previous point (so sensor sampling rate does not change the false
alarm rate). Residuals are clipped to ±clip, so one extreme point adds at most
clip − slack: a raise needs several strong points in a row (persistence, not a spike).
The scale is the slot's deviation with floors relative to the slot mean and to the
series' overall level (a deviation of a few per cent of the usual level is not news,
however quiet the night). The anomaly score is CUSUM / threshold (≥ 1 means
anomalous); the confidence grows with the score and with how much history the slot has
seen. Anomalous visits update the profile with a much smaller weight, so a lasting
incident is not learnt as the new normal within hours.

Common-mode deviations are explained away. Series of the same kind (stream and field)
share their drivers: a cold night raises every building's heating, a regional pollution
episode lifts every station's particles, a holiday lowers all traffic. Each series'
latest standardised residual is kept per peer group; when a residual is large, the
median residual of the fresh peers (leave-one-out, at least ``min_peers``) is
subtracted when it has the same sign, so only the part that is local to this entity
accumulates. It never creates a deviation (a normal series among shifted peers stays
normal), it needs no model of the driver (temperature, wind, calendar), and a local
fault — a leak, a jam, a station next to a fire — still stands out from its peers.
Shared deviations remain the job of threshold rules (ATMO index, congestion levels).
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

from alerting.detectors import EpisodeDetector, EpisodeParams
from alerting.series_memory import MAX_SERIES, SeriesMemory
from alerting.signals import Signal
from alerting.windows import LocalClock

NSLOTS = 73  # 48 seasonal + 24 hour-only + 1 whole-series level
GLOBAL = 72


@dataclass(frozen=True)
class DetectorParams:
    alpha: float = 0.1  # EWMA weight of a new normal point
    slack: float = 1.0  # CUSUM allowance k, in standard deviations
    threshold: float = 6.0  # CUSUM decision h
    clip: float = 4.0  # residuals are clipped to ±clip: a raise needs ≥ h/(clip − k) strong points in a row
    unit_s: float = 900.0  # a CUSUM increment counts fully once per unit_s of elapsed time
    warmup: float = 3.0  # days (visits) a slot needs before it is used
    fallback_weight: float = 0.3  # CUSUM weight while only the hour-only slot is warm
    warmup_s: float = 2 * 86400  # history a series needs before it is scored
    rel_floor: float = 0.05  # minimum scale, relative to the slot mean
    level_floor: float = 0.10  # minimum scale, relative to the series' overall mean level
    abs_floor: float = 1e-6
    clear_ratio: float = 0.2  # clears when CUSUM falls below clear_ratio × threshold
    max_series: int = MAX_SERIES
    peers: bool = True  # subtract the common-mode residual of the series' peer group
    peer_window_s: float = 5400  # a peer's residual counts while it is at most this old
    min_peers: int = 3  # fewer fresh peers: no adjustment
    max_peers: int = 128  # residuals kept per group (bounded memory and cost)


class SeriesState:
    __slots__ = ("active", "first_ts", "last_ts", "neg", "peak", "pos", "prof", "visit")

    def __init__(self):
        self.prof = array("d", bytes(8 * NSLOTS * 3))  # mean, mad, n per slot
        self.pos = self.neg = 0.0
        self.first_ts = self.last_ts = None
        self.active = False
        self.peak = 0.0
        # current visit of an hour slot: slot, start, sum x, sum |x − seasonal mean|, sum |x − hour mean|, count, anomalous
        self.visit = [-1, 0.0, 0.0, 0.0, 0.0, 0, False]


class PeerGroup:
    """Latest standardised residual of each series of a group, for the common-mode estimate.

    Small groups (the usual case: a handful of stations or buildings) get the exact
    leave-one-out median at each request; in a large group one member barely moves the
    median, so it is computed over all fresh members and reused for ``CACHE_S`` of event time.
    """

    __slots__ = ("cache", "latest")
    EXACT_UP_TO = 32
    CACHE_S = 60.0

    def __init__(self):
        self.latest: dict = {}  # series key -> (ts, z)
        self.cache: tuple[float, float | None] | None = None  # (event time, median)

    def record(self, key, ts: float, z: float, p: DetectorParams) -> None:
        latest = self.latest
        if key not in latest and len(latest) >= p.max_peers:
            for k in [k for k, (t, _) in latest.items() if ts - t > p.peer_window_s]:
                del latest[k]  # forget stale members before refusing a new one
            if len(latest) >= p.max_peers:
                return
        latest[key] = (ts, z)

    def common(self, key, ts: float, p: DetectorParams) -> float | None:
        """Median residual of the fresh peers (leave-one-out), or None when too few."""
        if len(self.latest) > self.EXACT_UP_TO:
            if self.cache is None or abs(ts - self.cache[0]) > self.CACHE_S:
                self.cache = (ts, self._median(None, ts, p))
            return self.cache[1]
        return self._median(key, ts, p)

    def _median(self, key, ts: float, p: DetectorParams) -> float | None:
        zs = sorted(z for k, (t, z) in self.latest.items() if k != key and abs(ts - t) <= p.peer_window_s)
        if len(zs) < p.min_peers:
            return None
        mid = len(zs) // 2
        return zs[mid] if len(zs) % 2 else 0.5 * (zs[mid - 1] + zs[mid])


class SeasonalDetector:
    """Scores each new value of a series; returns (score, confidence, z, transition)."""

    def __init__(self, params: DetectorParams | None = None, clock: LocalClock | None = None):
        self.p = params or DetectorParams()
        self.clock = clock or LocalClock()
        self.series = SeriesMemory(self.p.max_series, SeriesState)
        self.groups: dict = {}  # peer group -> PeerGroup (one per stream and field: a handful)

    def update(self, key, ts: float, x: float, direction: str = "both", group=None):
        """``group`` names the peer group (e.g. stream and field); None scores the series alone."""
        p = self.p
        st = self.series.state(key)
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
            z = (x - mean) / scale
            if group is not None and p.peers:
                peers = self.groups.get(group)
                if peers is None:
                    peers = self.groups[group] = PeerGroup()
                peers.record(key, ts, z, p)
                if abs(z) > p.slack:  # only a large residual can move the CUSUM: only then ask the peers
                    common = peers.common(key, ts, p)
                    if common is not None and common * z > 0:
                        z -= math.copysign(min(abs(z), abs(common)), z)
            z = max(-p.clip, min(p.clip, z))
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
            conf = warm * (1.0 - 0.5**score)
            if not st.active and score >= 1.0:
                st.active, st.peak = True, score
                transition = "raise"
            elif st.active:
                st.peak = max(st.peak, score)
                if cusum <= p.clear_ratio * p.threshold:
                    st.active = False
                    transition = "clear"
        st.last_ts = ts
        v = st.visit
        if v[0] != slots[0] or ts - v[1] >= 3600:  # a new visit of an hour slot: the previous one is complete
            if v[5]:
                self._fold(prof, v, p)
            v[:] = [slots[0], ts, 0.0, 0.0, 0.0, 0, False]
        v[2] += x
        v[3] += abs(x - prof[slots[0] * 3]) if prof[slots[0] * 3 + 2] else 0.0
        v[4] += abs(x - prof[slots[1] * 3]) if prof[slots[1] * 3 + 2] else 0.0
        v[5] += 1
        v[6] = v[6] or st.active or abs(z) > 3
        i, n = GLOBAL * 3, prof[GLOBAL * 3 + 2]  # the overall level (a scale floor) follows every point
        a = 1.0 / (n + 1) if n < 1.0 / p.alpha else p.alpha
        prof[i] += a * (x - prof[i])
        prof[i + 2] = n + 1
        return score, conf, z, transition

    @staticmethod
    def _fold(prof, v, p: DetectorParams) -> None:
        """Learn a finished visit: its mean updates the slot once per day, so today's earlier
        points never become the reference of today's later ones (a lasting deviation within
        the hour is compared with previous days, not with itself)."""
        slot, count = v[0], v[5]
        mean_x = v[2] / count
        for s, dev in ((slot, v[3] / count), (48 + slot % 24, v[4] / count)):
            i = s * 3
            n = prof[i + 2]
            if n == 0:
                prof[i], prof[i + 1], prof[i + 2] = mean_x, 0.0, 1.0
                continue
            # fast start, then EWMA; an anomalous visit barely moves the profile, even while warming up
            a = p.alpha * 0.05 if v[6] else (1.0 / (n + 1) if n < 1.0 / p.alpha else p.alpha)
            prof[i] += a * (mean_x - prof[i])
            prof[i + 1] += a * (dev - prof[i + 1])
            prof[i + 2] = n + 1  # counts days of observation of this hour


DETECTOR_KINDS = ("seasonal", "episode")


@dataclass(frozen=True)
class SeriesSpec:
    stream: str
    field: str
    direction: str
    hazard: str
    event_fr: str
    category: str = "Infra"
    peers: bool = True  # compare with the other series of the same stream and field
    # "seasonal": hour-of-day and weekday profiles (city series with a daily rhythm);
    # "episode": no calendar, a few dozen points of history (machines, sensors, any rhythm)
    detector: str = "seasonal"

    def __post_init__(self):
        if self.detector not in DETECTOR_KINDS:
            raise TypeError(f"détecteur « {self.detector} » inconnu (attendu : {', '.join(DETECTOR_KINDS)})")

    @property
    def group(self):
        return (self.stream, self.field) if self.peers else None


class AnomalyWatcher:
    """Applies the detectors to the series declared in ``detectors.yaml`` and emits signals.

    Each declared series names its detector: ``seasonal`` (default; hour-of-day and weekday
    profiles, peers: the city's series, whose daily rhythm the episode detector would take
    for an anomaly every morning) or ``episode`` (:class:`~alerting.detectors.EpisodeDetector`:
    series without a calendar rhythm — machines, pumps, servers — scored after a few dozen
    points; it scores clearly better on public labelled benchmarks, see
    ``benchmarks/bench_anomaly.py``)."""

    def __init__(
        self,
        specs: list[SeriesSpec],
        ref,
        params: DetectorParams | None = None,
        episode_params: EpisodeParams | None = None,
    ):
        self.by_stream: dict[str, list[SeriesSpec]] = {}
        for s in specs:
            self.by_stream.setdefault(s.stream, []).append(s)
        self.ref = ref
        self.detector = SeasonalDetector(params)
        self.episodes = EpisodeDetector(episode_params)

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
            key = (ev.kind, ev.entity_id, spec.field)
            if spec.detector == "episode":
                score, conf, z, transition = self.episodes.update(key, x, spec.direction)
            else:
                score, conf, z, transition = self.detector.update(key, ev.ts, x, spec.direction, spec.group)
            if transition:
                out.append(self._signal(spec, ev, transition, x, score, conf, z))
        return out

    def _signal(self, spec, ev, state, x, score, conf, z) -> Signal:
        etype, eid = ev.entity_type, ev.entity_id
        if etype == "meter" and ev.data.get("sector_id"):  # a meter's anomaly is its sector's
            etype, eid = "sector", ev.data["sector_id"]
        sens = "au-dessus" if z > 0 else "en dessous"
        return Signal(
            source=f"anomalie.{spec.stream}.{spec.field}",
            origin="anomalie",
            state=state,
            hazard=spec.hazard,
            entity_type=etype,
            entity_id=eid,
            ts=ev.ts,
            district_id=self.ref.district_of(etype, eid),
            severity="Moderate" if score >= 2 else "Minor",
            urgency="Expected",
            certainty="Likely" if conf >= 0.7 else "Possible",
            category=spec.category,
            confidence=round(conf, 3),
            value=x,
            event_fr=spec.event_fr,
            headline_fr=(
                f"{spec.event_fr} : {spec.field} = {x:.1f}, nettement {sens} du profil habituel "
                f"à {self.ref.label(ev.entity_type, ev.entity_id)} (score {score:.1f})"
            ),
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
