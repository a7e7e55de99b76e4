"""The dbt staging model the platform writes for an agent's accepted upload (no hand-written dbt).

An upload ``depots.<jeu>`` owned by service ``<service>`` becomes the model
``stg_depots__<service>__<jeu>``: one ``select`` naming and casting each column of the
schema the agent confirmed (the types recorded in the registry), written as Parquet to the
curated zone like the marts, so the serving catalogs and Superset pick it up. Its YAML
documents every column (the file's own header as description) and carries the stewards'
classification (column tags, owner service) in ``meta``, as the hand-written models do.

The files live in the lake's data folder (``settings.generated_models_dir``), never in the
repository; :mod:`workspace.depot_publish` builds them in a copy of the repository's project. The owner service is part of the model's name
so the Superset roles follow it by construction (``superset/access.yaml``: ``uploads``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ingestion.formats.schema import TYPES
from lakehouse.errors import LakehouseError
from lakehouse.lake import Zone
from workspace.upload import UPLOAD_SOURCE

SOURCE = UPLOAD_SOURCE  # raw/depots/<jeu>/: the dbt source of the generated models
MODEL_PREFIX = f"stg_{SOURCE}__"
SOURCES_FILE = "_depots_sources.yml"
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# the raw zone's Parquet types (registry schema, pyarrow's spelling) as DuckDB types
DUCKDB_TYPES = {
    "int64": "bigint",
    "double": "double",
    "bool": "boolean",
    "date32[day]": "date",
    "timestamp[us, tz=UTC]": "timestamptz",
    "string": "varchar",
}


def model_name(dataset: str, service: str) -> str:
    """``depots.<jeu>`` of ``service`` → ``stg_depots__<service>__<jeu>``."""
    source, _, table = dataset.partition(".")
    name = f"{MODEL_PREFIX}{service}__{table}"
    if source != SOURCE or not IDENTIFIER.match(table) or not IDENTIFIER.match(service) or "__" in service:
        raise LakehouseError(f"« {dataset} » (service {service}) : pas un dépôt d'agent publiable")
    return name


def _parts(model: str) -> tuple[str, str] | None:
    service, sep, table = model.removeprefix(MODEL_PREFIX).partition("__")
    return (service, table) if model.startswith(MODEL_PREFIX) and sep and service and table else None


def service_of(model: str) -> str | None:
    """The owner service a generated model's name states (None for any other model)."""
    parts = _parts(model)
    return parts[0] if parts else None


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type
    description: str
    tags: tuple[str, ...] = ()


def columns_of(entry, state) -> list[Column]:
    """The upload's raw columns (registry schema, typed at ingestion), described by the file's own
    headers (the confirmed ``source_format``), with the stewards' tags."""
    headers = {c.get("name"): c for c in (entry.source_format or {}).get("columns") or []}
    if not entry.schema:
        raise LakehouseError(f"{entry.name} : schéma du dépôt absent du registre")
    out = []
    for c in entry.schema:
        name, arrow = c.get("name", ""), c.get("type", "")
        if arrow not in DUCKDB_TYPES or not IDENTIFIER.match(name):
            raise LakehouseError(f"{entry.name} : colonne « {name} » de type « {arrow} » inattendue")
        confirmed = headers.get(name)
        if confirmed:
            description = f"« {confirmed.get('original') or name} » ({TYPES.get(confirmed.get('type'), arrow)}) dans le fichier déposé"
        else:
            description = "Colonne ajoutée à la lecture du fichier (coordonnées, fuseau horaire)"
        col_state = state.columns.get(name)
        out.append(Column(name, DUCKDB_TYPES[arrow], description, tuple(col_state.tags) if col_state else ()))
    return out


def render_sql(table: str, columns: list[Column]) -> str:
    selects = ",\n".join(f"    cast({c.name} as {c.type}) as {c.name}" for c in columns)
    return (
        "-- Généré par la plateforme pour un dépôt accepté (workspace/staging_model.py) : ne pas modifier.\n"
        "{{ config(materialized='external', format='parquet') }}\n"
        f"select\n{selects}\nfrom {{{{ source('{SOURCE}', '{table}') }}}}\n"
    )


def render_yaml(model: str, entry, columns: list[Column]) -> dict:
    return {
        "version": 2,
        "models": [
            {
                "name": model,
                "description": entry.description or f"Dépôt {entry.name}",
                # its level comes from its parent, the upload, through the lineage
                "meta": {"owner_service": entry.owner_service, "generated_from": entry.name},
                "columns": [
                    {
                        "name": c.name,
                        "description": c.description,
                        "meta": {"classification": {"tags": list(c.tags)}} if c.tags else {},
                    }
                    for c in columns
                ],
            }
        ],
    }


def sources_yaml(lake_url: str, tables: list[str]) -> dict:
    location = f"read_parquet('{lake_url.rstrip('/')}/{Zone.RAW.value}/{SOURCE}/{{name}}/**/*.parquet', hive_partitioning = true, union_by_name = true)"
    return {
        "version": 2,
        "sources": [
            {
                "name": SOURCE,
                "description": "Fichiers déposés par les agents dans l'espace de travail.",
                "meta": {"external_location": location},
                "tables": [{"name": t, "meta": {"dataset": f"{SOURCE}.{t}"}} for t in sorted(tables)],
            }
        ],
    }


def write(folder: Path, lake_url: str, model: str, entry, columns: list[Column]) -> Path:
    """Write the model's SQL and YAML, and the sources file listing every generated model's upload."""
    folder.mkdir(parents=True, exist_ok=True)
    table = entry.name.partition(".")[2]
    (folder / f"{model}.sql").write_text(render_sql(table, columns), encoding="utf-8")
    doc = render_yaml(model, entry, columns)
    (folder / f"{model}.yml").write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    tables = {parts[1] for p in folder.glob(f"{MODEL_PREFIX}*.sql") if (parts := _parts(p.stem))}
    sources = yaml.safe_dump(sources_yaml(lake_url, sorted(tables)), allow_unicode=True, sort_keys=False)
    (folder / SOURCES_FILE).write_text(sources, encoding="utf-8")
    return folder / f"{model}.sql"
