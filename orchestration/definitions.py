"""The production ``Definitions`` of Hyperviseur: assets, checks, jobs, schedules, sensors.

This is the code location of a real deployment (Kubernetes: ``-m orchestration.definitions``,
``hyperviseur run``, ``hyperviseur ui``): the raw zone is filled only by real sources (the
stream consumer, files in the inbox); nothing here simulates or replays demo data. The demo
location (:mod:`orchestration.demo.definitions`) is built by the same :func:`build_definitions`
with its own raw asset. Resources follow the ``HYPERVISEUR_*`` settings: the same code runs
on the local folder and on S3.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from orchestration.assets import MODULES
from orchestration.assets.checks import asset_checks
from orchestration.assets.dashboards import SUPERSET_CACHE
from orchestration.assets.governance import SERVING_CATALOG
from orchestration.assets.raw import inbox_raw_datasets
from orchestration.assets.sensors import build_inbox_sensor
from orchestration.resources import LakehouseResource, dbt_resource

FULL_JOB = "chaine_complete"
TZ = "Europe/Paris"
HOURLY_MARTS = ("mart_air_quality_hourly", "mart_traffic_hourly")


def build_definitions(
    raw_assets: dg.AssetsDefinition, extra_assets: Sequence[dg.AssetsDefinition] = (), full_job_name: str = FULL_JOB
) -> dg.Definitions:
    """One graph from the raw zone to the citizen; ``raw_assets`` fills every raw dataset."""
    raw_selection = dg.AssetSelection.groups("brut")
    full_job = dg.define_asset_job(
        full_job_name,
        selection=dg.AssetSelection.all(),
        description="Ingestion, marts, contrôles qualité, gouvernance, open data",
    )
    ingestion_job = dg.define_asset_job(
        "ingestion_boite_de_reception",
        selection=raw_selection,
        description="Ingestion des fichiers déposés et contrôles des jeux bruts",
    )
    hourly_job = dg.define_asset_job(
        "marts_horaires",
        # the serving copies too: Superset's datasets read them, not the marts (governance/serving.py)
        selection=(dg.AssetSelection.assets(*HOURLY_MARTS).upstream() - raw_selection)
        | dg.AssetSelection.assets(SERVING_CATALOG, SUPERSET_CACHE),
        description="Agrégats horaires des capteurs (air, trafic), copies servies à Superset, préchauffage de son cache",
    )
    daily_job = dg.define_asset_job(
        "marts_quotidiens",
        selection=dg.AssetSelection.all() - raw_selection,
        description="Tous les marts et leurs contrôles",
    )
    return dg.Definitions(
        assets=[raw_assets, *dg.load_assets_from_modules(MODULES), *extra_assets],
        asset_checks=asset_checks,
        jobs=[full_job, ingestion_job, hourly_job, daily_job],
        schedules=[
            dg.ScheduleDefinition(
                job=hourly_job,
                cron_schedule="5 * * * *",
                execution_timezone=TZ,
                description="Agrégation horaire des capteurs",
            ),
            dg.ScheduleDefinition(
                job=daily_job,
                cron_schedule="30 2 * * *",
                execution_timezone=TZ,
                description="Reconstruction quotidienne des marts",
            ),
        ],
        sensors=[build_inbox_sensor(ingestion_job)],
        resources={"lakehouse": LakehouseResource(), "dbt": dbt_resource()},
        executor=dg.in_process_executor,
    )


defs = build_definitions(inbox_raw_datasets)


def get_full_job() -> dg.JobDefinition:
    """The whole graph as a job (module-level so Dagster can reconstruct it for re-execution)."""
    return defs.resolve_job_def(FULL_JOB)
