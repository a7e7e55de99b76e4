"""The asset modules of the graph downstream of the raw zone, in graph order. Add a module
here to add its assets to both code locations (production and demo). The raw zone's asset
is passed to :func:`orchestration.definitions.build_definitions` by each location."""

from orchestration.assets import dashboards, governance, opendata, transform

MODULES = [transform, governance, opendata, dashboards]
