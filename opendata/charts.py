"""Inline SVG generated server-side: a line chart of a time series, a map of geometries.

No JavaScript library and no map tiles: the portal works offline and from a plain file
server. Each SVG has a ``<title>`` and ``<desc>`` for screen readers; the page also gives
the same figures as text.
"""

from __future__ import annotations

import math
from html import escape

WIDTH, HEIGHT, PAD = 640, 260, 44
MAP_SIZE = 420


def _nice(value: float) -> str:
    return f"{value:,.1f}".replace(",", " ").replace(".", ",")


def line_chart(points: list[list], title: str, description: str) -> str:
    """``points`` = [[iso_time, value], …] already ordered by time."""
    ys = [p[1] for p in points]
    lo, hi = min(ys), max(ys)
    if hi == lo:
        hi = lo + 1
    n = len(points)
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def xy(i, y):
        return PAD + inner_w * i / max(n - 1, 1), PAD + inner_h * (1 - (y - lo) / (hi - lo))

    path = " ".join(
        f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(xy(i, v) for i, v in enumerate(ys))
    )
    first, last = (f"{p[0][8:10]}/{p[0][5:7]}/{p[0][:4]}" for p in (points[0], points[-1]))  # JJ/MM/AAAA
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title chart-desc" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="chart-title">{escape(title)}</title><desc id="chart-desc">{escape(description)}</desc>'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>'
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" class="axis"/>'
        f'<text x="{PAD - 6}" y="{PAD + 4}" text-anchor="end" class="tick">{_nice(hi)}</text>'
        f'<text x="{PAD - 6}" y="{HEIGHT - PAD}" text-anchor="end" class="tick">{_nice(lo)}</text>'
        f'<text x="{PAD}" y="{HEIGHT - PAD + 18}" class="tick">{escape(first)}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - PAD + 18}" text-anchor="end" class="tick">{escape(last)}</text>'
        f'<path d="{path}" class="line" fill="none"/></svg>'
    )


def _rings(geometry: dict):
    kind, coords = geometry["type"], geometry["coordinates"]
    if kind == "Point":
        yield "point", [coords]
    elif kind == "MultiPoint":
        for c in coords:
            yield "point", [c]
    elif kind in ("LineString",):
        yield "line", coords
    elif kind in ("MultiLineString", "Polygon"):
        for ring in coords:
            yield ("polygon" if kind == "Polygon" else "line"), ring
    elif kind == "MultiPolygon":
        for poly in coords:
            for ring in poly:
                yield "polygon", ring


def map_svg(geometries: list[dict], bbox: list[float], title: str, description: str) -> str:
    """Equirectangular projection of the bounding box, corrected for latitude."""
    x0, y0, x1, y1 = bbox
    kx = math.cos(math.radians((y0 + y1) / 2))
    span_x, span_y = max((x1 - x0) * kx, 1e-6), max(y1 - y0, 1e-6)
    scale = (MAP_SIZE - 2 * 16) / max(span_x, span_y)
    w, h = span_x * scale + 32, span_y * scale + 32

    def proj(c):
        return 16 + (c[0] - x0) * kx * scale, 16 + (y1 - c[1]) * scale

    shapes = []
    for g in geometries:
        for kind, ring in _rings(g):
            if kind == "point":
                x, y = proj(ring[0])
                shapes.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" class="pt"/>')
            else:
                pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(proj, ring))
                tag = "polygon" if kind == "polygon" else "polyline"
                shapes.append(f'<{tag} points="{pts}" class="{"area" if tag == "polygon" else "route"}"/>')
    return (
        f'<svg class="map" viewBox="0 0 {w:.0f} {h:.0f}" role="img" aria-labelledby="map-title map-desc" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="map-title">{escape(title)}</title>'
        f'<desc id="map-desc">{escape(description)}</desc>'
        f'<rect x="0" y="0" width="{w:.0f}" height="{h:.0f}" class="bg"/>{"".join(shapes)}</svg>'
    )
