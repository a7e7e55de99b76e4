"""Lineage and classification metadata from dbt's ``target/manifest.json``.

Model ``meta.classification`` semantics (set by dbt developers in the model's YAML):
- ``level``: a floor — the model is at least this level whatever the scan finds;
- ``declassified``: a *request* for declassification (e.g. aggregated by district); it is
  shown to stewards as pending, and only a steward ``declassify`` decision lowers the level;
- column ``meta.classification.tags``: tags declared by the developer, added to the scan's.
dbt sources are mapped to raw datasets (``<source>.<dataset>``, e.g. ``citizen.reports``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse.errors import LakehouseError, SettingsError
from lakehouse.settings import DEFAULT_MANIFEST, REPO_ROOT, dbt_manifest_path  # noqa: F401  (REPO_ROOT: public name)

MANIFEST_ENV = "HYPERVISEUR_DBT_MANIFEST"  # overrides the default manifest path


def _classification(meta: dict | None) -> dict:
    return dict((meta or {}).get("classification") or {})


@dataclass
class Lineage:
    parents: dict[str, list[str]] = field(default_factory=dict)  # dataset -> parent datasets
    model_meta: dict[str, dict] = field(default_factory=dict)  # dataset -> meta.classification
    column_tags: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)

    def ancestors(self, name: str) -> set[str]:
        seen, stack = set(), list(self.parents.get(name, []))
        while stack:
            p = stack.pop()
            if p not in seen:
                seen.add(p)
                stack.extend(self.parents.get(p, []))
        return seen


def _dataset_name(node: dict) -> str:
    """A dbt source is named like the raw dataset it reads (``<source>.<dataset>``) unless its
    ``meta.dataset`` says otherwise; models keep their own name."""
    if node.get("resource_type") != "source":
        return node["name"]
    meta = node.get("meta") or {}
    return meta.get("dataset") or f"{node.get('source_name')}.{node.get('name')}"


def load_lineage(path: Path | str | None = None, env=None) -> Lineage:
    """Parse the manifest (``path``, else ``HYPERVISEUR_DBT_MANIFEST`` read from ``env`` — default:
    the process environment —, else dbt's default target). An absent manifest is an error:
    propagating classifications along an empty lineage would silently under-classify marts."""
    path = Path(path) if path else dbt_manifest_path(env)
    if not path.is_file():
        raise SettingsError(
            MANIFEST_ENV,
            f"manifeste dbt introuvable : {path} ; lancer « dbt parse » ou "
            f"« dbt build » (ou indiquer le manifeste dans {MANIFEST_ENV})",
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise LakehouseError(f"{path} : manifeste dbt illisible ({exc})") from exc
    nodes = {**manifest.get("sources", {}), **manifest.get("nodes", {})}
    names = {uid: _dataset_name(n) for uid, n in nodes.items()}
    lin = Lineage()
    for uid, node in nodes.items():
        if node.get("resource_type") not in ("model", "seed", "snapshot", "source"):
            continue
        name = names[uid]
        deps = manifest.get("parent_map", {}).get(uid) or (node.get("depends_on") or {}).get("nodes", [])
        lin.parents[name] = sorted({names[d] for d in deps if d in names})
        meta = node.get("meta") or (node.get("config") or {}).get("meta") or {}
        lin.model_meta[name] = _classification(meta)
        lin.column_tags[name] = {
            c: list(_classification(col.get("meta")).get("tags") or [])
            for c, col in (node.get("columns") or {}).items()
            if _classification(col.get("meta")).get("tags")
        }
        owner = (
            meta.get("owner") or meta.get("owner_service") or (node.get("config") or {}).get("meta", {}).get("owner")
        )
        if owner:
            lin.owners[name] = owner
        if node.get("resource_type") == "model":
            lin.models.append(name)
    lin.models.sort()
    return lin


def add_generated(lin: Lineage, manifest: Path) -> Lineage:
    """``lin`` plus what only the manifest of this lake's generated models knows: those models
    and the uploads they read (``settings.generated_dbt_target``; nothing when never built)."""
    if not Path(manifest).is_file():
        return lin
    extra = load_lineage(manifest)
    for name in sorted(set(extra.parents) - set(lin.parents)):
        lin.parents[name] = extra.parents[name]
        lin.model_meta[name] = extra.model_meta.get(name, {})
        lin.column_tags[name] = extra.column_tags.get(name, {})
        if name in extra.owners:
            lin.owners[name] = extra.owners[name]
        if name in extra.models:
            lin.models.append(name)
    lin.models.sort()
    return lin
