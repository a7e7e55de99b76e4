"""Superset's cache warm-up in the graph, after the marts and the serving catalog.

Each refresh recomputes the starter dashboards' charts once (``superset/warm.py``) so the
agents opening them are served from the shared cache instead of all running the same SQL.
Nothing to do when this data directory's Superset is not running (tests, a bare pipeline).
"""

import dagster as dg

from orchestration.assets.governance import SERVING_CATALOG
from quality.suites import MARTS

SUPERSET_CACHE = dg.AssetKey(["dashboards", "superset_cache"])


@dg.asset(
    key=SUPERSET_CACHE,
    group_name="tableaux_de_bord",
    deps=[SERVING_CATALOG, *(dg.AssetKey([name]) for name in MARTS)],
    description="Cache de Superset préchauffé : graphiques des tableaux de bord de départ recalculés sur les marts "
    "à jour (rien si Superset est arrêté).",
)
def superset_cache(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    from superset import service
    from superset.provision import admin_client
    from superset.warm import warm

    inst = service.Instance.from_env()
    if not (service.running_pid(inst) and service.healthy(inst)):
        context.log.info(f"Superset arrêté ({inst.url}) : pas de préchauffage du cache")
        return dg.MaterializeResult(metadata={"graphiques": 0, "superset": "arrêté"})
    report = warm(admin_client(inst))
    return dg.MaterializeResult(
        metadata={
            "graphiques": report.charts,
            "requetes_rejouees": report.replayed,
            "secondes": round(report.seconds, 1),
            "superset": inst.url,
        }
    )
