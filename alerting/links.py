"""From an incident to its data: the Superset dashboard of its domain and the lineage in Dagster.

The dashboard link names the entity in Superset's ``native_filters`` URL parameter (rison), on
the entity's column (``sector_id``, ``segment_id``…): the dashboard's native filter on that
column (``filters`` of ``superset/dashboards.yaml``) opens set to it. The lineage link opens the Dagster asset of
the raw stream the incident was raised from, in its lineage view (upstream sources, downstream
marts and dashboards).
"""

from __future__ import annotations

from urllib.parse import quote

from superset.bundle import native_filter_id

DASHBOARDS = {  # incident family -> dashboard slug (superset/dashboards.yaml)
    "eau": "fuites-eau",
    "air": "qualite-air",
    "circulation": "trafic",
    "eclairage": "eclairage",
    "signalements": "signalements",
    "energie": "energie-batiments",
}
RAW_ASSETS = {  # incident family -> raw dataset asset the engine's stream lands in
    "eau": "raw/iot/water_flow",
    "air": "raw/iot/air_quality",
    "circulation": "raw/iot/traffic_flow",
    "eclairage": "raw/iot/streetlight",
    "signalements": "raw/citizen/reports",
    "energie": "raw/iot/building_energy",
    "meteo": "raw/weather/observations",
}
ENTITY_COLUMNS = {
    "sector": "sector_id",
    "station": "station_id",
    "segment": "segment_id",
    "circuit": "circuit_id",
    "district": "district_id",
    "building": "building_id",
}


def _rison_text(value: str) -> str:
    return "'" + value.replace("!", "!!").replace("'", "!'") + "'"


def dashboard_url(settings, inc) -> str | None:
    slug = DASHBOARDS.get(inc.family)
    if slug is None:
        return None
    url = f"http://{settings.host}:{settings.superset_port}/superset/dashboard/{slug}/"
    column = ENTITY_COLUMNS.get(inc.entity_type)
    if column is None:
        return url
    value = inc.entity_id
    rison = (
        f"({native_filter_id(column)}:(extraFormData:(filters:!((col:{column},op:IN,val:!({_rison_text(value)})))),"
        f"filterState:(value:!({_rison_text(value)}))))"
    )
    return f"{url}?native_filters={quote(rison, safe='')}"


def lineage_url(settings, inc) -> str | None:
    asset = RAW_ASSETS.get(inc.family)
    if asset is None:
        return None
    return f"http://{settings.host}:{settings.dagster_port}/assets/{asset}?view=lineage"
