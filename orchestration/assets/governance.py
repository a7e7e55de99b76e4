"""Governance step for the orchestrator: scan the lake, propagate levels, rebuild serving.

The lead wires :func:`govern_lake` as a Dagster asset downstream of the dbt marts.
"""

from __future__ import annotations


def govern_lake(lh, *, sample_size: int = 200, force: bool = False, actor: str = "dagster") -> dict:
    """Scan every raw dataset and mart (unchanged ones are skipped), propagate levels through
    dbt lineage to the registry, rebuild the serving DuckDB; returns a summary for metadata."""
    from governance.classify import propagate, scan_all
    from governance.scan import ScanConfig
    from governance.serving import build_serving_catalog
    from governance.state import Classifier

    proposals = scan_all(lh, ScanConfig(sample_size=sample_size), force=force, actor=actor)
    classifier = Classifier(lh)
    levels = propagate(lh, classifier)
    serving = build_serving_catalog(lh, classifier=classifier)
    pending = {name: classifier.state(name).pending for name in levels if classifier.state(name).pending}
    return {
        "scanned": sorted(n for n, p in proposals.items() if not p.get("skipped")),
        "unchanged": sorted(n for n, p in proposals.items() if p.get("skipped")),
        "levels": levels,
        "pending_reviews": pending,
        "serving_db": str(serving),
    }
