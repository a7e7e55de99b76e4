"""The demo code location (``make run``): the production graph with the simulated territory
as its raw source, and the replay of its streams through the alert engine."""

from __future__ import annotations

import dagster as dg

from orchestration.definitions import build_definitions
from orchestration.demo.assets import alert_incidents, demo_raw_datasets

FULL_JOB = "chaine_complete_demo"
defs = build_definitions(demo_raw_datasets, extra_assets=[alert_incidents], full_job_name=FULL_JOB)


def get_full_job() -> dg.JobDefinition:
    """The whole demo graph as a job (module-level so Dagster can reconstruct it)."""
    return defs.resolve_job_def(FULL_JOB)
