"""Physical backdrop of the demo: time grids, local time, sun, weather, usage profiles.

Everything is a pure function of the seed and the UTC instant, so any window (a day of
history, an hour of "live" replay after the period) is reproducible on its own. Weather
is hourly over the whole horizon and interpolated for finer sampling periods.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import numpy as np

from ingestion.demo.territory import Territory

LOCAL_TZ = "Europe/Paris"
PARIS = ZoneInfo(LOCAL_TZ)
LAT, LON = 50.66, 2.90
HOUR = 3600
DAY = 86400

# Share of the peak, per local hour (weekday / Saturday / Sunday): loops on urban arterials.
TRAFFIC_PROFILE = {
    "weekday": (
        0.05,
        0.03,
        0.02,
        0.02,
        0.04,
        0.12,
        0.35,
        0.75,
        0.92,
        0.62,
        0.50,
        0.55,
        0.62,
        0.55,
        0.50,
        0.58,
        0.75,
        0.92,
        0.85,
        0.55,
        0.35,
        0.25,
        0.15,
        0.08,
    ),
    "saturday": (
        0.08,
        0.05,
        0.03,
        0.02,
        0.03,
        0.05,
        0.10,
        0.20,
        0.35,
        0.50,
        0.60,
        0.62,
        0.55,
        0.50,
        0.55,
        0.60,
        0.62,
        0.58,
        0.50,
        0.40,
        0.30,
        0.25,
        0.18,
        0.12,
    ),
    "sunday": (
        0.10,
        0.06,
        0.04,
        0.02,
        0.02,
        0.03,
        0.06,
        0.10,
        0.18,
        0.28,
        0.38,
        0.42,
        0.40,
        0.35,
        0.38,
        0.42,
        0.42,
        0.40,
        0.36,
        0.30,
        0.24,
        0.18,
        0.12,
        0.08,
    ),
}
# Domestic water demand relative to the daily mean, per local hour (≈ 0 at 02:00–04:00:
# the night flow is then legitimate night use plus leakage only).
WATER_PROFILE = (
    0.55,
    0.25,
    0.02,
    0.02,
    0.10,
    0.45,
    1.10,
    1.65,
    1.55,
    1.30,
    1.20,
    1.20,
    1.30,
    1.20,
    1.00,
    0.90,
    0.95,
    1.10,
    1.35,
    1.45,
    1.35,
    1.15,
    0.95,
    0.75,
)


def stable_code(text: str) -> int:
    """A process-independent integer for a name, to seed per-dataset random streams."""
    return zlib.crc32(text.encode())


def rng_for(seed: int, *names: str | int) -> np.random.Generator:
    return np.random.default_rng([seed, *(stable_code(n) if isinstance(n, str) else n for n in names)])


def epoch(dt: datetime) -> int:
    return int(dt.timestamp())


def utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def local_clock(ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(local hour as a float, local weekday 0=Monday) of UTC epoch seconds."""
    if len(ts) == 0:
        return np.zeros(0), np.zeros(0, int)
    lo, hi = int(ts.min()), int(ts.max())
    off_lo = utc(lo).astimezone(PARIS).utcoffset().total_seconds()
    off_hi = utc(hi).astimezone(PARIS).utcoffset().total_seconds()
    if off_lo == off_hi:
        local = ts + off_lo
    else:  # a daylight-saving change inside the window
        local = ts + np.array([utc(int(t)).astimezone(PARIS).utcoffset().total_seconds() for t in ts])
    hour = (local % DAY) / HOUR
    weekday = ((local // DAY) + 3) % 7  # 1970-01-01 was a Thursday
    return hour, weekday.astype(int)


def profile_at(profile: tuple[float, ...], hour: np.ndarray) -> np.ndarray:
    """Periodic linear interpolation of a 24-value hourly profile (value at h + 0.5)."""
    xs = np.arange(-0.5, 25.5, 1.0)
    ys = np.concatenate([[profile[-1]], profile, [profile[0]]])
    return np.interp(hour, xs, ys)


def traffic_share(hour: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    out = profile_at(TRAFFIC_PROFILE["weekday"], hour)
    sat, sun = weekday == 5, weekday == 6
    if sat.any():
        out[sat] = profile_at(TRAFFIC_PROFILE["saturday"], hour[sat])
    if sun.any():
        out[sun] = profile_at(TRAFFIC_PROFILE["sunday"], hour[sun])
    return out


def sun_elevation(ts: np.ndarray) -> np.ndarray:
    """Approximate solar elevation (degrees) at the commune, enough for lighting and ozone."""
    days = ts / DAY
    doy = (days + 4383.5) % 365.25  # day of year, phase-aligned on 2000-01-01
    decl = np.radians(23.44) * np.sin(2 * np.pi * (284 + doy) / 365.25)
    solar_hour = ((ts % DAY) / HOUR + LON / 15.0 + 0.1) % 24
    omega = np.radians(15.0 * (solar_hour - 12.0))
    phi = np.radians(LAT)
    sin_el = np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.cos(omega)
    return np.degrees(np.arcsin(np.clip(sin_el, -1, 1)))


def grid(t0: int, t1: int, period: int) -> np.ndarray:
    """Sampling instants in [t0, t1) aligned on multiples of ``period`` since the epoch."""
    first = -(-t0 // period) * period
    return np.arange(first, t1, period, dtype=np.int64)


@dataclass
class Weather:
    """Hourly weather over a horizon; values at any instant by linear interpolation."""

    start: int
    temperature_c: np.ndarray
    humidity_pct: np.ndarray
    wind_speed_ms: np.ndarray
    wind_direction_deg: np.ndarray
    precipitation_mm: np.ndarray  # per hour
    pressure_hpa: np.ndarray

    def at(self, name: str, ts: np.ndarray) -> np.ndarray:
        values = getattr(self, name)
        hours = (ts - self.start) / HOUR
        return np.interp(hours, np.arange(len(values)), values)

    def hourly_index(self, ts: np.ndarray) -> np.ndarray:
        return np.clip((ts - self.start) // HOUR, 0, len(self.temperature_c) - 1)


def _ar1(rng: np.random.Generator, n: int, phi: float, sigma: float) -> np.ndarray:
    noise = rng.normal(0, sigma, n)
    out = np.empty(n)
    acc = 0.0
    for i in range(n):
        acc = phi * acc + noise[i]
        out[i] = acc
    return out


def make_weather(seed: int, start: int, hours: int, calm: tuple[int, int] | None) -> Weather:
    """Late-winter weather over ``hours`` from ``start``; ``calm`` is an anticyclonic window
    (cold, still air, high pressure, no rain) that lets pollution build up."""
    rng = rng_for(seed, "weather")
    ts = start + np.arange(hours) * HOUR
    hour, _ = local_clock(ts)
    synoptic = _ar1(rng, hours, 0.97, 0.35)
    temp = 7.5 + 0.12 * (np.arange(hours) / 24) + 4.0 * np.sin(2 * np.pi * (hour - 9) / 24) + synoptic
    wind = np.clip(3.6 + _ar1(rng, hours, 0.93, 0.45), 0.3, None)
    direction = (235 + np.cumsum(rng.normal(0, 6, hours))) % 360
    pressure = 1014 + _ar1(rng, hours, 0.99, 0.6)
    rain = np.zeros(hours)
    for _ in range(max(1, hours // 100)):
        s = int(rng.integers(0, hours))
        rain[s : s + int(rng.integers(3, 10))] = rng.uniform(0.2, 2.5)
    if calm:
        c0, c1 = max(0, (calm[0] - start) // HOUR - 12), min(hours, (calm[1] - start) // HOUR + 6)
        if c1 > c0:
            wind[c0:c1] = rng.uniform(0.4, 1.2, c1 - c0)
            pressure[c0:c1] = np.linspace(1026, 1033, c1 - c0)
            rain[c0:c1] = 0.0
            temp[c0:c1] -= 2.5
    humidity = np.clip(
        80 - 2.8 * (temp - np.convolve(temp, np.ones(24) / 24, "same")) + rng.normal(0, 3, hours) + 8 * (rain > 0),
        35,
        100,
    )
    return Weather(
        start, temp.round(1), humidity.round(0), wind.round(1), direction.round(0), rain.round(1), pressure.round(1)
    )


@dataclass
class DemoModel:
    """Everything a generator needs: the referential, the period, the seed, the incidents."""

    territory: Territory
    seed: int
    start: int  # first instant of the demo period (UTC epoch seconds)
    end: int  # end of the period (exclusive); live replays may go beyond
    scale: float
    incidents: list  # list[Incident]
    horizon_days: int = 3  # weather beyond the end, for live replays

    @property
    def period(self) -> tuple[datetime, datetime]:
        return utc(self.start), utc(self.end)

    @cached_property
    def weather(self) -> Weather:
        calm = next(((epoch(i.start), epoch(i.end)) for i in self.incidents if i.kind == "pollution_peak"), None)
        first = self.start - DAY
        hours = (self.end - first) // HOUR + self.horizon_days * 24
        return make_weather(self.seed, first, hours, calm)

    def sampling(self, base_period_s: int) -> int:
        """Sampling period of a sensor family at this scale (``scale`` × more readings)."""
        return max(1, int(round(base_period_s / self.scale)))

    def incidents_of(self, kind: str) -> list:
        return [i for i in self.incidents if i.kind == kind]


def days_between(t0: int, t1: int) -> list[tuple[int, int]]:
    """UTC day windows covering [t0, t1)."""
    out = []
    day = t0 - t0 % DAY
    while day < t1:
        out.append((max(day, t0), min(day + DAY, t1)))
        day += DAY
    return out


def to_datetime(dt: datetime | str) -> datetime:
    if isinstance(dt, str):
        dt = datetime.fromisoformat(dt)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
