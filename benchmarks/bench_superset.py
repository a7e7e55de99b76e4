"""Starter dashboards' chart queries: through Superset's API vs the same SQL in raw DuckDB.

For every chart of ``superset/dashboards.yaml`` the benchmark asks Superset for the SQL it
generates (``/api/v1/chart/data``, ``result_type=query``), then times it three ways:
cold (``force``: Superset runs the SQL, no cache), warm (the same call answered from
Superset's data cache, as for the second agent opening a dashboard) and the same SQL in a
raw read-only DuckDB connection (CPU-bound baseline). Sizes: the default territory
(14 days) and 10 M sensor readings in the hourly marts (air + traffic); then 20 concurrent
dashboard loads (all charts of a dashboard at once per virtual user), cold and warm.
``--quick``: two days, a few repetitions (smoke test).
"""

from __future__ import annotations

import argparse
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
from superset.bundle import chart_query_context, load_spec  # noqa: E402
from superset.provision import admin_client, provision  # noqa: E402

SIZES = {
    "quick": [("2 jours", dict(hours=48))],
    "default": [
        ("14 jours", dict(hours=14 * 24)),
        # 20 stations x 4 pollutants + 100 segments = 180 readings per hour
        ("10 M relevés", dict(hours=10_000_000 // 180, stations=20, segments=100)),
    ],
}


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(label: str, size: dict, repeat: int, concurrent: int, port: int) -> list[list]:
    with tempfile.TemporaryDirectory(prefix="bench-superset-") as tmp:
        data = Path(tmp)
        counts = synthetic_marts.build(data / "lake", data / "serving", **size)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERVISEUR_")}
        env.update(HYPERVISEUR_DATA_DIR=str(data), HYPERVISEUR_SUPERSET_PORT=str(port))
        inst = service.Instance.from_env(env)
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
    parser.add_argument("--port", type=int, default=int(os.environ.get("HYPERVISEUR_BENCH_SUPERSET_PORT", "18090")))
    args = parser.parse_args(argv)
    rows = []
    for label, size in SIZES["quick" if args.quick else "default"]:
        rows += measure(label, size, repeat=2 if args.quick else 5, concurrent=4 if args.quick else 20, port=args.port)
    report(
        "Superset : requêtes des tableaux de bord de départ",
        ["taille", "mesure", "n", "p50 (ms)", "p95 (ms)"],
        rows,
        notes=f"Objectif : p95 < 300 ms à 10 M relevés. « À chaud » : réponse du cache de données de Superset "
        f"(FileSystemCache, HYPERVISEUR_SUPERSET_CACHE_TIMEOUT), servie au deuxième affichage. Mémoire de pointe du banc : {peak_rss_mb():.0f} Mo "
        f"(Superset tourne dans ses propres processus).",
    )


if __name__ == "__main__":
    main()
