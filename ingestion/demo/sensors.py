"""Sensor series of the demo (IoT datasets and weather), one window at a time.

Each generator returns a table in the canonical columns of ``ingestion.datasets`` for the
instants in ``[t0, t1)``, vectorised over sensors × instants. Random draws come from a
stream seeded by (seed, dataset, window start), so a window is reproducible on its own.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyarrow as pa

from ingestion.demo.model import (
    HOUR,
    LOCAL_TZ,
    WATER_PROFILE,
    DemoModel,
    epoch,
    grid,
    local_clock,
    profile_at,
    rng_for,
    sun_elevation,
    traffic_share,
)
from ingestion.spec import UTC_TS

BASE_PERIOD_S = {  # sampling period at scale 1
    "iot.air_quality": HOUR,
    "iot.traffic_flow": 900,
    "iot.water_flow": 900,
    "iot.streetlight": HOUR,
    "iot.building_energy": HOUR,
    "weather.observations": HOUR,
}
AIR_POLLUTANTS = ("no2", "pm10", "pm25", "o3")


def _ts_array(ts: np.ndarray) -> pa.Array:
    return pa.array(ts * 1_000_000, pa.int64()).cast(UTC_TS)


def _cross(n_sensors: int, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sensor index, instant) for every reading, instant-major so rows come in time order."""
    return np.tile(np.arange(n_sensors), len(ts)), np.repeat(ts, n_sensors)


def _in(ts: np.ndarray, start: datetime, end: datetime) -> np.ndarray:
    return (ts >= epoch(start)) & (ts < epoch(end))


def air_quality(m: DemoModel, t0: int, t1: int) -> pa.Table:
    stations = m.territory.air_stations
    ts = grid(t0, t1, m.sampling(BASE_PERIOD_S["iot.air_quality"]))
    rng = rng_for(m.seed, "air", t0)
    idx, when = _cross(len(stations), ts)
    hour, weekday = local_clock(when)
    wind = m.weather.at("wind_speed_ms", when)
    rain = m.weather.at("precipitation_mm", when)
    kind = np.array([s.station_type for s in stations])[idx]
    background = np.select([kind == "trafic", kind == "urbaine"], [13.0, 10.0], 6.0)
    traffic_weight = np.select([kind == "trafic", kind == "urbaine"], [70.0, 35.0], 12.0)
    dispersion = 1.8 / (0.6 + wind / 2.5)
    tshare = traffic_share(hour, weekday)
    no2 = background + traffic_weight * tshare * dispersion * rng.lognormal(0, 0.12, len(when))
    stagnation = 1.0 / (0.4 + wind / 3.0)
    washout = np.where(rain > 0.1, 0.65, 1.0)
    pm10 = (11 + 6 * stagnation + 0.08 * (no2 - background)) * washout * rng.lognormal(0, 0.1, len(when))
    pm25 = pm10 * rng.uniform(0.55, 0.7, len(when))
    sun = np.clip(sun_elevation(when), 0, None)
    o3 = np.clip(42 + 0.9 * sun - 0.35 * (no2 - background) + rng.normal(0, 4, len(when)), 2, None)
    for inc in m.incidents_of("pollution_peak"):
        during = _in(when, inc.start, inc.end)
        here = during & (np.array([s.station_id for s in stations])[idx] == inc.entity_id)
        no2[here] = np.maximum(no2[here], 120 + 135 * tshare[here] + rng.normal(0, 6, here.sum()))
        pm10[here] = 98 + 22 * tshare[here] + rng.normal(0, 4, here.sum())
        pm25[here] = pm10[here] * 0.72
        elsewhere = during & ~here  # the regional episode lifts the other stations a little
        pm10[elsewhere] *= 1.35
        pm25[elsewhere] *= 1.35
    values = np.stack([no2, pm10, pm25, o3], axis=1).round(1)  # rows × pollutants
    n = len(when)
    lat = np.array([s.lat for s in stations])[idx]
    lon = np.array([s.lon for s in stations])[idx]
    ids = np.array([s.station_id for s in stations], dtype=object)[idx]
    k = len(AIR_POLLUTANTS)
    return pa.table(
        {
            "station_id": pa.array(np.repeat(ids, k), pa.string()),
            "observed_at": _ts_array(np.repeat(when, k)),
            "pollutant": pa.array(np.tile(np.array(AIR_POLLUTANTS, dtype=object), n), pa.string()),
            "value": pa.array(values.reshape(-1)),
            "lat": pa.array(np.repeat(lat, k)),
            "lon": pa.array(np.repeat(lon, k)),
            "source_tz": pa.array([LOCAL_TZ] * (n * k), pa.string()),
        }
    )


def traffic_flow(m: DemoModel, t0: int, t1: int) -> pa.Table:
    segs = m.territory.road_segments
    period = m.sampling(BASE_PERIOD_S["iot.traffic_flow"])
    ts = grid(t0, t1, period)
    rng = rng_for(m.seed, "traffic", t0)
    idx, when = _cross(len(segs), ts)
    hour, weekday = local_clock(when)
    capacity = np.array([s.capacity_veh_h for s in segs], float)[idx]
    free = np.array([s.free_flow_speed_kmh for s in segs], float)[idx]
    demand = np.clip(traffic_share(hour, weekday) * rng.normal(0.82, 0.07, len(when)), 0.005, 0.97)
    flow = capacity * demand  # veh/h
    occupancy = 100 * np.clip(0.32 * demand + 0.04 * demand**3 + rng.normal(0, 0.01, len(when)), 0.002, 1)
    speed = free * (1 - 0.38 * demand**2) * rng.normal(1, 0.04, len(when))
    ids = np.array([s.segment_id for s in segs], dtype=object)[idx]
    for inc in m.incidents_of("traffic_jam"):
        jam = _in(when, inc.start, inc.end) & (ids == inc.entity_id)
        k = jam.sum()
        occupancy[jam] = rng.uniform(66, 88, k)
        speed[jam] = rng.uniform(5, 13, k)
        flow[jam] = capacity[jam] * rng.uniform(0.35, 0.5, k)
    count = np.round(flow * period / 3600 * rng.normal(1, 0.03, len(when))).clip(0).astype(np.int64)
    return pa.table(
        {
            "segment_id": pa.array(ids, pa.string()),
            "observed_at": _ts_array(when),
            "vehicle_count": pa.array(count),
            "occupancy_pct": pa.array(occupancy.round(1)),
            "average_speed_kmh": pa.array(np.clip(speed, 1, None).round(1)),
            "period_s": pa.array(np.full(len(when), period, np.int64)),
            "lat": pa.array(np.array([s.lat for s in segs])[idx]),
            "lon": pa.array(np.array([s.lon for s in segs])[idx]),
            "source_tz": pa.array([LOCAL_TZ] * len(when), pa.string()),
        }
    )


def _meter_shares(m: DemoModel) -> dict[str, float]:
    """Share of its sector's inflow measured by each meter (the meters of a sector sum to 1)."""
    rng = rng_for(m.seed, "meters")
    out = {}
    for sector in m.territory.water_sectors:
        meters = [w.meter_id for w in m.territory.water_meters if w.sector_id == sector.sector_id]
        weights = rng.uniform(0.35, 0.65, len(meters))
        for meter, w in zip(meters, weights / weights.sum()):
            out[meter] = float(w)
    return out


def water_flow(m: DemoModel, t0: int, t1: int) -> pa.Table:
    meters = m.territory.water_meters
    sectors = {s.sector_id: s for s in m.territory.water_sectors}
    ts = grid(t0, t1, m.sampling(BASE_PERIOD_S["iot.water_flow"]))
    rng = rng_for(m.seed, "water", t0)
    idx, when = _cross(len(meters), ts)
    hour, weekday = local_clock(when)
    weekend = weekday >= 5
    demand_hour = np.where(weekend & (hour >= 6), np.maximum(hour - 1.5, 5.0), hour)  # later mornings at weekends
    sector_of = np.array([w.sector_id for w in meters], dtype=object)[idx]
    pop = np.array([sectors[w.sector_id].population_served for w in meters], float)[idx]
    legit = np.array([sectors[w.sector_id].legit_night_use_m3h for w in meters], float)[idx]
    shares = _meter_shares(m)
    share = np.array([shares[w.meter_id] for w in meters])[idx]
    daily_mean = pop * 0.145 / 24  # m³/h: 145 L per inhabitant per day
    background_leak = pop / 1000 * 0.35  # a network always leaks a little
    sector_flow = (
        legit
        + background_leak
        + daily_mean * profile_at(WATER_PROFILE, demand_hour) * rng.normal(1, 0.05, len(when))
        + rng.normal(0, 0.15, len(when))
    )
    for inc in m.incidents_of("leak"):
        leaking = (when >= epoch(inc.start)) & (sector_of == inc.entity_id)
        sector_flow[leaking] += inc.details["extra_flow_m3h"]
    return pa.table(
        {
            "meter_id": pa.array(np.array([w.meter_id for w in meters], dtype=object)[idx], pa.string()),
            "sector_id": pa.array(sector_of, pa.string()),
            "observed_at": _ts_array(when),
            "flow_m3h": pa.array(np.clip(sector_flow * share, 0, None).round(2)),
            "source_tz": pa.array([LOCAL_TZ] * len(when), pa.string()),
        }
    )


def streetlight(m: DemoModel, t0: int, t1: int) -> pa.Table:
    lamps = m.territory.lamps
    ts = grid(t0, t1, m.sampling(BASE_PERIOD_S["iot.streetlight"]))
    rng = rng_for(m.seed, "lighting", t0)
    idx, when = _cross(len(lamps), ts)
    hour, _ = local_clock(when)
    lit = sun_elevation(when) < -1.0  # photocell switches on a little after sunset
    # Dimming schedule: full power until 22:30, 50 % until 05:30, then full power until dawn.
    dimming = np.where(lit, np.where((hour >= 22.5) | (hour < 5.5), 50.0, 100.0), 0.0)
    rated = np.array([lamp.rated_power_w for lamp in lamps], float)[idx]
    ballast = np.where(np.array([lamp.technology for lamp in lamps])[idx] == "SHP", 1.1, 1.02)
    power = np.where(lit, rated * dimming / 100 * ballast * rng.normal(1, 0.02, len(when)), 0.0)
    status = np.where(lit, "ok", "off").astype(object)
    ids = np.array([lamp.lamp_id for lamp in lamps], dtype=object)[idx]
    for inc in m.incidents_of("lamp_failure_cluster"):
        broken = _in(when, inc.start, inc.end) & np.isin(ids, inc.details["lamp_ids"])
        status[broken] = "fault"
        power[broken] = 0.0
        dimming[broken] = 0.0
    return pa.table(
        {
            "lamp_id": pa.array(ids, pa.string()),
            "circuit_id": pa.array(np.array([lamp.circuit_id for lamp in lamps], dtype=object)[idx], pa.string()),
            "observed_at": _ts_array(when),
            "power_w": pa.array(power.round(1)),
            "status": pa.array(status, pa.string()),
            "dimming_pct": pa.array(dimming),
            "lat": pa.array(np.array([lamp.lat for lamp in lamps])[idx]),
            "lon": pa.array(np.array([lamp.lon for lamp in lamps])[idx]),
            "source_tz": pa.array([LOCAL_TZ] * len(when), pa.string()),
        }
    )


OPENING_HOURS = {  # (weekday hours, Saturday hours, Sunday hours) of occupation, local time
    "ecole": ((8, 17), None, None),
    "creche": ((7, 19), None, None),
    "mairie": ((8, 18), (9, 12), None),
    "mediatheque": ((10, 18), (10, 18), None),
    "gymnase": ((8, 22), (9, 20), (9, 13)),
    "piscine": ((7, 21), (9, 19), (9, 13)),
}


def _occupied(kind: np.ndarray, hour: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    out = np.zeros(len(hour), bool)
    for name, slots in OPENING_HOURS.items():
        mine = kind == name
        for days, slot in ((weekday < 5, slots[0]), (weekday == 5, slots[1]), (weekday == 6, slots[2])):
            if slot:
                out |= mine & days & (hour >= slot[0]) & (hour < slot[1])
    if "ecole" in OPENING_HOURS:  # no school on Wednesday afternoons
        out &= ~((kind == "ecole") & (weekday == 2) & (hour >= 12))
    return out


def building_energy(m: DemoModel, t0: int, t1: int) -> pa.Table:
    buildings = m.territory.buildings
    period = m.sampling(BASE_PERIOD_S["iot.building_energy"])
    ts = grid(t0, t1, period)
    rng = rng_for(m.seed, "energy", t0)
    idx, when = _cross(len(buildings), ts)
    hour, weekday = local_clock(when)
    kind = np.array([b.building_type for b in buildings])[idx]
    area = np.array([b.floor_area_m2 for b in buildings], float)[idx]
    per_dju = np.array([b.baseline_kwh_per_dju for b in buildings], float)[idx]
    occupied = _occupied(kind, hour, weekday)
    # Heating degree-days (base 18 °C) accrued per hour; setback when the building is empty.
    dju_per_hour = np.clip(18.0 - m.weather.at("temperature_c", when), 0, None) / 24
    heating = per_dju * dju_per_hour * np.where(occupied, 1.45, 0.6)
    heating = np.where(kind == "piscine", np.maximum(heating, per_dju * 0.25), heating)  # pool water heating
    electric = area * np.where(occupied, 0.012, 0.003)
    kwh_per_hour = (heating + electric) * rng.normal(1, 0.05, len(when))
    return pa.table(
        {
            "building_id": pa.array(np.array([b.building_id for b in buildings], dtype=object)[idx], pa.string()),
            "observed_at": _ts_array(when),
            "energy_kwh": pa.array(np.clip(kwh_per_hour * period / 3600, 0, None).round(3)),
            "period_s": pa.array(np.full(len(when), period, np.int64)),
            "source_tz": pa.array([LOCAL_TZ] * len(when), pa.string()),
        }
    )


def weather_observations(m: DemoModel, t0: int, t1: int) -> pa.Table:
    stations = m.territory.weather_stations
    ts = grid(t0, t1, m.sampling(BASE_PERIOD_S["weather.observations"]))
    rng = rng_for(m.seed, "weather-obs", t0)
    idx, when = _cross(len(stations), ts)
    n = len(when)
    offset = np.array([0.0, -0.6])[idx % 2]  # the airfield is a little colder
    w = m.weather
    per_period = m.sampling(BASE_PERIOD_S["weather.observations"]) / HOUR
    return pa.table(
        {
            "station_id": pa.array(np.array([s.station_id for s in stations], dtype=object)[idx], pa.string()),
            "observed_at": _ts_array(when),
            "temperature_c": pa.array((w.at("temperature_c", when) + offset + rng.normal(0, 0.2, n)).round(1)),
            "humidity_pct": pa.array(np.clip(w.at("humidity_pct", when) + rng.normal(0, 1.5, n), 0, 100).round(0)),
            "wind_speed_ms": pa.array(np.clip(w.at("wind_speed_ms", when) * rng.normal(1, 0.08, n), 0, None).round(1)),
            "wind_direction_deg": pa.array(w.wind_direction_deg[w.hourly_index(when)]),
            "precipitation_mm": pa.array((w.precipitation_mm[w.hourly_index(when)] * per_period).round(2)),
            "pressure_hpa": pa.array((w.at("pressure_hpa", when) + rng.normal(0, 0.3, n)).round(1)),
            "lat": pa.array(np.array([s.lat for s in stations])[idx]),
            "lon": pa.array(np.array([s.lon for s in stations])[idx]),
            "source_tz": pa.array([LOCAL_TZ] * n, pa.string()),
        }
    )


GENERATORS = {
    "iot.air_quality": air_quality,
    "iot.traffic_flow": traffic_flow,
    "iot.water_flow": water_flow,
    "iot.streetlight": streetlight,
    "iot.building_energy": building_energy,
    "weather.observations": weather_observations,
}
SENSOR_DATASETS = tuple(GENERATORS)
