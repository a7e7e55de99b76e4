"""The citizens' portal: static French HTML pages generated from publication manifests.

``index.html`` (search and theme filter), ``datasets/<name>.html`` (description, licence,
dates, downloads, every kept version with its changelog, chart or map, preview, column
dictionary with units), ``api.html`` (the records API, in French, with examples) and
``assets/``. Numbers and dates are shown the French way (``31,6784``, ``01/03/2026 14:00 UTC``),
with the unit the producer declared in dbt. Pages use relative links only, so the same
files work from the local lake, an S3 bucket behind a web server, or
``hyperviseur opendata serve``.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from opendata import charts, vocab
from opendata.api import DIFFERENCES, PREFIX

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


NUMERIC_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "REAL"}


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


NBSP = "\u202f"  # narrow no-break space, the French thousands separator
SIGNIFICANT_DIGITS = 6


def french_number(value) -> str:
    """``31.678399999999993`` → ``31,6784``; ``12345`` → ``12 345`` (at most 6 significant digits)."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else ("oui" if value else "non")
    if isinstance(value, int):
        return f"{value:,}".replace(",", NBSP)
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    decimals = min(6, max(0, SIGNIFICANT_DIGITS - 1 - math.floor(math.log10(abs(value)))))
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", NBSP).replace(".", ",")


def french_cell(value, sql_type: str) -> str:
    """A preview cell (as profiled: numbers, booleans, ISO texts) in French."""
    if not isinstance(value, str):
        return french_number(value)
    if sql_type.startswith("TIMESTAMP") or sql_type == "DATE":
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if sql_type == "DATE":
            return f"{dt:%d/%m/%Y}"
        return f"{dt:%d/%m/%Y %H:%M}" + (" UTC" if sql_type == "TIMESTAMP WITH TIME ZONE" else "")
    return value


def _type_fr(t: str) -> str:
    return TYPES_FR.get(t, "nombre décimal" if t.startswith("DECIMAL") else t.lower())


def _contact_href(contact: str) -> str | None:
    if contact.startswith(("http://", "https://", "mailto:")):
        return contact
    return "mailto:" + contact if "@" in contact else None


def _changelog(versions: list[dict]) -> list[dict]:
    """Kept versions, newest first, each with what changed since the one before it."""
    out = []
    ordered = sorted(versions, key=lambda v: v["version"])
    for i, v in enumerate(ordered):
        prev = ordered[i - 1] if i else None
        changes = []
        if prev is None:
            changes.append("première version conservée")
        else:
            delta = v["rows"] - prev["rows"]
            sign = "+" if delta >= 0 else "−"
            changes.append(f"{sign}{french_number(abs(delta))} ligne(s) ({french_number(v['rows'])} au total)")
            before = {c["name"] for c in prev["columns"]}
            after = {c["name"] for c in v["columns"]}
            if after - before:
                changes.append("colonne(s) ajoutée(s) : " + ", ".join(sorted(after - before)))
            if before - after:
                changes.append("colonne(s) retirée(s) : " + ", ".join(sorted(before - after)))
            if v["metadata"] != prev["metadata"]:
                changes.append("métadonnées modifiées")
            if len(changes) == 1 and delta == 0:
                changes.append("données actualisées")
        out.append(
            {
                "version": v["version"],
                "published_at": v["published_at"],
                "date": french_date(v["published_at"], with_time=True),
                "changes": changes,
                "files": [
                    {
                        "format": f["format"],
                        "label": vocab.FORMATS[f["format"]].label,
                        "path": f["key"].split("/", 1)[1],  # <dataset>/<version>/<file>, relative to the portal root
                        "size": human_size(f["bytes"]),
                    }
                    for f in v["files"]
                ],
            }
        )
    return list(reversed(out))


def _view(m: dict) -> dict:
    meta = m["metadata"]
    licence = vocab.LICENCES[meta["licence"]]
    theme_labels = [vocab.THEMES_FR[t] for t in meta["themes"]]
    units = meta.get("units") or {}
    columns = [{**c, "type_fr": _type_fr(c["type"]), "unit": units.get(c["name"], "")} for c in m["columns"]]
    types = [c["type"] for c in m["columns"]]
    hvd = meta.get("hvd_category")
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
        "rows": french_number(m["rows"]),
        "columns": columns,
        "preview": [[french_cell(v, t) for v, t in zip(row, types)] for row in m["preview"]],
        "numeric": [c["type"] in NUMERIC_TYPES or c["type"].startswith("DECIMAL") for c in m["columns"]],
        "versions": _changelog(m.get("versions") or [m]),
        "hvd_label": vocab.HVD_CATEGORIES[hvd][1] if hvd else None,
        "api_records": f"{PREFIX.lstrip('/')}/{m['dataset']}/records",
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
        unit = f" ({units[chart['measure']]})" if units.get(chart["measure"]) else ""
        caption = f"Moyenne de « {chart['measure']} »{unit} par {per}, {len(chart['points'])} points."
        view["chart_caption"] = caption
        view["chart_svg"] = charts.line_chart(chart["points"], f"Évolution de {chart['measure']}", caption)
    if m.get("map") and m.get("bbox"):
        caption = f"{len(m['map'])} localisation(s) distincte(s) du jeu de données."
        view["map_caption"] = caption
        view["map_svg"] = charts.map_svg(m["map"], m["bbox"], f"Carte de {meta['title']}", caption)
    return view


def _api_example(view: dict | None) -> dict | None:
    """Example queries on one published dataset, for the API page."""
    if view is None:
        return None
    cols = view["columns"]
    numeric = next((c["name"] for c, is_num in zip(cols, view["numeric"]) if is_num), None)
    text = next((c["name"] for c in cols if c["type"] == "VARCHAR"), None)
    time_col = next((c["name"] for c in cols if c["type"].startswith("TIMESTAMP") or c["type"] == "DATE"), None)
    return {"name": view["name"], "title": view["title"], "numeric": numeric, "text": text, "time": time_col}


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
    example = next((v for v in views if v["hvd_label"]), views[0] if views else None)
    files["api.html"] = env.get_template("api.html").render(
        root="", datasets=views, example=_api_example(example), prefix=PREFIX, differences=DIFFERENCES, **common
    )
    out = {k: v.encode("utf-8") for k, v in files.items()}
    for name in ASSETS:
        out[f"assets/{name}"] = (HERE / "static" / name).read_bytes()
    return out
