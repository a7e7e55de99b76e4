"""Resources per environment: the lakehouse (local folder or S3) and dbt wired to it.

The backend is chosen by the ``HYPERVISEUR_*`` settings (``HYPERVISEUR_S3_ENDPOINT`` set →
S3, otherwise the local folder), the way Dagster projects switch resources per deployment.

dbt runs as a subprocess through the ``hyperviseur-dbt`` launcher
(:mod:`orchestration.dbt_launcher`): it derives dbt's environment (lake root, warehouse,
extension folder, S3 secret, target) from the settings and hands it to dbt alone, so this
process's environment is never modified. The dbt manifest is prepared ahead of time
(``dbt parse`` through the launcher, run by ``make`` and the container build).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from dagster import ConfigurableResource
from dagster_dbt import DbtCliResource, DbtProject

from lakehouse import duck
from lakehouse.encryption import key_file_path
from lakehouse.errors import SettingsError
from lakehouse.lake import Lake
from lakehouse.platform import Lakehouse
from lakehouse.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = ROOT / "dbt_project"
DBT_LAUNCHER = "hyperviseur-dbt"
# dbt runs in the project folder; the launcher resolves the settings (relative paths, `.env`)
# from the folder of the process that starts it, given by this leading flag.
CALLER_DIR_FLAG = "--dossier-appelant"


def dbt_env(settings: Settings) -> dict[str, str]:
    """Environment variables dbt needs to build the marts on the configured lake."""
    ext_dir = duck.extension_directory(settings.data_dir / "duckdb_extensions", names=("httpfs",))
    settings.warehouse_db.parent.mkdir(parents=True, exist_ok=True)
    env = {
        "HYPERVISEUR_LAKE_URL": settings.lake_url,
        "HYPERVISEUR_WAREHOUSE_DB": str(settings.warehouse_db),
        "HYPERVISEUR_DUCKDB_EXTENSION_DIR": str(ext_dir),
        "HYPERVISEUR_DBT_TARGET": settings.dbt_target,
        "HYPERVISEUR_DUCKDB_MEMORY_LIMIT": settings.limits.duckdb_memory_limit,
        "HYPERVISEUR_DUCKDB_THREADS": str(settings.limits.duckdb_threads),
        "DBT_LOG_PATH": str(settings.data_dir / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    key_file = key_file_path(settings)
    if key_file.exists():  # the authorised reader of encrypted raw columns (staging python model)
        env["HYPERVISEUR_KMS_KEY_FILE"] = str(key_file)
    if settings.dbt_target == "trino":
        env["HYPERVISEUR_DBT_TRINO_PASSWORD"] = settings.dbt_trino_password
    if settings.s3:
        env.update(
            {
                "HYPERVISEUR_DBT_S3_KEY_ID": settings.s3.access_key,
                "HYPERVISEUR_DBT_S3_SECRET": settings.s3.secret_key,
                "HYPERVISEUR_DBT_S3_REGION": settings.s3.region,
                "HYPERVISEUR_DBT_S3_ENDPOINT": settings.s3.host_port,
                "HYPERVISEUR_DBT_S3_USE_SSL": "true" if settings.s3.secure else "false",
            }
        )
    return env


class LakehouseResource(ConfigurableResource):
    """The lake, from ``HYPERVISEUR_*`` variables (read when a run starts, not at import)."""

    def get(self) -> Lakehouse:
        return Lakehouse.from_env()


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """The real dbt of this virtualenv (the launcher execs it with the derived environment)."""
    return str(Path(sys.executable).with_name("dbt"))


def dbt_manifest() -> Path:
    """The prepared manifest; a French error saying how to prepare it when it is missing.

    The project is prepared the way dagster-dbt prepares one (``dbt parse``), by ``make``
    whenever a model changes and by the container build, never at import time.
    """
    if not dbt_project.manifest_path.exists():
        raise SettingsError(
            "dbt_project/target/manifest.json",
            "manifeste dbt absent : lancez « make install » (ou « hyperviseur-dbt parse --project-dir dbt_project "
            "--profiles-dir dbt_project ») pour préparer le projet dbt",
        )
    return dbt_project.manifest_path


LAKE_MATERIALIZATIONS = ("external", "partitioned")  # one Parquet file, or one per day


def lake_models(materializations: tuple[str, ...] = LAKE_MATERIALIZATIONS) -> list[str]:
    """Names of the models dbt writes as Parquet in the curated zone with these materialisations."""
    nodes = json.loads(dbt_manifest().read_text())["nodes"].values()
    return sorted(
        n["name"]
        for n in nodes
        if n["resource_type"] == "model" and n["config"].get("materialized") in materializations
    )


def prepare_curated_dirs(lh: Lakehouse, models: tuple[str, ...] = ()) -> None:
    """DuckDB's COPY does not create folders: make ``curated/<model>/`` for the local lake (every
    model of the project written to the lake, and ``models`` generated for this lake)."""
    if lh.settings.s3:
        return
    for name in [*lake_models(), *models]:
        (lh.settings.lake_dir / Lake.curated_key(name)).parent.mkdir(parents=True, exist_ok=True)


class LakeDbtCliResource(DbtCliResource):
    """dagster-dbt's resource, running dbt through the settings-aware launcher.

    dbt's profile is resolved in the launched process only; Dagster's in-process adapter
    handle (used for optional column metadata) is not created, since this process does not
    carry dbt's environment.
    """

    def _initialize_dbt_core_adapter(self, args):
        return None

    def cli(self, args, **kwargs):
        """dbt ``args``, preceded by the folder the settings are resolved from (this process's)."""
        return super().cli([CALLER_DIR_FLAG, os.getcwd(), *args], **kwargs)


def dbt_resource() -> DbtCliResource:
    launcher = Path(sys.executable).with_name(DBT_LAUNCHER)
    return LakeDbtCliResource(
        project_dir=dbt_project,
        profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=str(launcher),
    )
