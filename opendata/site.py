"""The citizens' portal: static French HTML pages generated from publication manifests.

``index.html`` (search and theme filter), ``datasets/<name>.html`` (description, licence,
dates, downloads, chart or map, preview, column dictionary) and ``assets/``. Pages use
relative links only, so the same files work from the local lake, an S3 bucket behind a
web server, or ``hyperviseur opendata serve``.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from opendata import charts, vocab

HERE = Path(__file__).resolve().parent
ASSETS = ("portal.css", "portal.js")
TYPES_FR = {
    "VARCHAR": "texte",
    "DOUBLE": "nombre décimal",
    "FLOAT": "nombre décimal",
    "BIGINT": "entier",
    "INTEGER": "entier",
    "SMALLINT": "entier",
    "BOOLEAN": "booléen",
    "DATE": "date",
    "TIMESTAMP WITH TIME ZONE": "date et heure (UTC)",
    "TIMESTAMP": "date et heure",
}
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))


def fold(text: str) -> str:
    """Lower-case, accent-free text, as the search script compares it."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn").lower()


def french_date(iso: str, with_time: bool = False) -> str:
    dt = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    text = f"{dt.day} {MONTHS[dt.month - 1]} {dt.year}"
    return text + (f" à {dt:%H:%M} UTC" if with_time else "")


def human_size(n: int) -> str:
    for unit in ("octets", "Ko", "Mo", "Go"):
        if n < 1024 or unit == "Go":
            return f"{n} {unit}" if unit == "octets" else f"{n:.1f} {unit}".replace(".", ",")
        n /= 1024
    raise AssertionError("unreachable")


def _type_fr(t: str) -> str:
    return TYPES_FR.get(t, "nombre décimal" if t.startswith("DECIMAL") else t.lower())


def _contact_href(contact: str) -> str | None:
    if contact.startswith(("http://", "https://", "mailto:")):
        return contact
    return "mailto:" + contact if "@" in contact else None


def _view(m: dict) -> dict:
    meta = m["metadata"]
    licence = vocab.LICENCES[meta["licence"]]
    theme_labels = [vocab.THEMES_FR[t] for t in meta["themes"]]
    columns = [{**c, "type_fr": _type_fr(c["type"])} for c in m["columns"]]
    view = {
        "name": m["dataset"],
        "title": meta["title"],
        "description": meta["description"],
        "summary": meta["description"] if len(meta["description"]) < 220 else meta["description"][:217] + "…",
        "themes": meta["themes"],
        "theme_labels": theme_labels,
        "keywords": meta["keywords"],
        "licence_label": licence.label_fr,
        "licence_url": licence.uri,
        "producer": meta["producer"],
        "contact": meta["contact_point"],
        "contact_href": _contact_href(meta["contact_point"]),
        "frequency": vocab.FREQUENCIES[meta["frequency"]][1],
        "spatial": meta.get("spatial"),
        "version": m["version"],
        "published_at": m["published_at"],
        "updated": french_date(m["published_at"]),
        "rows": f"{m['rows']:,}".replace(",", " "),
        "columns": columns,
        "preview": m["preview"],
        "temporal": m.get("temporal"),
        "files": [{**f, "label": vocab.FORMATS[f["format"]].label, "size": human_size(f["bytes"])} for f in m["files"]],
        "formats": [vocab.FORMATS[f["format"]].label for f in m["files"]],
        "search_text": fold(
            " ".join([meta["title"], meta["description"], m["dataset"], *meta["keywords"], *theme_labels])
        ),
    }
    if m.get("temporal"):
        view["temporal_start"] = french_date(m["temporal"]["start"])
        view["temporal_end"] = french_date(m["temporal"]["end"])
    chart = m.get("chart")
    if chart:
        per = "heure" if chart["step"] == "hour" else "jour"
        caption = f"Moyenne de « {chart['measure']} » par {per}, {len(chart['points'])} points."
        view["chart_caption"] = caption
        view["chart_svg"] = charts.line_chart(chart["points"], f"Évolution de {chart['measure']}", caption)
    if m.get("map") and m.get("bbox"):
        caption = f"{len(m['map'])} localisation(s) distincte(s) du jeu de données."
        view["map_caption"] = caption
        view["map_svg"] = charts.map_svg(m["map"], m["bbox"], f"Carte de {meta['title']}", caption)
    return view


def render(
    manifests: list[dict], *, site_name: str, publisher: str, territory: str, generated_at: str
) -> dict[str, bytes]:
    """Every file of the site, keyed by its path relative to the ``opendata/`` root."""
    env = _env()
    views = [_view(m) for m in sorted(manifests, key=lambda m: m["metadata"]["title"])]
    used = sorted({t for v in views for t in v["themes"]})
    common = {"site_name": site_name, "publisher": publisher, "generated_at": french_date(generated_at, with_time=True)}
    files = {
        "index.html": env.get_template("index.html").render(
            root="", datasets=views, territory=territory, themes=[(t, vocab.THEMES_FR[t]) for t in used], **common
        ),
    }
    page = env.get_template("dataset.html")
    for v in views:
        files[f"datasets/{v['name']}.html"] = page.render(root="../", d=v, **common)
    out = {k: v.encode("utf-8") for k, v in files.items()}
    for name in ASSETS:
        out[f"assets/{name}"] = (HERE / "static" / name).read_bytes()
    return out
