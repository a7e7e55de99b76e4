"""Bounded-memory helpers for streams: bucketed rolling mean, hysteresis latch, local clock."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Europe/Paris")


class RollingMean:
    """Mean over the last ``window`` seconds of event time, kept in at most ``buckets`` buckets."""

    __slots__ = ("bucket_s", "nbuckets", "buckets", "total", "count")

    def __init__(self, window: float, buckets: int = 12):
        self.bucket_s = max(1.0, window / buckets)
        self.nbuckets = buckets
        self.buckets: deque = deque()
        self.total = 0.0
        self.count = 0

    def add(self, ts: float, value: float) -> float:
        idx = int(ts // self.bucket_s)
        buckets = self.buckets
        if buckets and buckets[-1][0] == idx:
            b = buckets[-1]
            b[1] += value
            b[2] += 1
        elif not buckets or idx > buckets[-1][0]:
            buckets.append([idx, value, 1])
        else:  # late message: count it in the newest bucket rather than reorder
            b = buckets[-1]
            b[1] += value
            b[2] += 1
        self.total += value
        self.count += 1
        oldest = idx - self.nbuckets
        while buckets and buckets[0][0] <= oldest:
            _, s, c = buckets.popleft()
            self.total -= s
            self.count -= c
        return self.total / self.count if self.count else value


class Latch:
    """Hysteresis with minimum duration.

    Arms when the value reaches ``on``; raises once it has stayed at or above ``off`` for
    ``min_duration`` seconds; clears when it falls below ``off``. With ``off`` < ``on`` a
    value hovering around the threshold neither flaps nor resets the duration.
    """

    __slots__ = ("active", "since")

    def __init__(self):
        self.active = False
        self.since: float | None = None

    def step(self, ts: float, value: float, on: float, off: float, min_duration: float) -> str | None:
        if self.active:
            if value < off:
                self.active, self.since = False, None
                return "clear"
            return None
        if self.since is None:
            if value >= on:
                self.since = ts
            else:
                return None
        elif value < off:
            self.since = None
            return None
        if ts - self.since >= min_duration:
            self.active = True
            return "raise"
        return None


class LocalClock:
    """Local hour of day and weekday of an epoch time, cached per UTC hour (bounded)."""

    def __init__(self, tz=LOCAL_TZ, cache_size: int = 4096):
        self.tz = tz
        self.cache: dict[int, tuple[int, int]] = {}
        self.cache_size = cache_size

    def hour_weekday(self, ts: float) -> tuple[int, int]:
        key = int(ts // 3600)
        hit = self.cache.get(key)
        if hit is None:
            local = datetime.fromtimestamp(key * 3600, UTC).astimezone(self.tz)
            hit = (local.hour, local.weekday())
            if len(self.cache) >= self.cache_size:
                self.cache.clear()
            self.cache[key] = hit
        return hit
