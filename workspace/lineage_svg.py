"""The lineage of one dataset drawn as an inline SVG: sources on the left, the dataset in the
middle, what is built from it on the right, one column per step; each box links to its page.

Depth = shortest number of dbt edges from the dataset (upstream negative, downstream positive),
so a long chain reads left to right whatever the graph's shape.
"""

from __future__ import annotations

from html import escape

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 210, 34, 60, 14, 10


def _depths(start: str, edges: dict[str, list[str]]) -> dict[str, int]:
    depth, frontier = {start: 0}, [start]
    while frontier:
        nxt = []
        for node in frontier:
            for other in edges.get(node, []):
                if other not in depth:
                    depth[other] = depth[node] + 1
                    nxt.append(other)
        frontier = nxt
    return depth


def lineage_graph(name: str, parents: dict[str, list[str]], children: dict[str, list[str]]) -> dict:
    """Columns of nodes and the edges among them: ``{"columns": {depth: [names]}, "edges": [(a, b)]}``."""
    up, down = _depths(name, parents), _depths(name, children)
    depth = {n: -d for n, d in up.items()} | {n: d for n, d in down.items() if n != name}
    columns: dict[int, list[str]] = {}
    for n, d in sorted(depth.items(), key=lambda x: (x[1], x[0])):
        columns.setdefault(d, []).append(n)
    edges = sorted({(p, c) for c in depth for p in parents.get(c, []) if p in depth})
    return {"columns": dict(sorted(columns.items())), "edges": edges, "upstream": sorted(set(up) - {name})}


def _label(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_svg(name: str, parents: dict[str, list[str]], children: dict[str, list[str]], href) -> str:
    """The SVG markup; ``href(dataset)`` gives each box's link."""
    graph = lineage_graph(name, parents, children)
    cols = graph["columns"]
    first = min(cols)
    pos = {}
    for d, nodes in cols.items():
        for i, n in enumerate(nodes):
            pos[n] = (PAD + (d - first) * (BOX_W + GAP_X), PAD + i * (BOX_H + GAP_Y))
    width = PAD * 2 + len(cols) * BOX_W + (len(cols) - 1) * GAP_X
    height = PAD * 2 + max(len(n) for n in cols.values()) * (BOX_H + GAP_Y) - GAP_Y
    n_up, n_down = len(graph["upstream"]), len(pos) - len(graph["upstream"]) - 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lignee" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="lignee-titre">',
        f'<title id="lignee-titre">Lignée de {escape(name)} : {n_up} jeu(x) en amont, {n_down} en aval</title>',
        '<defs><marker id="fleche" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
    ]
    for a, b in graph["edges"]:
        (ax, ay), (bx, by) = pos[a], pos[b]
        x1, y1, x2, y2 = ax + BOX_W, ay + BOX_H / 2, bx, by + BOX_H / 2
        mid = (x1 + x2) / 2
        parts.append(
            f'<path class="arete" d="M {x1} {y1} C {mid} {y1}, {mid} {y2}, {x2} {y2}" fill="none" '
            'stroke="#555" stroke-width="1.5" marker-end="url(#fleche)"/>'
        )
    for n, (x, y) in pos.items():
        attrs = ' class="noeud courant" aria-current="page"' if n == name else ' class="noeud"'
        parts.append(
            f'<a href="{escape(href(n))}"{attrs}>'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="4"/>'
            f'<text x="{x + 8}" y="{y + BOX_H / 2 + 5}">{escape(_label(n))}</text><title>{escape(n)}</title></a>'
        )
    parts.append("</svg>")
    return "".join(parts)
