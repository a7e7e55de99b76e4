"""Starter dashboards' chart queries: through Superset's API vs the same SQL in raw DuckDB.

For every chart of ``superset/dashboards.yaml`` the benchmark asks Superset for the SQL it
generates (``/api/v1/chart/data``, ``result_type=query``), then times it three ways:
cold (``force``: Superset runs the SQL, no cache), warm (the same call answered from
Superset's data cache, as for the second agent opening a dashboard) and the same SQL in a
raw read-only DuckDB connection (CPU-bound baseline). Sizes: the default territory
(14 days) and 10 M sensor readings in the hourly marts (air + traffic); ``--releves N``: one
size of N readings.

Many agents at once (issue 20): one dashboard load alone (all its charts at once, as a
browser), then 20 and 50 (``--simultanes``) loads at the same instant, four ways: forced
(every chart recomputed), on an emptied cache (first display without warm-up) and after the
warm-up of ``superset/warm.py`` (what agents get after a mart refresh), by agents opening
these dashboards for the first time (every request through Superset's checks) and by the
same agents again (their answers sent back before the checks, ``superset/answer_cache.py``);
p50/p95 and the goals (p95 < 1.5 s warm, < 3 s cold) with PASS/FAIL; and, during the first
openings, the CPU per chart request of Superset's workers and of this client, which bound
those loads on a machine of few cores. ``--workers``/``--threads``: gunicorn's model.

Layout check (issue 13): per-clearance catalogs (one DuckDB file and Superset database per
clearance) against the previous single catalog (every schema in one file, registered as
one more Superset database, locked down by the same code: ``superset_single_catalog_config.py``),
same lake, same Superset, same run. Each dashboard's charts run cold (``force``), all at
once as a browser does, on one layout then the other, the order alternating at every
repetition so machine noise hits both alike; both sides read identical virtual datasets
(``SELECT * FROM <schema>.<mart>``), so only the database differs. Target: p95 ratio
≤ 1.10 (PASS/FAIL printed).
``--quick``: two days, a few repetitions (smoke test); ``--dossier``: keep the generated marts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import duckdb
import psutil
import urllib3
from requests.adapters import HTTPAdapter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "superset"))

import synthetic_marts  # noqa: E402

from benchmarks.common import peak_rss_mb, report  # noqa: E402
from superset import service  # noqa: E402
from superset.bundle import DATABASES, chart_query_context, database_yaml, load_spec  # noqa: E402
from superset.client import SentAgainOnClosedConnection  # noqa: E402
from superset.provision import admin_client, provision  # noqa: E402
from superset.warm import dashboard_requests, warm  # noqa: E402

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
# issue 20: simultaneous dashboard loads, p95 goals (seconds)
WARM_GOAL_S = 1.5
COLD_GOAL_S = 3.0
# what Chromium and Firefox accept: Superset compresses the chart answers as it would for an
# agent's browser (the bench's HTTP client cannot decode zstd or brotli: it reads them as they come)
BROWSER_ENCODINGS = "gzip, deflate, br, zstd"


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


class Browsers:
    """The agents' browsers: chart data calls as a dashboard makes them, over kept-alive
    connections, each answer read whole as it comes (not decoded).

    Every call is the break-glass administrator's; ``agent`` (a URL parameter Superset ignores)
    stands for the person: answers are sent back before Superset's checks only for the very
    request a person made before (``superset/answer_cache.py``), and the URL is part of it.

    The bench runs on the cores Superset answers with, whereas the agents' browsers run on their
    own machines: the bodies are encoded once and sent through urllib3 alone (what ``requests``
    adds per call, its environment and proxy look-ups, cost 2 ms of CPU per call here, taken
    from Superset). The CPU this client still uses is printed with the first openings."""

    def __init__(self, client, connections: int = 64 * 8):
        self.url = client.base_url + "/api/v1/chart/data?"
        self.headers = {
            "Authorization": client.session.headers["Authorization"],
            "Content-Type": "application/json",
            "Accept-Encoding": BROWSER_ENCODINGS,
        }
        # a kept-alive connection gunicorn closed meanwhile: the call is sent again, as browsers
        # and the platform's client do (never after a read timeout)
        self.pool = urllib3.PoolManager(
            maxsize=connections, retries=SentAgainOnClosedConnection(), timeout=client.timeout
        )

    @staticmethod
    def bodies(dashboard: list[dict], force: bool) -> list[bytes]:
        return [json.dumps({**b, "force": force}).encode() for b in dashboard]

    def post(self, body: bytes, agent: str) -> None:
        """One chart data call. An error answer comes uncompressed (Flask-Compress leaves
        answers other than 2xx alone)."""
        url = self.url + urlencode({"agent": agent})
        resp = self.pool.request("POST", url, body=body, headers=self.headers, decode_content=False)
        if resp.status != 200:
            raise RuntimeError(f"/api/v1/chart/data : {resp.status} {resp.data[:300].decode(errors='replace')}")


def dashboard_loads(
    browsers: Browsers, dashboards: list[list[dict]], users: int, force: bool, agents: str | None = None
) -> list[float]:
    """``users`` agents open a starter dashboard at the same instant (all its charts at once, as a
    browser). Agents ``agents``-0, -1, …: the same tag again is the same agents opening their
    dashboards once more; none (default) is agents who never opened one."""
    agents = agents or uuid.uuid4().hex
    bodies = [Browsers.bodies(d, force) for d in dashboards]

    def load(i: int) -> float:
        sent = bodies[i % len(bodies)]
        with ThreadPoolExecutor(max_workers=len(sent)) as pool:
            return _timed(lambda: list(pool.map(lambda b: browsers.post(b, f"{agents}-{i}"), sent)))

    with ThreadPoolExecutor(max_workers=users) as pool:
        return list(pool.map(load, range(users)))


def clear_cache(inst: service.Instance) -> None:
    """Empty Superset's results cache (as after a restart on a new cache folder)."""
    for file in (inst.home / "cache" / "data").glob("*"):
        file.unlink(missing_ok=True)


def cpu_counters(inst: service.Instance) -> tuple[float, float]:
    """CPU seconds used so far by Superset's gunicorn (master and workers) and by this bench
    client: per chart request, what bounds simultaneous loads on a machine of few cores."""
    master = psutil.Process(service.running_pid(inst))
    server = sum(sum(p.cpu_times()[:2]) for p in [master, *master.children(recursive=True)])
    return server, time.process_time()


def _row(label: str, name: str, values: list[float]) -> list:
    return [label, name, len(values), statistics.median(values) * 1000, _percentile(values, 0.95) * 1000]


def concurrency(client, inst: service.Instance, label: str, users: list[int], repeat: int) -> list[list]:
    """Single load, then ``users`` simultaneous loads: forced, on an emptied cache, after the warm-up."""
    dashboards = [list(b.values()) for _slug, b in sorted(dashboard_requests(client).items())]
    browsers = Browsers(client)
    warm(client)
    rows = []
    alone_forced, alone_warm = [], []
    for _ in range(repeat):
        for i in range(len(dashboards)):
            alone_forced += dashboard_loads(browsers, dashboards[i:], 1, force=True)
            alone_warm += dashboard_loads(browsers, dashboards[i:], 1, force=False)
    if repeat:  # --seul 0: the simultaneous loads only
        rows.append(_row(label, "1 chargement seul, à froid (forcé)", alone_forced))
        rows.append(_row(label, "1 chargement seul, à chaud", alone_warm))
    for n in users:
        forced = dashboard_loads(browsers, dashboards, n, force=True)
        clear_cache(inst)
        emptied = dashboard_loads(browsers, dashboards, n, force=False)
        report_warm = warm(client)
        agents = uuid.uuid4().hex
        count = sum(len(dashboards[i % len(dashboards)]) for i in range(n))
        before = cpu_counters(inst)
        first = dashboard_loads(browsers, dashboards, n, force=False, agents=agents)
        server_ms, client_ms = ((b - a) * 1000 / count for a, b in zip(before, cpu_counters(inst)))
        again = dashboard_loads(browsers, dashboards, n, force=False, agents=agents)
        rows.append(_row(label, f"{n} chargements simultanés, à froid (forcé : aucun cache)", forced))
        rows.append(_row(label, f"{n} chargements simultanés, à froid (cache vidé)", emptied))
        rows.append(_row(label, f"{n} chargements simultanés, à chaud, 1re ouverture par chacun", first))
        rows.append(_row(label, f"{n} chargements simultanés, à chaud, déjà ouverts par chacun", again))
        for name, values, goal in (
            ("à froid", emptied, COLD_GOAL_S),
            ("à chaud, 1re ouverture", first, WARM_GOAL_S),
            ("à chaud, déjà ouverts", again, WARM_GOAL_S),
        ):
            p95 = _percentile(values, 0.95)
            verdict = "PASS" if p95 < goal else "FAIL"
            rows.append(
                [label, f"{n} simultanés {name} : p95 / objectif {goal:.1f} s = {p95 / goal:.2f} {verdict}", "", "", ""]
            )
        rows.append(
            [
                label,
                f"{n} simultanés à chaud, 1re ouverture : {server_ms:.1f} ms de processeur serveur et "
                f"{client_ms:.1f} ms côté client du banc par requête de graphique ({count} requêtes)",
                "",
                "",
                "",
            ]
        )
        rows.append(
            [
                label,
                f"préchauffage : {report_warm.charts} graphiques + {report_warm.replayed} requêtes rejouées "
                f"en {report_warm.seconds * 1000:.0f} ms",
                "",
                "",
                "",
            ]
        )
    return rows


def per_chart(client, label: str, serving_dir: Path, charts: list[tuple[str, dict]], ids: dict, repeat: int) -> list:
    """Each chart alone: cold (forced), warm (cache) and the same SQL in raw DuckDB."""
    raw = duckdb.connect(str(serving_dir / "serving_masked.duckdb"), read_only=True)
    cold, warm_t, raw_t, slowest, rows = [], [], [], [], []
    for slug, chart in charts:
        ctx = chart_query_context(chart, ids[chart["dataset"]], force=True)
        sql = client.post("/api/v1/chart/data", {**ctx, "result_type": "query"})["result"][0]["query"]
        mine = []
        for _ in range(repeat):
            mine.append(_timed(lambda ctx=ctx: client.post("/api/v1/chart/data", ctx)))
            warm_t.append(_timed(lambda ctx=ctx: client.post("/api/v1/chart/data", {**ctx, "force": False})))
            raw_t.append(_timed(lambda sql=sql: raw.execute(sql).fetchall()))
        cold += mine
        slowest.append((statistics.median(mine), f"{slug} / {chart['name']}"))
    raw.close()
    for name, values in (
        ("graphique à froid (API, sans cache)", cold),
        ("graphique à chaud (API, cache de données)", warm_t),
        ("même SQL, DuckDB brut", raw_t),
    ):
        rows.append(_row(label, name, values))
    top = ", ".join(f"{name} {t * 1000:.0f} ms" for t, name in sorted(slowest, reverse=True)[:3])
    rows.append([label, f"plus lents à froid (médiane) : {top}", "", "", ""])
    return rows


def measure(label: str, size: dict, args: argparse.Namespace, data: Path) -> list[list]:
    """Build (or reuse, ``--dossier``) the marts, start Superset on them, run the measures asked."""
    counts_file = data / "counts.json"
    if counts_file.exists():
        counts = json.loads(counts_file.read_text())
    else:
        counts = synthetic_marts.build(data / "lake", data / "serving", **size)
        counts_file.write_text(json.dumps(counts))
    single = data / "single" / "serving.duckdb"
    if not single.exists():
        build_single_catalog(data / "serving", single)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERVISEUR_")}
    env.update(
        HYPERVISEUR_DATA_DIR=str(data),
        HYPERVISEUR_SUPERSET_PORT=str(args.port),
        HYPERVISEUR_BENCH_SINGLE_CATALOG=str(single),
        # nobody signs on during the bench (API login of the break-glass admin); Superset
        # still refuses to start without a provider, so it gets an unreachable one
        HYPERVISEUR_SSO_ISSUER="http://127.0.0.1:9",
        HYPERVISEUR_SUPERSET_OIDC_CLIENT_SECRET="bench",
    )
    for name in ("workers", "threads"):
        if getattr(args, name):
            env[f"HYPERVISEUR_SUPERSET_{name.upper()}"] = str(getattr(args, name))
    inst = _Instance.from_env(env)
    service.start(inst, wait=240)
    rows = []
    try:
        clear_cache(inst)
        provision(inst, manifest=None)
        client = admin_client(inst)
        client.session.mount("http://", HTTPAdapter(pool_maxsize=64 * 8))  # one connection per chart in flight
        ids = {d["table_name"]: d["id"] for d in client.iterate("/api/v1/dataset/")}
        charts = [(d["slug"], c) for d in load_spec() for c in d["charts"]]
        setup = f"{inst.env.get('HYPERVISEUR_SUPERSET_WORKERS', service.WORKERS)} processus × {inst.env.get('HYPERVISEUR_SUPERSET_THREADS', service.THREADS)} fils"
        rows.append([label, f"Superset : {setup}", "", "", ""])
        if args.repeat:
            rows += per_chart(client, label, inst.settings.serving_dir, charts, ids, args.repeat)
        if args.compare:
            public = {m for m in counts if f"{m}__public" in ids}
            marts = {c["dataset"] for _s, c in charts}
            rows += compare_layouts(client, charts, layout_datasets(client, single, marts, public), label, args.compare)
        rows += concurrency(client, inst, label, args.users, args.alone)
        hourly = counts["mart_air_quality_hourly"] + counts["mart_traffic_hourly"]
        rows.append([label, f"lignes des marts horaires : {hourly:,}".replace(",", " "), "", "", ""])
    finally:
        service.stop(inst)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="petite taille (test de fumée)")
    parser.add_argument("--releves", type=int, default=None, help="une seule taille : ce nombre de relevés horaires")
    parser.add_argument(
        "--simultanes",
        default=None,
        help="chargements simultanés, séparés par des virgules (défaut 20,50 ; 4 en --quick)",
    )
    parser.add_argument("--repetitions", type=int, default=None, help="mesures par graphique seul (0 : sans)")
    parser.add_argument(
        "--compare", type=int, default=None, help="répétitions de la comparaison des catalogues (0 : sans)"
    )
    parser.add_argument("--seul", type=int, default=None, help="passages du chargement seul de chaque tableau de bord")
    parser.add_argument("--workers", type=int, default=None, help="processus gunicorn (défaut : celui du service)")
    parser.add_argument("--threads", type=int, default=None, help="fils par processus (défaut : celui du service)")
    parser.add_argument("--dossier", type=Path, default=None, help="garder les marts générés ici et les réutiliser")
    parser.add_argument("--port", type=int, default=int(os.environ.get("HYPERVISEUR_BENCH_SUPERSET_PORT", "18090")))
    args = parser.parse_args(argv)
    quick = args.quick
    args.users = [int(n) for n in (args.simultanes or ("4" if quick else "20,50")).split(",")]
    args.repeat = args.repetitions if args.repetitions is not None else (2 if quick else 5)
    args.compare = args.compare if args.compare is not None else (3 if quick else 10)
    args.alone = args.seul if args.seul is not None else (1 if quick else 3)
    if args.releves:  # 20 stations x 4 pollutants + 100 segments = 180 readings per hour
        sizes = [(f"{args.releves / 1e6:g} M relevés", dict(hours=args.releves // 180, stations=20, segments=100))]
    else:
        sizes = SIZES["quick" if quick else "default"]
    rows = []
    for label, size in sizes:
        if args.dossier:
            folder = args.dossier / label.replace(" ", "_")
            folder.mkdir(parents=True, exist_ok=True)
            rows += measure(label, size, args, folder)
        else:
            with tempfile.TemporaryDirectory(prefix="bench-superset-") as tmp:
                rows += measure(label, size, args, Path(tmp))
    report(
        "Superset : requêtes des tableaux de bord de départ",
        ["taille", "mesure", "n", "p50 (ms)", "p95 (ms)"],
        rows,
        notes=f"Objectifs : p95 < 300 ms par graphique à 10 M relevés ; catalogues par niveau ≤ +10 % de p95 face au "
        f"catalogue unique (même banc, chargements alternés) ; 20 et 50 chargements simultanés de tableau de bord : "
        f"p95 < {WARM_GOAL_S:.1f} s à chaud, < {COLD_GOAL_S:.0f} s à froid. Un chargement = tous les graphiques d'un "
        f"tableau de bord demandés à la fois (tableaux de bord tour à tour). « Forcé » : chaque graphique recalculé "
        f"(« Forcer l'actualisation ») ; « cache vidé » : premier affichage sans préchauffage ; « à chaud » : après "
        f"le préchauffage (superset/warm.py, cache de résultats partagé par les processus, superset/results_cache.py), "
        f"par des agents qui ouvrent ces tableaux de bord pour la 1re fois (contrôles de Superset à chaque requête), "
        f"puis par les mêmes agents à nouveau (réponses renvoyées avant les contrôles, superset/answer_cache.py). "
        f"Le banc (client HTTP) partage la machine avec Superset. Mémoire de pointe du banc : {peak_rss_mb():.0f} Mo.",
    )


if __name__ == "__main__":
    main()
