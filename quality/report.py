"""French HTML rendering of the latest quality results: ``_meta/quality/index.html``."""

from __future__ import annotations

from datetime import UTC, datetime

from jinja2 import Environment, select_autoescape

from lakehouse.platform import Lakehouse
from quality import results

KEY = f"{results.PREFIX}index.html"

TEMPLATE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8">
<title>Qualité des données — Hyperviseur</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#1e1e1e}
table{border-collapse:collapse;width:100%;margin-bottom:1.5rem}
th,td{border:1px solid #ccc;padding:.35rem .5rem;text-align:left;font-size:.9rem}
th{background:#f0f0f5}.ok{color:#18753c}.ko{color:#ce0500;font-weight:bold}.warn{color:#b34000}
details{margin:.5rem 0}summary{cursor:pointer}
</style></head><body>
<h1>Qualité des données</h1>
<p>Généré le {{ generated }} — {{ rows|length }} jeu(x) de données contrôlé(s) :
<span class="ok">{{ ok }} conforme(s)</span>, <span class="ko">{{ blocked }} bloqué(s)</span>,
<span class="warn">{{ warned }} avec avertissement(s)</span>.</p>
<p>Un contrôle <strong>bloquant</strong> en échec arrête la construction des jeux de données en aval
et interdit leur publication ; un <strong>avertissement</strong> est seulement enregistré.</p>
<table><thead><tr><th>Jeu de données</th><th>Contrôlé le (UTC)</th><th>Lignes</th><th>État</th>
<th>Bloquants en échec</th><th>Avertissements</th></tr></thead><tbody>
{% for r in rows %}<tr><td><a href="#{{ r.dataset }}">{{ r.dataset }}</a></td><td>{{ r.run_at[:19].replace('T', ' ') }}</td>
<td>{{ r.rows if r.rows is not none else '—' }}</td>
<td class="{{ 'ok' if r.blocking_passed else 'ko' }}">{{ 'conforme' if r.blocking_passed else 'bloqué' }}</td>
<td>{{ r.failures|length }}</td><td>{{ r.warnings|length }}</td></tr>
{% endfor %}</tbody></table>
{% for r in rows %}<details id="{{ r.dataset }}"{% if not r.blocking_passed %} open{% endif %}>
<summary><strong>{{ r.dataset }}</strong> — {{ r.checks|length }} contrôle(s)</summary>
<table><thead><tr><th>Contrôle</th><th>Sévérité</th><th>Résultat</th><th>Détail</th></tr></thead><tbody>
{% for c in r.checks %}<tr><td>{{ c.check }}</td><td>{{ 'bloquant' if c.severity == 'blocking' else 'avertissement' }}</td>
<td class="{{ 'ok' if c.passed else ('ko' if c.severity == 'blocking' else 'warn') }}">{{ 'réussi' if c.passed else 'échec' }}</td>
<td>{{ c.message }}</td></tr>
{% endfor %}</tbody></table></details>
{% endfor %}
</body></html>
"""


def render(lh: Lakehouse) -> str:
    """Write the report into the lake; returns its URI."""
    rows = results.all_latest(lh)
    html = (
        Environment(autoescape=select_autoescape(default=True))
        .from_string(TEMPLATE)
        .render(
            rows=rows,
            generated=datetime.now(UTC).strftime("%d/%m/%Y %H:%M UTC"),
            ok=sum(1 for r in rows if r.blocking_passed and not r.warnings),
            blocked=sum(1 for r in rows if not r.blocking_passed),
            warned=sum(1 for r in rows if r.warnings),
        )
    )
    lh.storage.write_bytes(KEY, html.encode("utf-8"))
    return lh.storage.uri(KEY)
