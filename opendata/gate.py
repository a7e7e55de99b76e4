"""May a dataset be published? Every reason to refuse, in French, from every gate at once.

Gates: the producer asked for publication (``meta.opendata.publish``) with valid metadata;
the data is in the curated zone; governance allows it (level ``PUBLIC``, no ``PII.*`` tag,
a steward's approval — :func:`governance.export_guard.refusal_reasons`); its last quality
run passed every blocking check. All reasons are collected so the steward fixes them in one go.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from governance import export_guard
from lakehouse.errors import ObjectNotFound
from lakehouse.lake import Lake
from opendata.metadata import DatasetMetadata, MetadataError, read

NO_QUALITY_RUN = "contrôles qualité non exécutés"
# Written by the quality room after each run (one document per dataset): data crosses rooms
# through the lake, not through imports.
QUALITY_PREFIX = "_meta/quality/"


@dataclass
class Decision:
    dataset: str
    reasons: list[str] = field(default_factory=list)
    metadata: DatasetMetadata | None = None

    @property
    def allowed(self) -> bool:
        return not self.reasons


def source_key(dataset: str) -> str:
    """Where dbt writes a mart (external Parquet)."""
    return Lake.curated_key(dataset)


def _quality_reasons(lh, dataset: str) -> list[str]:
    """Reasons from the last quality run, read where the quality room keeps it in the lake."""
    try:
        result = lh.lake.read_json(f"{QUALITY_PREFIX}{dataset}/latest.json")
    except ObjectNotFound:
        return [NO_QUALITY_RUN]
    if result.get("blocking_passed"):
        return []
    failed = (
        "; ".join(f"{f.get('check')} ({f.get('message')})" for f in result.get("failures") or []) or "détail absent"
    )
    return [f"contrôle(s) qualité bloquant(s) en échec : {failed}"]


def evaluate(lh, dataset: str, manifest: dict) -> Decision:
    decision = Decision(dataset)
    try:
        decision.metadata = read(manifest, dataset)
        if not decision.metadata.publish:
            decision.reasons.append("publication non demandée par le producteur (meta.opendata.publish n'est pas vrai)")
    except MetadataError as exc:
        decision.reasons.append(f"métadonnées open data invalides : {exc}")
    if not lh.storage.exists(source_key(dataset)):
        decision.reasons.append(f"données absentes du lac : {source_key(dataset)}")
    decision.reasons.extend(export_guard.refusal_reasons(lh, dataset))
    decision.reasons.extend(_quality_reasons(lh, dataset))
    return decision
