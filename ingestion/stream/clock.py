"""Injected clocks and the window of plausible event times.

An event time outside ``[now − max_event_age_days, now + max_clock_skew_s]`` is refused: the
stream quarantines the message, the alert engine counts and ignores it. ``now`` is a clock
given by the caller: the wall clock in production (:func:`wall_clock`, the default
everywhere), the simulated time of a replay for the demo only (:class:`SimulatedClock`, set
by the code that replays the period), so that a replay of March is not "months old".
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

from lakehouse.settings import LimitsSettings

Clock = Callable[[], float]  # epoch seconds


def wall_clock() -> float:
    return time.time()


class SimulatedClock:
    """The simulated "now" of a replay: reads what the replaying code last set."""

    def __init__(self, now: datetime | float):
        self.set(now)

    def set(self, now: datetime | float) -> None:
        """``now``: epoch seconds or a datetime (naive: UTC)."""
        if isinstance(now, datetime):
            now = (now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp()
        self.now = float(now)

    def __call__(self) -> float:
        return self.now


def iso(ts: float) -> str:
    """UTC ISO text of an epoch time, or its repr when no calendar date holds it."""
    try:
        return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return repr(ts)


class TimeWindow:
    """``refusal(field, ts)``: ``None`` for a plausible event time, else the French reason."""

    def __init__(self, limits: LimitsSettings, clock: Clock = wall_clock):
        self.max_age_s = limits.max_event_age_days * 86400
        self.max_skew_s = limits.max_clock_skew_s
        self.clock = clock

    def refusal(self, field: str, ts: float) -> str | None:
        if not math.isfinite(ts):
            return f"{field} non fini ({ts!r}) refusé"
        now = self.clock()
        if ts < now - self.max_age_s:
            return (
                f"{field} = {iso(ts)} plus ancien que la borne {iso(now - self.max_age_s)} "
                f"(max_event_age_days = {self.max_age_s / 86400:g} j, HYPERVISEUR_MAX_EVENT_AGE_DAYS)"
            )
        if ts > now + self.max_skew_s:
            return (
                f"{field} = {iso(ts)} postérieur à la borne {iso(now + self.max_skew_s)} "
                f"(max_clock_skew_s = {self.max_skew_s:g} s, HYPERVISEUR_MAX_CLOCK_SKEW_S)"
            )
        return None
