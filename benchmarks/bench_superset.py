"""Starter dashboards' chart queries: through Superset's API vs the same SQL in raw DuckDB.

For every chart of ``superset/dashboards.yaml`` the benchmark asks Superset for the SQL it
generates (``/api/v1/chart/data``, ``result_type=query``), then times it three ways:
cold (``force``: Superset runs the SQL, no cache), warm (the same call answered from
Superset's data cache, as for the second agent opening a dashboard) and the same SQL in a
raw read-only DuckDB connection (CPU-bound baseline). Sizes: the default territory
(14 days) and 10 M sensor readings in the hourly marts (air + traffic); then 20 concurrent
dashboard loads (all charts of a dashboard at once per virtual user), cold and warm.

Layout check (issue 13): per-clearance catalogs (one DuckDB file and Superset database per
clearance) against the previous single catalog (every schema in one file, registered as
one more Superset database, locked down by the same code: ``superset_single_catalog_config.py``),
same lake, same Superset, same run. Each dashboard's charts run cold (``force``), all at
once as a browser does, on one layout then the other, the order alternating at every
repetition so machine noise hits both alike; both sides read identical virtual datasets
(``SELECT * FROM <schema>.<mart>``), so only the database differs. Target: p95 ratio
≤ 1.10 (PASS/FAIL printed).
``--quick``: two days, a few repetitions (smoke test).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "superset"))

import synthetic_marts  # noqa: E402

from benchmarks.common import peak_rss_mb, report  # noqa: E402
from superset import service  # noqa: E402
from superset.bundle import DATABASES, chart_query_context, database_yaml, load_spec  # noqa: E402
from superset.provision import admin_client, provision  # noqa: E402

SIZES = {
    "quick": [("2 jours", dict(hours=48))],
    "default": [
        ("14 jours", dict(hours=14 * 24)),
        # 20 stations x 4 pollutants + 100 segments = 180 readings per hour
        ("10 M relevés", dict(hours=10_000_000 // 180, stations=20, segments=100)),
    ],
}


SINGLE_CONFIG = ROOT / "benchmarks" / "superset_single_catalog_config.py"
SINGLE_DATABASE = "Banc — catalogue unique (ancien modèle)"
LAYOUTS = ("par niveau", "unique")
TARGET_RATIO = 1.10


class _Instance(service.Instance):
    """The benchmark's Superset: the repository's configuration plus the single-catalog baseline."""

    def child_env(self) -> dict:
        return {**super().child_env(), "SUPERSET_CONFIG_PATH": str(SINGLE_CONFIG)}


def build_single_catalog(serving_dir: Path, target: Path) -> Path:
    """The previous layout: every view of the per-clearance catalogs in ONE file, scope = union."""
    target.parent.mkdir(parents=True, exist_ok=True)
    views, scope = [], set()
    for file in sorted(serving_dir.glob("serving_*.duckdb")):
        con = duckdb.connect(str(file), read_only=True)
        try:
            views += con.execute(
                "SELECT schema_name, sql FROM duckdb_views() WHERE NOT internal AND database_name = current_database()"
            ).fetchall()
            scope |= {r[0] for r in con.execute("SELECT path FROM governance.scope").fetchall()}
        finally:
            con.close()
    con = duckdb.connect(str(target))
    try:
        for schema in sorted({s for s, _sql in views} | {"governance"}):
            con.execute(f'CREATE SCHEMA "{schema}"')
        for _schema, sql in views:
            con.execute(sql)
        con.execute("CREATE TABLE governance.scope (path VARCHAR)")
        con.executemany("INSERT INTO governance.scope VALUES (?)", [(p,) for p in sorted(scope)])
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return target


def layout_datasets(client, single: Path, marts: set[str], public: set[str]) -> dict[str, dict[str, int]]:
    """``{layout: {mart: dataset id}}``: the same virtual dataset on its clearance's database and on the single one."""
    spec = database_yaml(single)
    single_id = client.post(
        "/api/v1/database/",
        {
            "database_name": SINGLE_DATABASE,
            "sqlalchemy_uri": spec["sqlalchemy_uri"],
            "extra": json.dumps(spec["extra"]),
            "allow_dml": False,
            "expose_in_sqllab": False,
        },
    )["id"]
    db_ids = {c: client.find("/api/v1/database/", "database_name", DATABASES[c])["id"] for c in ("public", "masked")}
    out: dict[str, dict[str, int]] = {layout: {} for layout in LAYOUTS}
    for mart in sorted(marts):
        schema = "public" if mart in public else "masked"
        for layout, database in zip(LAYOUTS, (db_ids[schema], single_id), strict=True):
            out[layout][mart] = client.post(
                "/api/v1/dataset/",
                {
                    "database": database,
                    "schema": schema,
                    "table_name": f"{mart}__banc_{'niveau' if layout == LAYOUTS[0] else 'unique'}",
                    "sql": f"SELECT * FROM {schema}.{mart}",
                },
            )["id"]
    return out


def compare_layouts(client, charts: list[tuple[str, dict]], datasets: dict, label: str, repeat: int) -> list[list]:
    """Cold dashboard loads on both layouts, interleaved (AB BA …); p95 of requests and of loads, ratio."""
    by_dash: dict[str, list[dict]] = {}
    for slug, chart in charts:
        by_dash.setdefault(slug, []).append(chart)
    requests = {layout: [] for layout in LAYOUTS}
    loads = {layout: [] for layout in LAYOUTS}

    def post(ctx: dict) -> float:
        return _timed(lambda: client.post("/api/v1/chart/data", ctx))

    def load(layout: str, dash_charts: list[dict]) -> tuple[list[float], float]:
        contexts = [chart_query_context(c, datasets[layout][c["dataset"]], force=True) for c in dash_charts]
        with ThreadPoolExecutor(max_workers=len(contexts)) as pool:
            t0 = time.perf_counter()
            times = list(pool.map(post, contexts))
            return times, time.perf_counter() - t0

    for layout in LAYOUTS:  # warm-up, not measured: first connections, lockdown, OS cache of the Parquet files
        for dash_charts in by_dash.values():
            load(layout, dash_charts)
    pairs = [dash for _r in range(repeat) for dash in sorted(by_dash.items())]
    for i, (_slug, dash_charts) in enumerate(pairs):
        for layout in LAYOUTS if i % 2 == 0 else LAYOUTS[::-1]:
            times, total = load(layout, dash_charts)
            requests[layout] += times
            loads[layout].append(total)
    rows = []
    for name, values in (("requête de graphique", requests), ("tableau de bord complet", loads)):
        p95 = {layout: _percentile(v, 0.95) for layout, v in values.items()}
        for layout in LAYOUTS:
            v = values[layout]
            rows.append(
                [label, f"{name} à froid, catalogue {layout}", len(v), statistics.median(v) * 1000, p95[layout] * 1000]
            )
        ratio = p95[LAYOUTS[0]] / p95[LAYOUTS[1]]
        verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
        rows.append(
            [
                label,
                f"{name} : p95 par niveau / unique = {ratio:.3f} (objectif ≤ {TARGET_RATIO:.2f}) {verdict}",
                "",
                "",
                "",
            ]
        )
    return rows


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(label: str, size: dict, repeat: int, concurrent: int, compare: int, port: int) -> list[list]:
    with tempfile.TemporaryDirectory(prefix="bench-superset-") as tmp:
        data = Path(tmp)
        counts = synthetic_marts.build(data / "lake", data / "serving", **size)
        single = build_single_catalog(data / "serving", data / "single" / "serving.duckdb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERVISEUR_")}
        env.update(
            HYPERVISEUR_DATA_DIR=str(data),
            HYPERVISEUR_SUPERSET_PORT=str(port),
            HYPERVISEUR_BENCH_SINGLE_CATALOG=str(single),
            # nobody signs on during the bench (API login of the break-glass admin); Superset
            # still refuses to start without a provider, so it gets an unreachable one
            HYPERVISEUR_SSO_ISSUER="http://127.0.0.1:9",
            HYPERVISEUR_SUPERSET_OIDC_CLIENT_SECRET="bench",
        )
        inst = _Instance.from_env(env)
        service.start(inst, wait=240)
        try:
            provision(inst, manifest=None)
            client = admin_client(inst)
            ids = {d["table_name"]: d["id"] for d in client.iterate("/api/v1/dataset/")}
            raw = duckdb.connect(str(inst.settings.serving_dir / "serving_masked.duckdb"), read_only=True)
            charts = [(d["slug"], c) for d in load_spec() for c in d["charts"]]
            cold, warm, raw_t, per_chart, rows = [], [], [], [], []
            for slug, chart in charts:
                ctx = chart_query_context(chart, ids[chart["dataset"]], force=True)
                sql = client.post("/api/v1/chart/data", {**ctx, "result_type": "query"})["result"][0]["query"]
                mine = []
                for _ in range(repeat):
                    mine.append(_timed(lambda ctx=ctx: client.post("/api/v1/chart/data", ctx)))
                    warm.append(_timed(lambda ctx=ctx: client.post("/api/v1/chart/data", {**ctx, "force": False})))
                    raw_t.append(_timed(lambda sql=sql: raw.execute(sql).fetchall()))
                cold += mine
                per_chart.append((statistics.median(mine), f"{slug} / {chart['name']}"))
            raw.close()
            for name, values in (
                ("graphique à froid (API, sans cache)", cold),
                ("graphique à chaud (API, cache de données)", warm),
                ("même SQL, DuckDB brut", raw_t),
            ):
                rows.append(
                    [label, name, len(values), statistics.median(values) * 1000, _percentile(values, 0.95) * 1000]
                )
            slowest = ", ".join(f"{name} {t * 1000:.0f} ms" for t, name in sorted(per_chart, reverse=True)[:3])
            rows.append([label, f"plus lents à froid (médiane) : {slowest}", "", "", ""])

            by_dash: dict[str, list] = {}
            for slug, chart in charts:
                by_dash.setdefault(slug, []).append(chart_query_context(chart, ids[chart["dataset"]]))
            slugs = sorted(by_dash)
            public = {m for m in counts if f"{m}__public" in ids}
            marts = {c["dataset"] for _s, c in charts}
            rows += compare_layouts(client, charts, layout_datasets(client, single, marts, public), label, compare)

            def load(i: int, force: bool) -> float:
                contexts = [{**c, "force": force} for c in by_dash[slugs[i % len(slugs)]]]
                with ThreadPoolExecutor(max_workers=len(contexts)) as pool:
                    return _timed(lambda: list(pool.map(lambda c: client.post("/api/v1/chart/data", c), contexts)))

            for force, name in ((True, "à froid"), (False, "à chaud")):
                with ThreadPoolExecutor(max_workers=concurrent) as pool:
                    loads = list(pool.map(lambda i, force=force: load(i, force), range(concurrent)))
                rows.append(
                    [
                        label,
                        f"{concurrent} chargements de tableau de bord simultanés, {name}",
                        len(loads),
                        statistics.median(loads) * 1000,
                        _percentile(loads, 0.95) * 1000,
                    ]
                )
            rows.append(
                [
                    label,
                    f"lignes des marts horaires : {counts['mart_air_quality_hourly'] + counts['mart_traffic_hourly']:,}".replace(
                        ",", " "
                    ),
                    "",
                    "",
                    "",
                ]
            )
        finally:
            service.stop(inst)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="petite taille (test de fumée)")
    parser.add_argument("--compare", type=int, default=None, help="répétitions de la comparaison des catalogues")
    parser.add_argument("--port", type=int, default=int(os.environ.get("HYPERVISEUR_BENCH_SUPERSET_PORT", "18090")))
    args = parser.parse_args(argv)
    rows = []
    for label, size in SIZES["quick" if args.quick else "default"]:
        rows += measure(
            label,
            size,
            repeat=2 if args.quick else 5,
            concurrent=4 if args.quick else 20,
            compare=args.compare or (3 if args.quick else 10),
            port=args.port,
        )
    report(
        "Superset : requêtes des tableaux de bord de départ",
        ["taille", "mesure", "n", "p50 (ms)", "p95 (ms)"],
        rows,
        notes=f"Objectifs : p95 < 300 ms à 10 M relevés ; catalogues par niveau ≤ +10 % de p95 face au catalogue unique "
        f"(même banc, chargements alternés). « À chaud » : réponse du cache de données de Superset "
        f"(FileSystemCache, HYPERVISEUR_SUPERSET_CACHE_TIMEOUT), servie au deuxième affichage. Mémoire de pointe du banc : {peak_rss_mb():.0f} Mo "
        f"(Superset tourne dans ses propres processus).",
    )


if __name__ == "__main__":
    main()
