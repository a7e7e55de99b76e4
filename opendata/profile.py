"""Small facts about a dataset for its metadata and portal page, computed in DuckDB.

Row count, temporal coverage (from the first time column), the first rows (preview), a
time series of one measure (chart) and up to a few hundred geometries (map). Each is a
bounded aggregate, so a 10 M-row dataset costs a few scans, never a load into memory.
"""

from __future__ import annotations

import json

from opendata.export import Column, Geometry, quote, sql_string, text_expr

PREVIEW_ROWS = 20
MAX_MAP_FEATURES = 500
MAX_CHART_POINTS = 800


def _time_column(cols: list[Column]) -> Column | None:
    return next((c for c in cols if c.is_time), None)


def _measure(cols: list[Column], geo: Geometry | None) -> Column | None:
    skip = set(geo.columns if geo else ())
    return next((c for c in cols if c.is_numeric and c.name not in skip), None)


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def profile(con, source: str, cols: list[Column], geo: Geometry | None) -> dict:
    src = f"read_parquet({sql_string(source)})"
    rows = con.execute(f"SELECT count(*) FROM {src}").fetchone()[0]
    out: dict = {"rows": rows, "temporal": None, "chart": None, "map": None, "bbox": None}

    select = ", ".join(f"{text_expr(c)} AS {quote(c.name)}" for c in cols)
    cur = con.execute(f"SELECT {select} FROM {src} LIMIT {PREVIEW_ROWS}")
    out["preview"] = [list(map(_cell, r)) for r in cur.fetchall()]

    time_col = _time_column(cols)
    if time_col is not None:
        t = quote(time_col.name)
        start, end = con.execute(f"SELECT min({t}), max({t}) FROM {src}").fetchone()
        if start is not None:
            out["temporal"] = {"column": time_col.name, "start": _iso(start), "end": _iso(end)}
            out["chart"] = _chart(con, src, time_col, _measure(cols, geo), start, end)
    if geo is not None:
        out["map"], out["bbox"] = _map(con, src, geo)
    return out


def _cell(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _chart(con, src: str, time_col: Column, measure: Column | None, start, end) -> dict | None:
    if measure is None:
        return None
    span_days = (end - start).total_seconds() / 86400
    step = "hour" if span_days <= 3 else "day"
    t, m = quote(time_col.name), quote(measure.name)
    rows = con.execute(
        f"SELECT date_trunc('{step}', {t}) AS x, avg({m}) AS y FROM {src} "
        f"WHERE {t} IS NOT NULL AND {m} IS NOT NULL GROUP BY 1 ORDER BY 1 LIMIT {MAX_CHART_POINTS}"
    ).fetchall()
    if len(rows) < 2:
        return None
    return {"measure": measure.name, "step": step, "points": [[_iso(x), round(float(y), 3)] for x, y in rows]}


def _map(con, src: str, geo: Geometry):
    if geo.wkt:
        w = quote(geo.wkt)
        rows = con.execute(
            f"SELECT DISTINCT ST_AsGeoJSON(ST_GeomFromText({w}))::VARCHAR FROM {src} WHERE {w} IS NOT NULL LIMIT {MAX_MAP_FEATURES}"
        ).fetchall()
        bbox = con.execute(
            f"SELECT min(ST_XMin(g)), min(ST_YMin(g)), max(ST_XMax(g)), max(ST_YMax(g)) "
            f"FROM (SELECT ST_GeomFromText({w}) AS g FROM {src} WHERE {w} IS NOT NULL)"
        ).fetchone()
        geometries = [json.loads(r[0]) for r in rows]
    else:
        lat, lon = quote(geo.lat), quote(geo.lon)
        rows = con.execute(
            f"SELECT DISTINCT round({lon}, 5), round({lat}, 5) FROM {src} "
            f"WHERE {lat} IS NOT NULL AND {lon} IS NOT NULL LIMIT {MAX_MAP_FEATURES}"
        ).fetchall()
        bbox = con.execute(f"SELECT min({lon}), min({lat}), max({lon}), max({lat}) FROM {src}").fetchone()
        geometries = [{"type": "Point", "coordinates": [float(x), float(y)]} for x, y in rows]
    if not geometries or bbox[0] is None:
        return None, None
    return geometries, [float(v) for v in bbox]
