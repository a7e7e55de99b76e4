"""Effective classification of a dataset: proposals + steward decisions + dbt lineage.

A column's tags are the steward's latest decision for it, else the scanner's proposal (so an
unreviewed column is protected by default), plus tags declared in dbt. A column is pending
review when its proposal was never decided, or changed since the decision. A dataset's
level is the max of its columns, of its dbt floor and of its parents' levels, unless a
steward declassified it (with a recorded reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from governance import proposals
from governance.decisions import DecisionStore
from governance.levels import PUBLIC, is_pii, level_for_tags, max_level, rank
from governance.lineage import Lineage, add_generated, load_lineage


@dataclass
class ColumnState:
    name: str
    type: str = ""
    kind: str = "text"  # text | free_text | skipped
    proposed_tags: list[str] = field(default_factory=list)
    evidence: dict = field(default_factory=dict)
    decision: dict | None = None
    declared_tags: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    level: str = PUBLIC
    pending: bool = False
    changed: bool = False


@dataclass
class DatasetState:
    name: str
    columns: dict[str, ColumnState]
    own_level: str
    inherited_level: str
    level: str
    parents: list[str]
    declassification: dict | None
    declassification_requested: bool
    publication: dict | None  # last approve-publication decision still in force
    classified: bool
    scanned_at: str | None
    decisions: list[dict]

    @property
    def pending(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.pending]

    @property
    def pii_columns(self) -> dict[str, list[str]]:
        return {c.name: [t for t in c.tags if t.startswith("PII.")] for c in self.columns.values() if is_pii(c.tags)}

    @property
    def column_tags(self) -> dict[str, list[str]]:
        return {c.name: c.tags for c in self.columns.values() if c.tags}


class Classifier:
    """Computes :class:`DatasetState` for any dataset, memoising the lineage walk."""

    def __init__(self, lh, lineage: Lineage | None = None):
        self.lh = lh
        self.lineage = lineage if lineage is not None else add_generated(load_lineage(), lh.settings.generated_manifest)
        self.store = DecisionStore(lh)
        self._cache: dict[str, DatasetState] = {}

    def datasets(self) -> list[str]:
        names = set(proposals.datasets(self.lh)) | set(self.store.datasets()) | set(self.lineage.models)
        return sorted(names)

    def state(self, name: str, _stack: tuple = ()) -> DatasetState:
        if name in self._cache:
            return self._cache[name]
        proposal = proposals.latest(self.lh, name)
        decisions = self.store.load(name)
        declared = self.lineage.column_tags.get(name, {})
        columns: dict[str, ColumnState] = {}
        for col, p in ((proposal or {}).get("columns") or {}).items():
            columns[col] = ColumnState(
                col,
                p.get("type", ""),
                p.get("kind", "text"),
                list(p.get("tags", [])),
                p.get("evidence", {}),
                changed=bool(p.get("changed")),
            )
        for col in declared:
            columns.setdefault(col, ColumnState(col))
        for d in decisions:
            if d["action"] in ("accept", "override") and d.get("column"):
                columns.setdefault(d["column"], ColumnState(d["column"])).decision = d
        for c in columns.values():
            c.declared_tags = list(declared.get(c.name, []))
            base = c.decision.get("tags", []) if c.decision else c.proposed_tags
            c.tags = sorted(set(base) | set(c.declared_tags))
            c.level = level_for_tags(c.tags)
            decided_at = c.decision["at"] if c.decision else None
            scanned_at = (proposal or {}).get("scanned_at")
            c.pending = bool(
                (c.decision is None and c.proposed_tags)
                or (
                    c.decision is not None
                    and c.changed
                    and scanned_at
                    and scanned_at > decided_at
                    and sorted(c.decision.get("tags", [])) != sorted(c.proposed_tags)
                )
            )
        meta = self.lineage.model_meta.get(name, {})
        own = max_level(meta.get("level"), *(c.level for c in columns.values()))
        parents = self.lineage.parents.get(name, [])
        inherited = max_level(*(self.state(p, _stack + (name,)).level for p in parents if p not in _stack + (name,)))
        declass = next((d for d in reversed(decisions) if d["action"] == "declassify"), None)
        computed = max_level(own, inherited)
        level = computed
        if declass and rank(declass["level"]) < rank(computed):
            # A declassification never hides personal data found in the dataset's own columns.
            level = max_level(declass["level"], max_level(*(c.level for c in columns.values())))
        pub = None
        for d in decisions:
            if d["action"] == "approve-publication":
                pub = d
            elif d["action"] == "revoke-publication":
                pub = None
        st = DatasetState(
            name=name,
            columns=columns,
            own_level=own,
            inherited_level=inherited,
            level=level,
            parents=parents,
            declassification=declass,
            declassification_requested=bool(meta.get("declassified")) and not declass,
            publication=pub,
            classified=proposal is not None or bool(decisions) or name in self.lineage.models,
            scanned_at=(proposal or {}).get("scanned_at"),
            decisions=decisions,
        )
        self._cache[name] = st
        return st
