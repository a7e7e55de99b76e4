"""Open-data publication in the graph, downstream of the marts and their blocking checks.

Only what passes every gate goes online (PUBLIC level, no PII tag, quality passed,
steward approval); each refusal is audited with its reasons.
"""

import dagster as dg

from orchestration.assets.governance import CLASSIFICATION
from orchestration.resources import LakehouseResource
from quality.suites import MARTS

OPENDATA_PORTAL = dg.AssetKey(["opendata", "portal"])


@dg.asset(
    key=OPENDATA_PORTAL,
    group_name="open_data",
    deps=[CLASSIFICATION] + [dg.AssetKey([name]) for name in MARTS],
    description="Exports publics (CSV, Parquet, JSON, GeoJSON), catalogue DCAT-AP et portail citoyen.",
)
def opendata_portal(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    from opendata.publish import publish

    report = publish(lakehouse.get(), None, actor="dagster")
    for name, reasons in report.refused.items():
        context.log.info(f"{name} non publié : {' ; '.join(reasons)}")
    return dg.MaterializeResult(
        metadata={
            "en_ligne": dg.MetadataValue.json(report.online),
            "publies": dg.MetadataValue.json(report.published),
            "refuses": dg.MetadataValue.json(report.refused),
            "retires": dg.MetadataValue.json(report.withdrawn),
        }
    )
