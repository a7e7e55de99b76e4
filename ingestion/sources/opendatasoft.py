"""OpenDataSoft exports (opendata.paris.fr, data.opendatasoft.com, most French city portals).

Reads the records JSON of API v1 (``datasetid``, ``recordid``, ``fields``, ``geometry``) and
v2.1 (``results`` list, ``exports/json``) — see :mod:`ingestion.formats.records` — and the
``;`` CSV exports, whose ``geo_point_2d`` column (``"lat, lon"``) gives lat/lon and whose
``geo_shape`` column (GeoJSON text) is kept as a geometry column. Column types are detected
(:mod:`ingestion.formats.detect`) or given with ``--schema``; a v1 ``recordid`` is the key.
"""

from __future__ import annotations

from ingestion.sources import register
from ingestion.sources.business import BusinessFileSource


@register
class OpenDataSoftSource(BusinessFileSource):
    name = "opendatasoft"
    label = "Exports OpenDataSoft : JSON d'enregistrements (API v1 et v2.1), CSV « ; » avec geo_point_2d / geo_shape"
    suffixes = (".json", ".csv", ".geojson")
    dataset_source = "opendatasoft"
    key_columns = ("recordid",)
