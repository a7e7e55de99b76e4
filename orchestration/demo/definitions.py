"""The demo code location (``make run``): the production graph with the simulated territory
as its raw source, and the replay of its streams through the alert engine."""

from __future__ import annotations

import dagster as dg

from orchestration.definitions import build_definitions
from orchestration.demo.assets import alert_incidents, demo_raw_datasets

FULL_JOB = "chaine_complete_demo"
LIVE_MARTS_CRON = "*/15 * * * *"
# The live territory (issue 17): the stream consumer lands readings continuously, so the demo
# keeps its hourly marts fresh on its own (running by default, unlike the production schedules
# an operator switches on); the production location is unchanged.
live_marts = dg.ScheduleDefinition(
    name="marts_horaires_en_direct",
    job_name="marts_horaires",
    cron_schedule=LIVE_MARTS_CRON,
    execution_timezone="Europe/Paris",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Territoire en direct : marts horaires (air, trafic) rafraîchis tous les quarts d'heure",
)
defs = dg.Definitions.merge(
    build_definitions(demo_raw_datasets, extra_assets=[alert_incidents], full_job_name=FULL_JOB),
    dg.Definitions(schedules=[live_marts]),
)


def get_full_job() -> dg.JobDefinition:
    """The whole demo graph as a job (module-level so Dagster can reconstruct it)."""
    return defs.resolve_job_def(FULL_JOB)
