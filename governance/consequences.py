"""What a steward's decision changes, at once rather than at the next graph run.

The same steps as the graph's governance and open-data assets, for the lake as it is now:
levels propagated along the lineage (registry), the serving catalogs rebuilt (a masked copy is
rewritten only where its plan changed), and the decided dataset's open-data publication
brought in line with the gate (published, or withdrawn after a revocation or a raised level)
when its dbt model declares ``meta.opendata``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from governance.catalog import curated_models
from governance.classify import propagate
from governance.serving import build_serving_catalog
from governance.state import Classifier


@dataclass
class Consequences:
    levels: dict[str, str] = field(default_factory=dict)
    served: bool = False
    opendata: str | None = None  # "publié", "retiré", "refusé", "inchangé" or None (not an open-data dataset)


def refresh(lh) -> Consequences:
    """Levels along the lineage, then the serving catalogs (when the lake has marts)."""
    classifier = Classifier(lh)
    done = Consequences(levels=propagate(lh, classifier))
    if curated_models(lh):
        build_serving_catalog(lh, classifier=classifier)
        done.served = True
    return done


def apply(lh, dataset: str, actor: str) -> Consequences:
    """:func:`refresh`, and the open-data publication of ``dataset`` if it is an open-data candidate."""
    from opendata.metadata import declared, load_manifest
    from opendata.publish import publish

    done = refresh(lh)
    if dataset in declared(load_manifest()):
        report = publish(lh, [dataset], actor=actor)
        done.opendata = (
            "publié"
            if dataset in report.published
            else "retiré"
            if dataset in report.withdrawn
            else "inchangé"
            if dataset in report.unchanged
            else "refusé"
        )
    return done
