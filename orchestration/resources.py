"""Resources per environment: the lakehouse (local folder or S3) and dbt wired to it.

The backend is chosen by the ``HYPERVISEUR_*`` settings (``HYPERVISEUR_S3_ENDPOINT`` set →
S3, otherwise the local folder), the way Dagster projects switch resources per deployment.
dbt receives the lake root, warehouse path, extension folder and S3 secret as environment
variables read by ``dbt_project/profiles.yml``; nothing is downloaded at run time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dagster import ConfigurableResource
from dagster_dbt import DbtCliResource, DbtProject

from lakehouse import duck
from lakehouse.encryption import key_file_path
from lakehouse.platform import Lakehouse
from lakehouse.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = ROOT / "dbt_project"


def dbt_env(settings: Settings) -> dict[str, str]:
    """Environment variables dbt needs to build the marts on the configured lake."""
    ext_dir = duck.extension_directory(settings.data_dir / "duckdb_extensions", names=("httpfs",))
    settings.warehouse_db.parent.mkdir(parents=True, exist_ok=True)
    env = {
        "HYPERVISEUR_LAKE_URL": settings.lake_url,
        "HYPERVISEUR_WAREHOUSE_DB": str(settings.warehouse_db),
        "HYPERVISEUR_DUCKDB_EXTENSION_DIR": str(ext_dir),
        "HYPERVISEUR_DBT_TARGET": settings.backend,
        "DBT_LOG_PATH": str(settings.data_dir / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    key_file = key_file_path(settings)
    if key_file.exists():  # the authorised reader of encrypted raw columns (staging python model)
        env["HYPERVISEUR_KMS_KEY_FILE"] = str(key_file)
    if settings.s3:
        env.update({
            "HYPERVISEUR_DBT_S3_KEY_ID": settings.s3.access_key,
            "HYPERVISEUR_DBT_S3_SECRET": settings.s3.secret_key,
            "HYPERVISEUR_DBT_S3_REGION": settings.s3.region,
            "HYPERVISEUR_DBT_S3_ENDPOINT": settings.s3.host_port,
            "HYPERVISEUR_DBT_S3_USE_SSL": "true" if settings.s3.secure else "false",
        })
    return env


def apply_dbt_env(settings: Settings) -> None:
    """Export :func:`dbt_env` into this process (dbt runs as a subprocess inheriting it)."""
    os.environ.update(dbt_env(settings))


class LakehouseResource(ConfigurableResource):
    """The lake, from ``HYPERVISEUR_*`` variables (read when a run starts, not at import)."""

    def get(self) -> Lakehouse:
        return Lakehouse.from_env()


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
DBT_SOURCES = ("models", "macros", "seeds", "tests", "dbt_project.yml")


def dbt_executable() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def _newest_source_mtime() -> float:
    files = [DBT_PROJECT_DIR / "dbt_project.yml"]
    for folder in DBT_SOURCES[:-1]:
        files += [p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file()]
    return max(p.stat().st_mtime for p in files if p.exists())


def ensure_manifest() -> Path:
    """``target/manifest.json`` of the dbt project, parsed again when a model changed.

    Parsing needs the profile's variables; the current settings provide them (the marts'
    locations in the manifest only matter to dbt, which parses again at run time).
    """
    manifest = dbt_project.manifest_path
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime():
        return manifest
    env = {**os.environ, **dbt_env(Settings.from_env())}
    proc = subprocess.run(
        [dbt_executable(), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
        env=env, capture_output=True, text=True, cwd=DBT_PROJECT_DIR, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"dbt parse a échoué :\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return manifest


def external_models() -> list[str]:
    """Names of the models dbt writes as Parquet files in the curated zone."""
    nodes = json.loads(ensure_manifest().read_text())["nodes"].values()
    return sorted(n["name"] for n in nodes if n["resource_type"] == "model" and n["config"].get("materialized") == "external")


def prepare_curated_dirs(lh: Lakehouse) -> None:
    """DuckDB's COPY does not create folders: make ``curated/<model>/`` for the local lake."""
    if lh.settings.s3:
        return
    for name in external_models():
        (lh.settings.lake_dir / "curated" / name).mkdir(parents=True, exist_ok=True)


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable())
