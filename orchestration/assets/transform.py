"""dbt models as assets (dagster-dbt): staging views, referential seeds, curated marts.

dbt sources map to the raw assets ``raw/<source>/<dataset>``, so the lineage runs from the
raw zone to the marts in one graph; dbt tests become asset checks. The day-partitioned models
rebuild only the days the new raw batches touch (:mod:`orchestration.partitions`), unless the
run asks for a full refresh (run configuration ``reconstruction_complete: true``).
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.dbt_launcher import PARTITIONS_FLAG
from orchestration.resources import LakehouseResource, dbt_manifest, dbt_project
from quality.suites import MARTS

DBT_OP = "modeles_dbt"
GROUPS = {"staging": "preparation", "intermediate": "preparation", "marts": "marts"}


class Translator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(["raw", dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "referentiels"
        fqn = dbt_resource_props.get("fqn") or []
        return GROUPS.get(fqn[1] if len(fqn) > 2 else "", "marts")


class DbtBuildConfig(dg.Config):
    """Run configuration of the dbt models."""

    reconstruction_complete: bool = False  # rebuild every day partition, not only the new days


@dbt_assets(
    manifest=dbt_manifest(),
    project=dbt_project,
    dagster_dbt_translator=Translator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
    name=DBT_OP,
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig):
    mode = "complet" if config.reconstruction_complete else "auto"
    yield from dbt.cli([PARTITIONS_FLAG, mode, "build"], context=context).stream()


DOCS_PREFIX = "_meta/docs/dbt/"


@dg.asset(
    name="documentation_dbt",
    group_name="documentation",
    deps=[dg.AssetKey([name]) for name in MARTS],
    description="Documentation des jeux de données (dbt docs) publiée dans le lac : _meta/docs/dbt/",
    kinds={"dbt"},
)
def dbt_docs(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    """``dbt docs generate --static``: one self-contained HTML page plus manifest and catalog."""
    lh = lakehouse.get()
    invocation = dbt.cli(["docs", "generate", "--static"], manifest=dbt_manifest()).wait()
    target = invocation.target_path
    published = {}
    for name, key in (
        ("static_index.html", "index.html"),
        ("manifest.json", "manifest.json"),
        ("catalog.json", "catalog.json"),
    ):
        if (target / name).exists():
            lh.storage.put_file(DOCS_PREFIX + key, target / name)
            published[key] = lh.storage.uri(DOCS_PREFIX + key)
    return dg.MaterializeResult(metadata={"page": published.get("index.html", ""), "fichiers": len(published)})
