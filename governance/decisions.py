"""Steward decisions as code: one versioned YAML file per dataset, appended, never rewritten.

Files live in ``<data dir>/governance/decisions/<dataset>.yaml`` (the repo's ``data`` folder by
default, so they can be committed and reviewed like code). Every decision records who,
when and why, and is also written to the audit log.

Who: ``identity`` is the authenticated actor, the audit record's ``actor`` (its ``sub``). From
the workspace (workspace/, behind the sign-on) it is the signed-on user (subject, name, groups,
authentication level), and ``by`` is their subject; on the command line the only authenticated
identity is the system account, and ``by`` is the name declared with ``--par`` (a detail).

Actions:
- ``accept``: the steward accepts the scanner's proposal for a column (tags copied), or the
  dataset as it is when nothing is proposed (an agent's upload without personal data);
- ``override``: the steward sets a column's tags explicitly (an empty list = no personal data);
- ``declassify``: the dataset's level is lowered below what lineage gives (reason mandatory);
- ``approve-publication`` / ``revoke-publication``: open-data publication approval.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import yaml

from governance.levels import check_level, check_tag
from lakehouse.audit import AuditLog
from lakehouse.errors import LakehouseError

ACTIONS = ("accept", "override", "declassify", "approve-publication", "revoke-publication")


def decisions_dir(lh) -> Path:
    return Path(lh.settings.data_dir) / "governance" / "decisions"


def _check_name(dataset: str) -> str:
    if not dataset or "/" in dataset or dataset.startswith(".") or "\\" in dataset:
        raise LakehouseError(f"nom de jeu de données invalide « {dataset} »")
    return dataset


class DecisionStore:
    def __init__(self, lh):
        self.lh = lh
        self.root = decisions_dir(lh)

    def path(self, dataset: str) -> Path:
        return self.root / f"{_check_name(dataset)}.yaml"

    def load(self, dataset: str) -> list[dict]:
        path = self.path(dataset)
        if not path.is_file():
            return []
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise LakehouseError(f"{path} : YAML invalide ({exc})") from exc
        decisions = doc.get("decisions") or []
        for i, d in enumerate(decisions, 1):
            if d.get("action") not in ACTIONS or not d.get("by") or not d.get("at"):
                raise LakehouseError(f"{path}, décision n° {i} : champs action/by/at manquants ou invalides")
        return decisions

    def datasets(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*.yaml")) if self.root.is_dir() else []

    def record(
        self,
        dataset: str,
        action: str,
        by: str,
        reason: str,
        *,
        column: str | None = None,
        tags: list[str] | None = None,
        level: str | None = None,
        evidence: dict | None = None,
        identity: dict | None = None,
    ) -> dict:
        """Append one decision (validated) to the dataset's file and to the audit log (actor:
        ``identity["sub"]``, else ``by``); fails closed (nothing written) without an audit key."""
        if action not in ACTIONS:
            raise LakehouseError(f"action inconnue « {action} » (attendu : {', '.join(ACTIONS)})")
        if not by or not by.strip():
            raise LakehouseError("toute décision doit indiquer son auteur (--par)")
        if (
            action in ("override", "declassify", "approve-publication", "revoke-publication")
            and not (reason or "").strip()
        ):
            raise LakehouseError(f"la décision « {action} » exige un motif (--motif)")
        if level is not None:
            check_level(level)
        for t in tags or []:
            check_tag(t)
        decisions = self.load(dataset)
        decision = {
            "version": len(decisions) + 1,
            "action": action,
            "by": by.strip(),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "reason": (reason or "").strip(),
        }
        if column is not None:
            decision["column"] = column
        if tags is not None:
            decision["tags"] = sorted(set(tags))
        if level is not None:
            decision["level"] = level
        if evidence:
            decision["evidence"] = evidence
        if identity:
            if not str(identity.get("sub") or "").strip():
                raise LakehouseError("identité authentifiée sans sujet : décision refusée")
            decision["identity"] = dict(identity)
        actor = decision["identity"]["sub"] if identity else decision["by"]
        AuditLog(self.lh).append("classification.decision", actor, {"dataset": dataset, **decision})
        decisions.append(decision)
        self._write(dataset, decisions)
        return decision

    def _write(self, dataset: str, decisions: list[dict]) -> None:
        path = self.path(dataset)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "# Décisions de classification — fichier versionné, ne pas réécrire l'historique.\n"
        text += yaml.safe_dump({"dataset": dataset, "decisions": decisions}, allow_unicode=True, sort_keys=False)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)


# -- the steward's actions: one code path for the command line and the workspace -------------
def accept(lh, dataset: str, columns, by: str, reason: str = "", *, identity: dict | None = None) -> list[dict]:
    """Accept the scanner's proposal for ``columns`` (every pending column if none), with its evidence."""
    from governance.state import Classifier

    st = Classifier(lh).state(dataset)
    targets = list(columns or []) or st.pending
    unknown = [c for c in targets if c not in st.columns]
    if unknown:
        raise LakehouseError(f"colonnes inconnues dans {dataset} : {', '.join(unknown)}")
    store = DecisionStore(lh)
    if not targets:  # nothing proposed (an upload without personal data): the dataset is accepted as it is
        evidence = {"scanned_at": st.scanned_at, "columns": len(st.columns)}
        return [store.record(dataset, "accept", by, reason, evidence=evidence, identity=identity)]
    out = []
    for c in targets:
        col = st.columns[c]
        evidence = {
            "scanned_at": st.scanned_at,
            "entities": {e: v.get("hit_rate") for e, v in col.evidence.get("entities", {}).items()},
        }
        out.append(
            store.record(
                dataset, "accept", by, reason, column=c, tags=col.proposed_tags, evidence=evidence, identity=identity
            )
        )
    return out


def override(lh, dataset: str, column: str, tags, by: str, reason: str, *, identity: dict | None = None) -> dict:
    """Set a column's tags (an empty list: no personal data); reason mandatory."""
    if not (column or "").strip():
        raise LakehouseError(f"{dataset} : colonne à étiqueter non indiquée")
    return DecisionStore(lh).record(dataset, "override", by, reason, column=column, tags=list(tags), identity=identity)


def declassify(lh, dataset: str, level: str, by: str, reason: str, *, identity: dict | None = None) -> dict:
    """Lower the dataset's level below what lineage gives; reason mandatory."""
    return DecisionStore(lh).record(dataset, "declassify", by, reason, level=level, identity=identity)


def publication(lh, dataset: str, approve: bool, by: str, reason: str, *, identity: dict | None = None) -> dict:
    """Approve (or revoke) open-data publication; the export guard still checks level and tags."""
    action = "approve-publication" if approve else "revoke-publication"
    return DecisionStore(lh).record(dataset, action, by, reason, identity=identity)
