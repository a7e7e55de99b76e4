"""The one Dagster ``Definitions`` of Hyperviseur: assets, checks, jobs, schedules, sensors.

``dagster dev -m orchestration.definitions`` (or ``hyperviseur ui``) shows the lineage from
the raw zone to the marts; ``hyperviseur run`` executes :data:`FULL_JOB` in-process.
Resources follow the ``HYPERVISEUR_*`` settings: the same code runs on the local folder
and on S3.
"""

from __future__ import annotations

import dagster as dg

from orchestration.assets import MODULES
from orchestration.assets.sensors import build_inbox_sensor
from orchestration.resources import LakehouseResource, dbt_resource

FULL_JOB = "chaine_complete"
TZ = "Europe/Paris"
HOURLY_MARTS = ("mart_air_quality_hourly", "mart_traffic_hourly")

assets = dg.load_assets_from_modules(MODULES)
asset_checks = dg.load_asset_checks_from_modules(MODULES)

raw_selection = dg.AssetSelection.groups("brut")
full_job = dg.define_asset_job(FULL_JOB, selection=dg.AssetSelection.all(),
                               description="Ingestion du territoire, marts, contrôles qualité")
ingestion_job = dg.define_asset_job("ingestion_boite_de_reception", selection=raw_selection,
                                    description="Ingestion des fichiers déposés et contrôles des jeux bruts")
hourly_job = dg.define_asset_job(
    "marts_horaires",
    selection=dg.AssetSelection.assets(*HOURLY_MARTS).upstream() - raw_selection,
    description="Agrégats horaires des capteurs (air, trafic)",
)
daily_job = dg.define_asset_job("marts_quotidiens", selection=dg.AssetSelection.all() - raw_selection,
                                description="Tous les marts et leurs contrôles")

defs = dg.Definitions(
    assets=assets,
    asset_checks=asset_checks,
    jobs=[full_job, ingestion_job, hourly_job, daily_job],
    schedules=[
        dg.ScheduleDefinition(job=hourly_job, cron_schedule="5 * * * *", execution_timezone=TZ,
                              description="Agrégation horaire des capteurs"),
        dg.ScheduleDefinition(job=daily_job, cron_schedule="30 2 * * *", execution_timezone=TZ,
                              description="Reconstruction quotidienne des marts"),
    ],
    sensors=[build_inbox_sensor(ingestion_job)],
    resources={"lakehouse": LakehouseResource(), "dbt": dbt_resource()},
    executor=dg.in_process_executor,
)


def get_full_job() -> dg.JobDefinition:
    """The whole graph as a job (module-level so Dagster can reconstruct it for re-execution)."""
    return defs.resolve_job_def(FULL_JOB)
