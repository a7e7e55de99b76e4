"""Consequence graph: a declared, validated graph of dependencies between assets of the territory.

Nodes are ``<type>:<id>`` where the id exists in the referential (seeds) or in the file's
``assets`` section; an alert on a node lists what is reachable from it (its likely
consequences), the sensitive sites reached (schools, nurseries) and the people exposed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from alerting.errors import ConfigError
from alerting.referential import SENSITIVE_BUILDINGS, Referential

DEFAULT_GRAPH = Path(__file__).parent / "config" / "consequences.yaml"
TYPE_LABELS_FR = {
    "sector": "secteur d'eau",
    "segment": "tronçon",
    "bus_line": "ligne de bus",
    "building": "bâtiment",
    "circuit": "armoire d'éclairage",
    "station": "station d'air",
    "district": "quartier",
    "lamp": "lampadaire",
}


@dataclass
class Consequence:
    node: str
    label: str
    relation: str
    depth: int
    via: str

    def to_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass
class Impact:
    consequences: list[Consequence] = field(default_factory=list)
    sensitive_sites: list[str] = field(default_factory=list)
    population: int = 0

    def to_dict(self) -> dict:
        return {
            "consequences": [c.to_dict() for c in self.consequences],
            "sensitive_sites": self.sensitive_sites,
            "population": self.population,
        }


class ConsequenceGraph:
    def __init__(self, ref: Referential, assets: dict, edges: dict[str, list[tuple[str, str]]], relations: dict):
        self.ref, self.assets, self.edges, self.relations = ref, assets, edges, relations

    @classmethod
    def load(cls, ref: Referential, path: Path | str | None = None) -> ConsequenceGraph:
        path = Path(path) if path else DEFAULT_GRAPH
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(path, f"lecture impossible : {exc}") from None
        assets = {t: dict(v or {}) for t, v in (doc.get("assets") or {}).items()}
        relations = doc.get("relations") or {}
        edges: dict[str, list[tuple[str, str]]] = {}

        def check(node, i):
            if not isinstance(node, str) or ":" not in node:
                raise ConfigError(path, f"lien n° {i} : nœud « {node} » mal écrit (attendu type:identifiant)")
            etype, eid = node.split(":", 1)
            if not (ref.has(etype, eid) or eid in assets.get(etype, {})):
                raise ConfigError(
                    path,
                    f"lien n° {i} : identifiant inconnu « {node} » "
                    f"(absent des référentiels {ref.source} et des assets déclarés)",
                )
            return node

        for i, edge in enumerate(doc.get("edges") or [], start=1):
            if not isinstance(edge, dict) or "from" not in edge or "to" not in edge:
                raise ConfigError(path, f"lien n° {i} : champs « from » et « to » obligatoires")
            relation = edge.get("relation", "")
            if relation and relation not in relations:
                raise ConfigError(path, f"lien n° {i} : relation « {relation} » non déclarée sous relations")
            src = check(edge["from"], i)
            targets = edge["to"] if isinstance(edge["to"], list) else [edge["to"]]
            edges.setdefault(src, []).extend((check(t, i), relation) for t in targets)
        return cls(ref, assets, edges, relations)

    def label(self, node: str) -> str:
        etype, eid = node.split(":", 1)
        if eid in self.assets.get(etype, {}):
            return self.assets[etype][eid].get("name", eid)
        return f"{TYPE_LABELS_FR.get(etype, etype)} {self.ref.label(etype, eid)}"

    def impact(self, etype: str, eid: str, max_depth: int = 4) -> Impact:
        """Breadth-first walk from the node; exposure from the node itself and what it reaches."""
        start = f"{etype}:{eid}"
        seen = {start}
        queue = deque([(start, 0)])
        out = Impact()
        while queue:
            node, depth = queue.popleft()
            if depth >= max_depth:
                continue
            for target, relation in self.edges.get(node, []):
                if target in seen:
                    continue
                seen.add(target)
                out.consequences.append(
                    Consequence(target, self.label(target), self.relations.get(relation, relation), depth + 1, node)
                )
                queue.append((target, depth + 1))
        sensitive = {
            n
            for n in seen
            if n.startswith("building:")
            and (self.ref.get("building", n.split(":", 1)[1]) or {}).get("building_type") in SENSITIVE_BUILDINGS
        }
        district = self.ref.district_of(etype, eid) if etype not in ("commune",) else None
        if district:
            sensitive |= (
                {f"building:{b['building_id']}" for b in self.ref.sensitive_sites(district)}
                if etype == "district"
                else set()
            )
        out.sensitive_sites = sorted(self.label(n) for n in sensitive)
        if etype == "commune":
            out.population = sum(int(d.get("population") or 0) for d in self.ref.entities.get("district", {}).values())
        else:
            out.population = self.ref.population(etype, eid)
        return out
