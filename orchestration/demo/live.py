"""The living demo territory: the simulated sensors keep publishing in real time after the backfill.

Demo only (``hyperviseur demo simuler``, started by ``make run``): the production graph and
Kubernetes never import this module. Every ``step_s`` seconds the simulator generates the
messages of the territory between the last instant it published and now (the same seeded
generators as the 14-day backfill, :mod:`ingestion.demo`) and publishes them at QoS 1.
Incidents join the series at random moments (on average one every ``mean_interval_s``) and on
demand: ``hyperviseur demo incident fuite SEC03`` drops a request file in
``<data_dir>/demo/live/demandes/`` that the simulator takes at its next step. An injected
incident starts at that moment and shapes the series from then on, as a real one would; the
rules then raise it at their own pace (a congestion after its 15 minutes, a leak at the end
of the next night window, since it is judged on the minimum night flow).

What it published is recorded with the backfill's periods (:mod:`ingestion.demo.coverage`), so
a restarted simulator resumes after the last instant covered (where it stopped, or the end of a
newer backfill) instead of publishing the same readings twice.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingestion.demo import coverage
from ingestion.demo.incidents import Incident
from ingestion.demo.model import DAY, DemoModel, epoch, utc
from ingestion.demo.territory import Territory, build_territory
from lakehouse.settings import MqttSettings

log = logging.getLogger(__name__)

# Command-line name of each incident kind the demo knows (French) -> (kind, entity type, label).
INCIDENT_KINDS = {
    "fuite": ("leak", "sector", "secteur d'eau"),
    "pollution": ("pollution_peak", "station", "station de mesure de l'air"),
    "embouteillage": ("traffic_jam", "segment", "tronçon de voirie"),
    "eclairage": ("lamp_failure_cluster", "circuit", "circuit d'éclairage"),
    "signalements": ("report_burst", "district", "quartier"),
}
DURATIONS = {  # how long an injected incident shapes the series
    "leak": timedelta(days=3),
    "pollution_peak": timedelta(hours=8),
    "traffic_jam": timedelta(minutes=150),
    "lamp_failure_cluster": timedelta(hours=40),
    "report_burst": timedelta(hours=3),
}


def entity_ids(territory: Territory, entity_type: str) -> list[str]:
    return {
        "sector": [s.sector_id for s in territory.water_sectors],
        "station": [s.station_id for s in territory.air_stations],
        "segment": [s.segment_id for s in territory.road_segments],
        "circuit": [c.circuit_id for c in territory.lighting_circuits],
        "district": [d.district_id for d in territory.districts],
    }[entity_type]


def make_incident(territory: Territory, name: str, entity_id: str, start: datetime, rng: random.Random) -> Incident:
    """The incident ``name`` (a key of :data:`INCIDENT_KINDS`) on ``entity_id`` from ``start``;
    ``ValueError`` with a French message for an unknown kind or entity."""
    if name not in INCIDENT_KINDS:
        raise ValueError(f"genre d'incident « {name} » inconnu (genres : {', '.join(INCIDENT_KINDS)})")
    kind, entity_type, label = INCIDENT_KINDS[name]
    known = entity_ids(territory, entity_type)
    if entity_id not in known:
        raise ValueError(f"{label} « {entity_id} » inconnu (connus : {', '.join(known)})")
    end = start + DURATIONS[kind]
    iid = f"INC-LIVE-{start:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:4]}"
    details: dict = {}
    if kind == "leak":
        sector = next(s for s in territory.water_sectors if s.sector_id == entity_id)
        district = sector.district_id
        details = {"extra_flow_m3h": round(sector.legit_night_use_m3h * rng.uniform(0.9, 1.3) + 3.0, 1)}
        text = f"Fuite sur le réseau du {sector.name.lower()} : débit en hausse de {details['extra_flow_m3h']} m³/h"
    elif kind == "pollution_peak":
        district = next(s for s in territory.air_stations if s.station_id == entity_id).district_id
        details = {"no2_hourly_max_min": 230, "pm10_daily_mean_min": 100}
        text = f"Épisode de pollution à la station {entity_id}"
    elif kind == "traffic_jam":
        segment = next(s for s in territory.road_segments if s.segment_id == entity_id)
        district = segment.district_id
        details = {"occupancy_pct_min": 60, "speed_kmh_max": 15}
        text = f"Embouteillage sur {segment.street_name} ({entity_id})"
    elif kind == "lamp_failure_cluster":
        district = next(c for c in territory.lighting_circuits if c.circuit_id == entity_id).district_id
        lamps = sorted(lamp.lamp_id for lamp in territory.lamps if lamp.circuit_id == entity_id)
        details = {"lamp_ids": sorted(rng.sample(lamps, max(2, int(len(lamps) * 0.75))))}
        text = f"Panne groupée sur le circuit {entity_id} : {len(details['lamp_ids'])} points lumineux en défaut"
    else:
        district = entity_id
        details = {"reports": rng.randint(24, 32)}
        text = f"Afflux de signalements dans le quartier {entity_id}"
    return Incident(iid, kind, start, end, entity_type, entity_id, district, text + " (injecté en direct).", details)


def requests_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "demo" / "live" / "demandes"


def request_incident(data_dir: Path, name: str, entity_id: str) -> str:
    """Queue an on-demand incident for the running simulator; returns the request id."""
    make_incident(build_territory(), name, entity_id, datetime.now(UTC), random.Random(0))  # validates
    folder = requests_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    rid = f"{time.time_ns():020d}-{uuid.uuid4().hex[:6]}"
    tmp = folder / f".{rid}.tmp"
    tmp.write_text(json.dumps({"id": rid, "genre": name, "entite": entity_id}), encoding="utf-8")
    tmp.rename(folder / f"{rid}.json")  # atomic: the simulator never reads half a request
    return rid


@dataclass
class LiveSimulator:
    """Publishes the territory in real time on ``mqtt``; ``run(stop)`` until ``stop`` is set."""

    mqtt: MqttSettings
    data_dir: Path
    seed: int = 42
    scale: float = 1.0
    step_s: float = 5.0
    mean_interval_s: float = 2700.0  # random incidents: one every 45 min on average (0: none)
    max_catch_up_s: float = DAY  # on start, publish at most this much of the past at full speed
    published: int = 0
    last_sent: float | None = None
    injected: list[dict] = field(default_factory=list)
    handled: list[str] = field(default_factory=list)  # ids of the on-demand requests taken
    ready: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        self.territory = build_territory()
        self.rng = random.Random(self.seed * 7919 + int(time.time()))

    def _model(self, now: float) -> DemoModel:
        start = int(now) - DAY
        return DemoModel(self.territory, self.seed, start, int(now), self.scale, [], horizon_days=40)

    def _resume_from(self, now: float) -> float:
        periods = coverage.held(self.data_dir)
        until = periods[-1][1] if periods else now - now % DAY  # the backfill (`make run`) ends at midnight UTC
        return max(until, now - self.max_catch_up_s)

    def inject(self, model: DemoModel, name: str, entity_id: str, now: float, origin: str) -> Incident:
        inc = make_incident(self.territory, name, entity_id, utc(int(now)), self.rng)
        model.incidents.append(inc)
        self.injected.append(
            {
                "id": inc.incident_id,
                "genre": name,
                "entite": entity_id,
                "debut": inc.start.isoformat(),
                "origine": origin,
            }
        )
        log.warning("incident injecté (%s) : %s", origin, inc.description_fr)
        return inc

    def _take_requests(self, model: DemoModel, now: float) -> None:
        folder = requests_dir(self.data_dir)
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                req = json.loads(path.read_text(encoding="utf-8"))
                self.inject(model, req["genre"], req["entite"], now, "à la demande")
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.error("demande d'incident %s refusée : %s", path.name, exc)
            self.handled.append(path.stem)
            path.unlink(missing_ok=True)

    def _random_incident(self, model: DemoModel, now: float, elapsed: float) -> None:
        if self.mean_interval_s <= 0 or self.rng.random() >= elapsed / self.mean_interval_s:
            return
        name = self.rng.choice(sorted(INCIDENT_KINDS))
        entity = self.rng.choice(entity_ids(self.territory, INCIDENT_KINDS[name][1]))
        self.inject(model, name, entity, now, "au hasard")

    def run(self, stop: threading.Event) -> None:
        from ingestion.demo.publisher import Publisher, model_messages

        publisher = Publisher(mqtt_settings=self.mqtt, client_id=f"hyperviseur-simulateur-{uuid.uuid4().hex[:6]}")
        now = time.time()
        model = self._model(now)
        cursor = int(self._resume_from(now))
        self.ready.set()
        try:
            while not stop.is_set():
                now = time.time()
                if now - model.end > 20 * DAY:  # keep the weather horizon ahead of the clock
                    model = DemoModel(self.territory, self.seed, int(now) - DAY, int(now), self.scale, model.incidents)
                self._take_requests(model, now)
                self._random_incident(model, now, min(now - cursor, self.step_s))
                model.incidents[:] = [i for i in model.incidents if epoch(i.end) > cursor]
                until = int(now)
                for _, topic, payload in model_messages(model, cursor, until, self.mqtt.topic_root):
                    publisher.send(topic, payload)
                    self.published += 1
                if until > cursor:
                    coverage.record(self.data_dir, cursor, until)
                    self.last_sent, cursor = time.time(), until
                stop.wait(self.step_s)
        finally:
            self.ready.clear()
            publisher.close()

    def health(self) -> tuple[bool, dict]:
        return self.ready.is_set(), {
            "messages_publies": self.published,
            "dernier_envoi": self.last_sent,
            "incidents_injectes": self.injected[-20:],
            "demandes_traitees": self.handled[-50:],
        }
