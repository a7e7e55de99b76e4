"""Every asset module of the platform, in graph order. Add a module here to add its assets
and checks to the one Dagster ``Definitions`` (governance, open data, alerting…)."""

from orchestration.assets import checks, governance, opendata, raw, realtime, transform

MODULES = [raw, transform, checks, governance, opendata, realtime]
