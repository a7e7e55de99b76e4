"""The referential of the fictional commune Val-de-Lys: districts, sensors, assets.

Everything is drawn from a fixed seed (independent of the simulation seed), so the
referential is the same for every run and is committed as dbt seeds
(``dbt_project/seeds/*.csv``); :func:`write_seeds` regenerates them and a test checks the
committed files match. Coordinates are WGS84; districts are a 3 × 2 grid of rectangles.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, fields
from pathlib import Path

TERRITORY_SEED = 1789
COMMUNE = "Val-de-Lys"
ORIGIN_LAT, ORIGIN_LON = 50.652, 2.861  # south-west corner of the commune
CELL_KM = (2.0, 1.7)  # district width (east-west) and height (north-south)
KM_PER_DEG_LAT = 111.2
KM_PER_DEG_LON = 70.7  # at ≈ 50.66° N


@dataclass(frozen=True)
class District:
    district_id: str
    name: str
    population: int
    lat: float
    lon: float
    area_km2: float
    polygon_wkt: str


@dataclass(frozen=True)
class AirStation:
    station_id: str
    name: str
    district_id: str
    lat: float
    lon: float
    station_type: str  # urbaine | trafic | periurbaine


@dataclass(frozen=True)
class RoadSegment:
    segment_id: str
    street_name: str
    district_id: str
    lanes: int
    capacity_veh_h: int
    free_flow_speed_kmh: int
    lat: float
    lon: float


@dataclass(frozen=True)
class WaterSector:
    sector_id: str
    name: str
    district_id: str
    population_served: int
    network_length_km: float
    legit_night_use_m3h: float


@dataclass(frozen=True)
class WaterMeter:
    meter_id: str
    sector_id: str


@dataclass(frozen=True)
class LightingCircuit:
    circuit_id: str
    cabinet_name: str
    district_id: str
    lamp_count: int
    nominal_power_w: int


@dataclass(frozen=True)
class Lamp:
    lamp_id: str
    circuit_id: str
    district_id: str
    lat: float
    lon: float
    rated_power_w: int
    technology: str  # LED | SHP (sodium haute pression)


@dataclass(frozen=True)
class Building:
    building_id: str
    name: str
    building_type: str  # ecole | gymnase | mairie | mediatheque | piscine | creche
    district_id: str
    floor_area_m2: int
    lat: float
    lon: float
    baseline_kwh_per_dju: float


@dataclass(frozen=True)
class WeatherStation:
    station_id: str
    name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Camera:
    camera_id: str
    zone: str
    district_id: str
    lat: float
    lon: float


@dataclass(frozen=True)
class ReportCategory:
    category: str
    label_fr: str
    service: str  # eau | voirie | proprete | eclairage | environnement | securite


DISTRICT_NAMES = (
    "Centre-Ville",
    "Les Rives de la Lys",
    "Le Plateau",
    "Saint-Éloi",
    "La Briqueterie",
    "Les Prés-du-Moulin",
)
DISTRICT_POPULATIONS = (12400, 9300, 7800, 6900, 6300, 5300)  # 48 000 inhabitants

STREETS = (
    "Rue Nationale",
    "Place du Général-de-Gaulle",
    "Rue de la République",
    "Rue Pasteur",
    "Quai des Tisserands",
    "Rue de la Lys",
    "Avenue des Peupliers",
    "Rue du Halage",
    "Boulevard Victor-Hugo",
    "Rue Jean-Jaurès",
    "Avenue du Plateau",
    "Rue des Écoles",
    "Rue Saint-Éloi",
    "Rue de Lille",
    "Rue Gambetta",
    "Rue de l'Abbaye",
    "Rue de la Briqueterie",
    "Rue des Fours",
    "Avenue Salvador-Allende",
    "Rue Roger-Salengro",
    "Chemin du Moulin",
    "Route d'Armentières",
    "Rue des Prés",
    "Rue de la Ferme",
)
CAMERA_ZONES = (
    "Place de la Mairie",
    "Parvis de l'église",
    "Gare routière",
    "Parking de la Lys",
    "Quai des Tisserands",
    "Entrée du parc",
    "Rond-point du Plateau",
    "Collège Jean-Moulin",
    "Place Saint-Éloi",
    "Zone commerciale",
    "Rue des Fours",
    "Stade municipal",
)
BUILDING_PLAN = (  # (type, name) per district; one town hall and one pool in the commune
    (("mairie", "Hôtel de ville"), ("ecole", "École Jules-Ferry"), ("mediatheque", "Médiathèque Marguerite-Yourcenar")),
    (("ecole", "École des Rives"), ("creche", "Crèche Les Petits Bateliers"), ("gymnase", "Gymnase de la Lys")),
    (("ecole", "École Louise-Michel"), ("piscine", "Piscine Aquaval"), ("gymnase", "Gymnase du Plateau")),
    (("ecole", "École Saint-Éloi"), ("creche", "Crèche Les Lucioles"), ("mediatheque", "Bibliothèque Saint-Éloi")),
    (
        ("ecole", "École Pablo-Picasso"),
        ("gymnase", "Salle de sport de la Briqueterie"),
        ("creche", "Crèche Les Briquettes"),
    ),
    (("ecole", "École du Moulin"), ("gymnase", "Complexe sportif des Prés"), ("creche", "Micro-crèche Les Prés")),
)
# kWh of heating per degree-day per m², by building type (pools heat water all year).
KWH_PER_DJU_M2 = {"ecole": 0.11, "gymnase": 0.09, "mairie": 0.10, "mediatheque": 0.10, "piscine": 0.25, "creche": 0.13}
AREA_RANGE = {
    "ecole": (1800, 3200),
    "gymnase": (1200, 2500),
    "mairie": (2500, 3500),
    "mediatheque": (900, 1600),
    "piscine": (2500, 3500),
    "creche": (400, 800),
}

REPORT_CATEGORIES = (
    ReportCategory("fuite_eau", "Fuite d'eau sur la voie publique", "eau"),
    ReportCategory("coupure_eau", "Coupure ou manque de pression d'eau", "eau"),
    ReportCategory("nid_de_poule", "Nid-de-poule, chaussée dégradée", "voirie"),
    ReportCategory("stationnement", "Stationnement gênant", "voirie"),
    ReportCategory("signalisation", "Signalisation ou feu tricolore endommagé", "voirie"),
    ReportCategory("depot_sauvage", "Dépôt sauvage", "proprete"),
    ReportCategory("proprete", "Propreté, corbeille pleine", "proprete"),
    ReportCategory("tag", "Tag, graffiti", "proprete"),
    ReportCategory("eclairage_panne", "Éclairage public en panne", "eclairage"),
    ReportCategory("bruit", "Nuisance sonore", "environnement"),
    ReportCategory("pollution_air", "Odeur, fumée, pollution de l'air", "environnement"),
    ReportCategory("espaces_verts", "Arbre, espace vert", "environnement"),
    ReportCategory("securite", "Problème de sécurité, incivilité", "securite"),
    ReportCategory("vandalisme", "Mobilier urbain vandalisé", "securite"),
)


@dataclass(frozen=True)
class Territory:
    districts: tuple[District, ...]
    air_stations: tuple[AirStation, ...]
    road_segments: tuple[RoadSegment, ...]
    water_sectors: tuple[WaterSector, ...]
    water_meters: tuple[WaterMeter, ...]
    lighting_circuits: tuple[LightingCircuit, ...]
    lamps: tuple[Lamp, ...]
    buildings: tuple[Building, ...]
    weather_stations: tuple[WeatherStation, ...]
    cameras: tuple[Camera, ...]
    report_categories: tuple[ReportCategory, ...]

    def district(self, district_id: str) -> District:
        return next(d for d in self.districts if d.district_id == district_id)


def _cell(index: int) -> tuple[float, float, float, float]:
    """(lat_min, lon_min, lat_max, lon_max) of district ``index`` in the 3 × 2 grid."""
    col, row = index % 3, index // 3
    dlat, dlon = CELL_KM[1] / KM_PER_DEG_LAT, CELL_KM[0] / KM_PER_DEG_LON
    lat0, lon0 = ORIGIN_LAT + row * dlat, ORIGIN_LON + col * dlon
    return lat0, lon0, lat0 + dlat, lon0 + dlon


def _point_in(rng: random.Random, index: int, margin: float = 0.1) -> tuple[float, float]:
    lat0, lon0, lat1, lon1 = _cell(index)
    lat = lat0 + (lat1 - lat0) * rng.uniform(margin, 1 - margin)
    lon = lon0 + (lon1 - lon0) * rng.uniform(margin, 1 - margin)
    return round(lat, 6), round(lon, 6)


def build_territory() -> Territory:
    """Draw the whole referential from :data:`TERRITORY_SEED`."""
    rng = random.Random(TERRITORY_SEED)
    districts = []
    for i, (name, pop) in enumerate(zip(DISTRICT_NAMES, DISTRICT_POPULATIONS)):
        lat0, lon0, lat1, lon1 = _cell(i)
        wkt = (
            f"POLYGON(({lon0:.6f} {lat0:.6f}, {lon1:.6f} {lat0:.6f}, {lon1:.6f} {lat1:.6f}, "
            f"{lon0:.6f} {lat1:.6f}, {lon0:.6f} {lat0:.6f}))"
        )
        districts.append(
            District(
                f"D{i + 1:02d}",
                name,
                pop,
                round((lat0 + lat1) / 2, 6),
                round((lon0 + lon1) / 2, 6),
                round(CELL_KM[0] * CELL_KM[1], 2),
                wkt,
            )
        )

    air_plan = (
        ("Val-de-Lys Centre", 0, "urbaine"),
        ("Val-de-Lys Rue Nationale", 0, "trafic"),
        ("Val-de-Lys Rives", 1, "urbaine"),
        ("Val-de-Lys Plateau", 2, "trafic"),
        ("Val-de-Lys Prés-du-Moulin", 5, "periurbaine"),
    )
    air = tuple(
        AirStation(f"AQ{i + 1:02d}", name, f"D{d + 1:02d}", *_point_in(rng, d), kind)
        for i, (name, d, kind) in enumerate(air_plan)
    )

    segments = []
    for i, street in enumerate(STREETS):
        d = i // 4
        lanes = rng.choice((1, 1, 2, 2, 3)) if i % 4 else 2  # first street of each district is an arterial
        speed = 50 if lanes >= 2 else rng.choice((30, 50))
        if street.startswith("Route"):
            lanes, speed = 2, 70
        segments.append(
            RoadSegment(f"SEG{i + 1:03d}", street, f"D{d + 1:02d}", lanes, lanes * 900, speed, *_point_in(rng, d))
        )

    sectors, meters = [], []
    for i, d in enumerate(districts):
        served = int(d.population * rng.uniform(0.98, 1.06))
        sectors.append(
            WaterSector(
                f"SEC{i + 1:02d}",
                f"Secteur {d.name}",
                d.district_id,
                served,
                round(rng.uniform(18, 42), 1),
                round(served / 1000 * rng.uniform(0.6, 0.9), 2),
            )
        )
        for suffix in ("A", "B"):
            meters.append(WaterMeter(f"WM{i + 1:02d}{suffix}", f"SEC{i + 1:02d}"))

    circuits, lamps = [], []
    lamp_no = 0
    for c in range(12):
        d = c // 2
        count = rng.randint(18, 30)
        led = rng.random() < 0.7
        power_total = 0
        for _ in range(count):
            lamp_no += 1
            tech = "LED" if (led or rng.random() < 0.2) else "SHP"
            power = rng.choice((40, 50, 60, 70)) if tech == "LED" else rng.choice((100, 150))
            power_total += power
            lamps.append(
                Lamp(f"L{lamp_no:04d}", f"LC{c + 1:02d}", f"D{d + 1:02d}", *_point_in(rng, d, 0.02), power, tech)
            )
        street = STREETS[d * 4 + (c % 2) * 2]
        circuits.append(LightingCircuit(f"LC{c + 1:02d}", f"Armoire {street}", f"D{d + 1:02d}", count, power_total))

    buildings = []
    for d, plan in enumerate(BUILDING_PLAN):
        for kind, name in plan:
            area = rng.randrange(*AREA_RANGE[kind], 10)
            buildings.append(
                Building(
                    f"BAT{len(buildings) + 1:02d}",
                    name,
                    kind,
                    f"D{d + 1:02d}",
                    area,
                    *_point_in(rng, d),
                    round(area * KWH_PER_DJU_M2[kind], 1),
                )
            )

    weather = (
        WeatherStation("MTO01", "Val-de-Lys Centre technique", *_point_in(rng, 1)),
        WeatherStation("MTO02", "Val-de-Lys Aérodrome", *_point_in(rng, 5)),
    )
    cameras = tuple(
        Camera(f"CAM{i + 1:02d}", zone, f"D{i // 2 + 1:02d}", *_point_in(rng, i // 2))
        for i, zone in enumerate(CAMERA_ZONES)
    )
    return Territory(
        tuple(districts),
        air,
        tuple(segments),
        tuple(sectors),
        tuple(meters),
        tuple(circuits),
        tuple(lamps),
        tuple(buildings),
        weather,
        cameras,
        REPORT_CATEGORIES,
    )


SEED_FILES = {  # seed file name -> Territory attribute
    "districts.csv": "districts",
    "air_stations.csv": "air_stations",
    "road_segments.csv": "road_segments",
    "water_sectors.csv": "water_sectors",
    "water_meters.csv": "water_meters",
    "lighting_circuits.csv": "lighting_circuits",
    "lamps.csv": "lamps",
    "buildings.csv": "buildings",
    "weather_stations.csv": "weather_stations",
    "cameras.csv": "cameras",
    "report_categories.csv": "report_categories",
}


def seed_csvs(territory: Territory | None = None) -> dict[str, str]:
    """The text of every dbt seed file, keyed by file name."""
    territory = territory or build_territory()
    out = {}
    for filename, attr in SEED_FILES.items():
        rows = getattr(territory, attr)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([f.name for f in fields(rows[0])])
        for row in rows:
            writer.writerow([getattr(row, f.name) for f in fields(row)])
        out[filename] = buf.getvalue()
    return out


def write_seeds(seeds_dir: Path) -> list[Path]:
    """(Re)write the referential as dbt seed CSV files in ``seeds_dir``."""
    seeds_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in seed_csvs().items():
        path = seeds_dir / filename
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
