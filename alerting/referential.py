"""The territory's referential (dbt seeds): which district, population and sensitive sites each asset has.

Read once at start-up from ``dbt_project/seeds/*.csv`` (the contract written by the
simulator); the engine only does dictionary look-ups afterwards.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from alerting.errors import ConfigError

DEFAULT_SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"
SENSITIVE_BUILDINGS = ("ecole", "creche")

# entity type -> (seed file, id column)
ENTITY_FILES = {
    "district": ("districts.csv", "district_id"),
    "station": ("air_stations.csv", "station_id"),
    "segment": ("road_segments.csv", "segment_id"),
    "sector": ("water_sectors.csv", "sector_id"),
    "meter": ("water_meters.csv", "meter_id"),
    "circuit": ("lighting_circuits.csv", "circuit_id"),
    "lamp": ("lamps.csv", "lamp_id"),
    "building": ("buildings.csv", "building_id"),
    "weather_station": ("weather_stations.csv", "station_id"),
    "camera": ("cameras.csv", "camera_id"),
}


@dataclass
class Referential:
    """Rows of every seed, keyed by entity type then id."""

    entities: dict[str, dict[str, dict]] = field(default_factory=dict)
    source: str = ""
    polygons: dict = field(default_factory=dict, repr=False)  # district id -> [(lat, lon)], lazily

    @classmethod
    def load(cls, seeds_dir: Path | str | None = None) -> Referential:
        root = Path(seeds_dir) if seeds_dir else DEFAULT_SEEDS
        if not root.is_dir():
            raise ConfigError(root, "dossier des référentiels (seeds) introuvable")
        entities: dict[str, dict[str, dict]] = {}
        for etype, (name, id_col) in ENTITY_FILES.items():
            path = root / name
            if not path.exists():
                entities[etype] = {}
                continue
            with path.open(newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
            for i, row in enumerate(rows, start=2):
                if not row.get(id_col):
                    raise ConfigError(path, f"ligne {i} : colonne {id_col} vide")
            entities[etype] = {row[id_col]: row for row in rows}
        return cls(entities, str(root))

    def has(self, etype: str, eid: str) -> bool:
        return eid in self.entities.get(etype, {})

    def get(self, etype: str, eid: str) -> dict | None:
        return self.entities.get(etype, {}).get(eid)

    def district_of(self, etype: str, eid: str) -> str | None:
        if etype == "district":
            return eid if self.has("district", eid) else None
        row = self.get(etype, eid)
        if row is None:
            return None
        if row.get("district_id"):
            return row["district_id"]
        if etype == "meter":
            return self.district_of("sector", row.get("sector_id", ""))
        return None

    def label(self, etype: str, eid: str) -> str:
        row = self.get(etype, eid) or {}
        name = row.get("name") or row.get("street_name") or row.get("cabinet_name") or row.get("zone")
        return f"{name} ({eid})" if name else eid

    def population(self, etype: str, eid: str) -> int:
        """People exposed: served population for a water sector, else the district's."""
        row = self.get(etype, eid) or {}
        if row.get("population_served"):
            return int(float(row["population_served"]))
        district = self.get("district", self.district_of(etype, eid) or "") or {}
        return int(float(district.get("population") or 0))

    def sensitive_sites(self, district_id: str) -> list[dict]:
        return [
            b
            for b in self.entities.get("building", {}).values()
            if b.get("district_id") == district_id and b.get("building_type") in SENSITIVE_BUILDINGS
        ]

    def polygon(self, district_id: str) -> list[tuple[float, float]] | None:
        """District polygon as (lat, lon) pairs, from the seed's WKT (lon lat order)."""
        wkt = (self.get("district", district_id) or {}).get("polygon_wkt", "")
        if "((" not in wkt:
            return None
        body = wkt[wkt.index("((") + 2 : wkt.rindex("))")]
        points = []
        for pair in body.split(","):
            lon, lat = pair.split()
            points.append((float(lat), float(lon)))
        return points

    def position(self, etype: str, eid: str) -> tuple[float, float] | None:
        row = self.get(etype, eid) or {}
        if row.get("lat") and row.get("lon"):
            return float(row["lat"]), float(row["lon"])
        district = self.get("district", self.district_of(etype, eid) or "") or {}
        if district.get("lat"):
            return float(district["lat"]), float(district["lon"])
        return None

    def district_at(self, lat, lon) -> str | None:
        """District whose polygon contains the point (ray casting), or None."""
        if lat is None or lon is None:
            return None
        lat, lon = float(lat), float(lon)
        for did in self.entities.get("district", {}):
            poly = self.polygons.get(did)
            if poly is None:
                poly = self.polygons[did] = self.polygon(did) or []
            inside = False
            for (y1, x1), (y2, x2) in zip(poly, poly[1:] + poly[:1]):
                if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
                    inside = not inside
            if inside:
                return did
        return None
