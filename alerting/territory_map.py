"""The territory drawn offline as inline SVG, with the incidents on it (operators' page).

Everything comes from the referential (dbt seeds): districts (their WKT polygons), water
sectors (drawn on the district they serve), street segments, lighting circuits (their lamps
and the centroid of the circuit), sensitive sites (schools, crèches). No tile server, no
network: the map is part of the HTML. An incident gets a marker on its entity (id
``marqueur-<incident id>``) and its affected area: the district it lies in, and the streets and
buildings its consequences reach.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from alerting.priority import band
from alerting.referential import SENSITIVE_BUILDINGS, Referential

WIDTH = 720
PAD = 14
_POINT = re.compile(r"(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Projection:
    """Equirectangular projection of the territory's bounding box onto the SVG canvas."""

    lon0: float
    lat1: float
    scale: float
    kx: float
    height: int

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        return (
            round(PAD + (lon - self.lon0) * self.kx * self.scale, 1),
            round(PAD + (self.lat1 - lat) * self.scale, 1),
        )


def _polygon(wkt: str) -> list[tuple[float, float]]:
    """(lat, lon) vertices of a ``POLYGON((lon lat, …))``."""
    return [(float(lat), float(lon)) for lon, lat in _POINT.findall(wkt or "")]


def _latlon(row: dict) -> tuple[float, float] | None:
    try:
        return float(row["lat"]), float(row["lon"])
    except (KeyError, TypeError, ValueError):
        return None


def _centroid(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    if not points:
        return None
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


class TerritoryMap:
    def __init__(self, ref: Referential):
        self.ref = ref
        self.districts = {d: _polygon(r.get("polygon_wkt", "")) for d, r in ref.entities.get("district", {}).items()}
        points = [p for poly in self.districts.values() for p in poly]
        for etype in ("segment", "lamp", "building", "station"):
            points += [p for r in ref.entities.get(etype, {}).values() if (p := _latlon(r))]
        lats, lons = [p[0] for p in points] or [0.0], [p[1] for p in points] or [0.0]
        kx = math.cos(math.radians(sum(lats) / len(lats)))
        span_x = max((max(lons) - min(lons)) * kx, 1e-9)
        scale = (WIDTH - 2 * PAD) / span_x
        height = int((max(lats) - min(lats)) * scale + 2 * PAD)
        self.proj = Projection(min(lons), max(lats), scale, kx, height)
        self.circuits: dict[str, list[tuple[float, float]]] = {}
        for lamp in ref.entities.get("lamp", {}).values():
            if p := _latlon(lamp):
                self.circuits.setdefault(lamp.get("circuit_id", ""), []).append(p)
        self.base = self._base()

    def _path(self, poly: list[tuple[float, float]]) -> str:
        return " ".join(f"{x},{y}" for x, y in (self.proj.xy(*p) for p in poly))

    def location(self, etype: str, eid: str) -> tuple[float, float] | None:
        """(lat, lon) of an entity: its point, its lamps' centroid, its district's centroid."""
        if etype == "circuit":
            return _centroid(self.circuits.get(eid, []))
        if etype in ("district", "sector", "meter"):
            district = self.ref.district_of(etype, eid)
            return _centroid(self.districts.get(district or "", [])[:-1])
        row = self.ref.get(etype, eid) or {}
        return _latlon(row) or _centroid(self.districts.get(self.ref.district_of(etype, eid) or "", [])[:-1])

    def _base(self) -> str:
        out = ['<g id="couche-quartiers">']
        for did, poly in self.districts.items():
            row = self.ref.get("district", did) or {}
            out.append(
                f'<polygon class="quartier" points="{self._path(poly)}"><title>Quartier {escape(row.get("name", did))} '
                f"({did})</title></polygon>"
            )
            if c := _centroid(poly[:-1]):
                x, y = self.proj.xy(*c)
                out.append(f'<text class="nom" x="{x}" y="{y - 18}">{escape(row.get("name", did))}</text>')
        out.append('</g><g id="couche-secteurs">')
        for sid, row in self.ref.entities.get("sector", {}).items():
            if c := self.location("sector", sid):
                x, y = self.proj.xy(*c)
                out.append(
                    f'<text class="secteur" x="{x}" y="{y + 24}">{sid}<title>{escape(row.get("name", sid))}'
                    "</title></text>"
                )
        out.append('</g><g id="couche-voirie">')
        for sid, row in self.ref.entities.get("segment", {}).items():
            if p := _latlon(row):
                x, y = self.proj.xy(*p)
                out.append(
                    f'<rect class="troncon" x="{x - 2.5}" y="{y - 2.5}" width="5" height="5"><title>'
                    f"{escape(row.get('street_name', sid))} ({sid})</title></rect>"
                )
        out.append('</g><g id="couche-eclairage">')
        for cid, pts in self.circuits.items():
            for p in pts:
                x, y = self.proj.xy(*p)
                out.append(f'<circle class="lampe" cx="{x}" cy="{y}" r="1.2"/>')
            if c := _centroid(pts):
                x, y = self.proj.xy(*c)
                out.append(f'<circle class="circuit" cx="{x}" cy="{y}" r="3.5"><title>Circuit {cid}</title></circle>')
        out.append('</g><g id="couche-sites-sensibles">')
        for bid, row in self.ref.entities.get("building", {}).items():
            if row.get("building_type") in SENSITIVE_BUILDINGS and (p := _latlon(row)):
                x, y = self.proj.xy(*p)
                out.append(
                    f'<path class="site-sensible" d="M{x},{y - 5} L{x + 4.5},{y + 3.5} L{x - 4.5},{y + 3.5} Z">'
                    f"<title>{escape(row.get('name', bid))} ({row.get('building_type')})</title></path>"
                )
        out.append("</g>")
        return "".join(out)

    def render(self, incidents) -> str:
        """The SVG with markers and affected areas of the incidents not closed."""
        areas, markers = [], []
        for inc in incidents:
            if inc.status == "closed":
                continue
            level = band(inc.priority)
            district = inc.district_id or self.ref.district_of(inc.entity_type, inc.entity_id)
            if poly := self.districts.get(district or ""):
                areas.append(f'<polygon class="zone zone-{level}" points="{self._path(poly)}"/>')
            for c in (inc.impact or {}).get("consequences", []):
                etype, _, eid = c.get("node", "").partition(":")
                if etype in ("segment", "building") and (p := _latlon(self.ref.get(etype, eid) or {})):
                    x, y = self.proj.xy(*p)
                    areas.append(
                        f'<circle class="touche" cx="{x}" cy="{y}" r="6"><title>{escape(c.get("label", ""))}</title>'
                        "</circle>"
                    )
            if loc := self.location(inc.entity_type, inc.entity_id):
                x, y = self.proj.xy(*loc)
                markers.append(
                    f'<a href="#{escape(inc.incident_id)}"><circle id="marqueur-{escape(inc.incident_id)}" '
                    f'class="marqueur p-{level}" cx="{x}" cy="{y}" r="9"><title>{escape(inc.title)} '
                    f"(priorité {inc.priority:.0f})</title></circle></a>"
                )
        return (
            f'<svg id="carte" role="img" aria-label="Carte du territoire et des incidents" '
            f'viewBox="0 0 {WIDTH} {self.proj.height}" width="100%" xmlns="http://www.w3.org/2000/svg">'
            f'{self.base}<g id="couche-zones">{"".join(areas)}</g><g id="couche-incidents">{"".join(markers)}</g></svg>'
        )


@lru_cache(maxsize=1)
def territory_map() -> TerritoryMap:
    """The map of the default referential, built once per process."""
    return TerritoryMap(Referential.load())
