"""The static catalog page (French): datasets, columns, tags, levels, evidence, pending reviews, owners."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from governance.export_guard import refusal_reasons
from governance.levels import LEVEL_LABELS_FR
from governance.state import Classifier

TEMPLATES = Path(__file__).parent / "templates"


def render_catalog(lh, classifier: Classifier | None = None) -> str:
    cl = classifier or Classifier(lh)
    datasets = []
    for name in cl.datasets():
        st = cl.state(name)
        entry = lh.registry.find(name)
        datasets.append(
            {
                "name": name,
                "level": st.level,
                "own_level": st.own_level,
                "inherited_level": st.inherited_level,
                "owner": cl.lineage.owners.get(name) or (entry.owner_service if entry else None),
                "parents": st.parents,
                "pending": st.pending + (["déclassement demandé"] if st.declassification_requested else []),
                "declassification": st.declassification,
                "scanned_at": st.scanned_at,
                "refusals": refusal_reasons(lh, name, cl),
                "columns": list(st.columns.values()),
            }
        )
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("catalog.html.j2").render(
        datasets=datasets,
        labels=LEVEL_LABELS_FR,
        pending_total=sum(len(d["pending"]) for d in datasets),
        generated_at=datetime.now(UTC).strftime("%d/%m/%Y %H:%M UTC"),
    )


def write_catalog_page(lh, out: Path | None = None) -> Path:
    out = Path(out) if out else Path(lh.settings.data_dir) / "catalog" / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_catalog(lh), encoding="utf-8")
    return out
