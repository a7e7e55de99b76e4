"""Governance in the graph: classify every dataset, then rebuild the serving catalog.

Both run after the marts, so a mart's level (max of what it reads, unless a steward
declassified it) is known before anything is served to Superset or published.
"""

import dagster as dg

from orchestration.resources import LakehouseResource
from quality.suites import MARTS

GROUP = "gouvernance"
CLASSIFICATION = dg.AssetKey(["governance", "classification"])
SERVING_CATALOG = dg.AssetKey(["governance", "serving_catalog"])


@dg.asset(
    key=CLASSIFICATION,
    group_name=GROUP,
    deps=[dg.AssetKey([name]) for name in MARTS],
    description="Classification des colonnes (Presidio, reconnaisseurs français), décisions des responsables, "
    "niveaux propagés par la lignée dbt.",
)
def data_classification(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    from governance.classify import propagate, scan_all
    from governance.scan import ScanConfig
    from governance.state import Classifier

    lh = lakehouse.get()
    proposals = scan_all(lh, ScanConfig(sample_size=200), actor="dagster")
    classifier = Classifier(lh)
    levels = propagate(lh, classifier)
    pending = {name: classifier.state(name).pending for name in levels if classifier.state(name).pending}
    for name, columns in pending.items():
        context.log.warning(f"{name} : revue en attente pour {', '.join(columns)}")
    return dg.MaterializeResult(
        metadata={
            "jeux_analyses": len([p for p in proposals.values() if not p.get("skipped")]),
            "jeux_inchanges": len([p for p in proposals.values() if p.get("skipped")]),
            "niveaux": dg.MetadataValue.json(levels),
            "revues_en_attente": dg.MetadataValue.json(pending),
        }
    )


@dg.asset(
    key=SERVING_CATALOG,
    group_name=GROUP,
    # the marts too: a job that refreshes some marts without classifying (the hourly one) serves them after
    deps=[CLASSIFICATION, *(dg.AssetKey([name]) for name in MARTS)],
    description="Base DuckDB en lecture seule servie à Superset : vues claires, masquées et publiques par rôle.",
    kinds={"duckdb"},
)
def serving_catalog(lakehouse: LakehouseResource) -> dg.MaterializeResult:
    from governance.serving import build_serving_catalog

    lh = lakehouse.get()
    path = build_serving_catalog(lh)
    return dg.MaterializeResult(metadata={"fichier": str(path)})
