"""The incidents injected into the demo series, kept as ground truth for alerting tests.

The first ~35 % of the period (at least one day) is a quiet baseline with no incident;
the five incidents are placed at fixed fractions of the period, on entities drawn from
the seed. The series generators read this plan; :func:`to_json` is what goes to
``_meta/demo/incidents.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from ingestion.demo.model import rng_for
from ingestion.demo.territory import Territory

KINDS = ("leak", "pollution_peak", "traffic_jam", "lamp_failure_cluster", "report_burst")
BASELINE_SHARE = 0.35


@dataclass(frozen=True)
class Incident:
    incident_id: str
    kind: str
    start: datetime
    end: datetime
    entity_type: str  # sector | station | segment | circuit | district
    entity_id: str
    district_id: str
    description_fr: str
    details: dict = field(default_factory=dict, hash=False, compare=False)

    def to_json(self) -> dict:
        out = asdict(self)
        out["start"] = self.start.isoformat().replace("+00:00", "Z")
        out["end"] = self.end.isoformat().replace("+00:00", "Z")
        return out


def baseline_end(start: datetime, end: datetime) -> datetime:
    """End of the quiet baseline: no incident starts (or runs) before it."""
    span = end - start
    return start + max(timedelta(days=1), span * BASELINE_SHARE) if span > timedelta(days=1) else start


def _at(start: datetime, end: datetime, share: float, hour_utc: int) -> datetime:
    """The day at ``share`` of the period (never in the baseline), at ``hour_utc``."""
    day = (start + (end - start) * share).replace(hour=0, minute=0, second=0, microsecond=0)
    floor = baseline_end(start, end)
    moment = day.replace(hour=hour_utc)
    while moment < floor:
        moment += timedelta(days=1)
    return moment


def _weekday(moment: datetime) -> datetime:
    while moment.weekday() >= 5:
        moment += timedelta(days=1)
    return moment


def plan_incidents(territory: Territory, seed: int, start: datetime, end: datetime) -> list[Incident]:
    rng = rng_for(seed, "incidents")
    out: list[Incident] = []

    sector = territory.water_sectors[int(rng.integers(len(territory.water_sectors)))]
    leak_start = _at(start, end, 0.45, 1)
    extra = round(float(sector.legit_night_use_m3h * rng.uniform(0.9, 1.3) + 3.0), 1)
    out.append(
        Incident(
            "INC-LEAK-01",
            "leak",
            leak_start,
            end,
            "sector",
            sector.sector_id,
            sector.district_id,
            f"Fuite sur le réseau du {sector.name.lower()} : débit de nuit en hausse de {extra} m³/h "
            f"à partir du {leak_start:%d/%m à %H:%M} UTC, jusqu'à la fin de la période.",
            {"extra_flow_m3h": extra},
        )
    )

    traffic_stations = [s for s in territory.air_stations if s.station_type == "trafic"]
    station = traffic_stations[int(rng.integers(len(traffic_stations)))]
    day = _at(start, end, 0.62, 0)
    out.append(
        Incident(
            "INC-POLL-01",
            "pollution_peak",
            day,
            min(day + timedelta(days=1), end),
            "station",
            station.station_id,
            station.district_id,
            f"Épisode de pollution le {day:%d/%m} à la station {station.name} : NO2 horaire au-delà de "
            "200 µg/m³ aux heures de pointe et PM10 en moyenne journalière « très mauvais » (> 100 µg/m³), "
            "par temps calme et anticyclonique.",
            {"no2_hourly_max_min": 230, "pm10_daily_mean_min": 100},
        )
    )

    arterials = [s for s in territory.road_segments if s.lanes >= 2]
    segment = arterials[int(rng.integers(len(arterials)))]
    jam_start = _weekday(_at(start, end, 0.52, 16))
    out.append(
        Incident(
            "INC-JAM-01",
            "traffic_jam",
            jam_start,
            min(jam_start + timedelta(minutes=150), end),
            "segment",
            segment.segment_id,
            segment.district_id,
            f"Embouteillage sur {segment.street_name} ({segment.segment_id}) : taux d'occupation au-delà de "
            "60 % et vitesse effondrée pendant 2 h 30 à l'heure de pointe du soir (accident).",
            {"occupancy_pct_min": 60, "speed_kmh_max": 15},
        )
    )

    circuit = territory.lighting_circuits[int(rng.integers(len(territory.lighting_circuits)))]
    lamps = [lamp.lamp_id for lamp in territory.lamps if lamp.circuit_id == circuit.circuit_id]
    failed = sorted(rng.choice(lamps, size=max(2, int(len(lamps) * 0.75)), replace=False).tolist())
    fail_start = _at(start, end, 0.70, 19)
    out.append(
        Incident(
            "INC-LAMP-01",
            "lamp_failure_cluster",
            fail_start,
            min(fail_start + timedelta(hours=40), end),
            "circuit",
            circuit.circuit_id,
            circuit.district_id,
            f"Panne groupée sur le circuit {circuit.circuit_id} ({circuit.cabinet_name}) : "
            f"{len(failed)} points lumineux sur {len(lamps)} en défaut (défaut d'isolement).",
            {"lamp_ids": failed},
        )
    )

    district = territory.districts[int(rng.integers(len(territory.districts)))]
    burst_start = _at(start, end, 0.80, 21)
    out.append(
        Incident(
            "INC-BURST-01",
            "report_burst",
            burst_start,
            min(burst_start + timedelta(hours=3), end),
            "district",
            district.district_id,
            district.district_id,
            f"Afflux de signalements dans le quartier {district.name} en trois heures "
            "(nuisances sonores et dégradations autour d'une fête sauvage).",
            {"reports": int(rng.integers(24, 33))},
        )
    )
    return [i for i in out if i.start < end]


def to_json(incidents: list[Incident]) -> list[dict]:
    return [i.to_json() for i in incidents]


def from_json(doc: dict) -> Incident:
    """An incident of the stored ground truth (``to_json``'s inverse)."""
    return Incident(**{**doc, "start": datetime.fromisoformat(doc["start"]), "end": datetime.fromisoformat(doc["end"])})
