"""What the workspace shows of a dataset: the registry (every zone), the effective classification
(proposals + decisions + dbt lineage), the last quality run, the open-data status and freshness.

Read fresh at each request (small JSON objects and a directory listing per dataset): a
decision or a new scan is visible at the next page load, with no cache to invalidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from governance.catalog import curated_prefix
from governance.export_guard import refusal_reasons
from governance.state import Classifier, DatasetState
from lakehouse.errors import LakehouseError
from lakehouse.lake import Zone
from quality import results as quality_results
from workspace.depot_publish import awaiting_validation, is_upload

OPENDATA_ZONE = "opendata"  # opendata.publish.ZONE: <dataset>/latest/manifest.json once published
ZONE_LABELS = {
    Zone.RAW.value: "brute",
    Zone.CURATED.value: "organisée (dbt)",
    Zone.MASKED.value: "masquée",
    Zone.PUBLIC.value: "publique",
    "source": "source dbt (non chargée)",
}
UPLOAD_TO_VALIDATE = "dépôt à valider"  # an agent's upload with nothing proposed, not yet accepted
KIND_LABELS = {"text": "texte", "free_text": "texte libre", "skipped": "non analysée"}


@dataclass
class DatasetView:
    name: str
    zone: str
    level: str
    owner: str | None
    description: str
    tags: list[str]
    columns: list[str]
    pending: list[str]
    state: DatasetState
    updated_at: str | None = None
    quality: quality_results.QualityResult | None = None
    published: bool = False
    refusals: list[str] = field(default_factory=list)

    def matches(self, query: str) -> bool:
        """Case-insensitive search on name, description, columns, tags and owner service."""
        words = query.casefold().split()
        haystack = " ".join([self.name, self.description, self.owner or "", *self.columns, *self.tags]).casefold()
        return all(w in haystack for w in words)


class Catalog:
    """Every dataset of every zone: registered ones, classified ones, and dbt's models and sources."""

    def __init__(self, lh):
        self.lh = lh
        self.classifier = Classifier(lh)
        self.lineage = self.classifier.lineage
        self.entries = {}
        for e in lh.registry.list():
            self.entries.setdefault(e.name, e)

    def names(self) -> list[str]:
        lin = self.lineage
        names = set(self.entries) | set(self.classifier.datasets()) | set(lin.parents)
        names |= {p for ps in lin.parents.values() for p in ps}
        return sorted(names)

    def children(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, parents in self.lineage.parents.items():
            for p in parents:
                out.setdefault(p, []).append(name)
        return {k: sorted(v) for k, v in out.items()}

    def _zone(self, name: str) -> str:
        entry = self.entries.get(name)
        if entry is not None:
            return entry.zone
        if name in self.lineage.models or self.lh.storage.list(curated_prefix(name)):
            return Zone.CURATED.value
        return "source"

    def _freshness(self, name: str, zone: str) -> str | None:
        entry = self.entries.get(name)
        prefix = entry.path if entry is not None else curated_prefix(name) if zone == Zone.CURATED.value else None
        stamps = [o.last_modified for o in self.lh.storage.list(prefix) if o.key.endswith(".parquet")] if prefix else []
        if stamps:
            return max(stamps).strftime("%d/%m/%Y %H:%M UTC")
        return entry.updated_at or None if entry is not None else None

    def view(self, name: str, detail: bool = False) -> DatasetView:
        """The dataset ``name``; ``detail`` adds quality, publication and freshness (more reads)."""
        st = self.classifier.state(name)
        entry = self.entries.get(name)
        zone = self._zone(name)
        columns = list(st.columns) + [c["name"] for c in (entry.schema if entry else []) if c["name"] not in st.columns]
        view = DatasetView(
            name=name,
            zone=zone,
            level=st.level,
            owner=self.lineage.owners.get(name) or (entry.owner_service if entry else None),
            description=entry.description if entry else "",
            tags=sorted({t for c in st.columns.values() for t in c.tags}),
            columns=columns,
            pending=st.pending
            + (["déclassement demandé"] if st.declassification_requested else [])
            + ([UPLOAD_TO_VALIDATE] if is_upload(name) and not st.pending and awaiting_validation(st) else []),
            state=st,
        )
        if detail:
            view.quality = quality_results.latest(self.lh, name)
            view.published = bool(self.lh.storage.list(f"{OPENDATA_ZONE}/{name}/latest/"))
            view.refusals = refusal_reasons(self.lh, name, self.classifier)
            view.updated_at = self._freshness(name, zone)
        return view

    def search(self, query: str = "") -> list[DatasetView]:
        views = [self.view(n) for n in self.names()]
        return [v for v in views if v.matches(query)] if query.strip() else views

    def get(self, name: str) -> DatasetView:
        if name not in self.names():
            raise LakehouseError(f"jeu de données inconnu : « {name} »")
        return self.view(name, detail=True)

    def review_queue(self) -> list[DatasetView]:
        """Datasets with a column proposal to review, a declassification requested in dbt, or an
        agent's upload to validate."""
        return [v for v in (self.view(n) for n in self.names()) if v.pending]
