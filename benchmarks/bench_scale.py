"""A year of a mid-size city on one machine, end to end: times and peak memory per step.

One local lake filled by the demo simulator with ``--releves`` sensor readings (default
100 M) over ``--days`` days (default 365), then the platform's chain as the Dagster graph
runs it. Every step runs in its own process (this script with ``--etape``, or the dbt
launcher), timed with the peak resident memory of its whole process tree:

1. ingestion: the days landed through the real ingestion path (validation, quarantine,
   Parquet; no source files), each day in its raw partition;
2. ``dbt build`` through the launcher, ``--partitions complet`` (data tests included);
3. one new day landed, then the daily run (``--partitions auto``);
4. quality checks: the suite of every mart (``quality.runner.run_suite``);
5. governance: the column classification scan and the propagated levels (the graph's
   ``governance/classification`` asset);
6. serving: the per-clearance serving catalogs (the graph's ``governance/serving_catalog``);
7. dashboards: a Superset of the bench on its own port, provisioned on this lake, its cache
   warmed, then ``--simultanes`` agents opening a starter dashboard at the same instant
   (p50/p95 warm, and forced); skipped with ``--sans-superset`` or without ``.venv-superset``.

The verdict compares the largest peak with 24 GB (steps run one after the other; in
service Superset runs beside dbt, so the sum of the two peaks is given too).

Usage: ``python benchmarks/bench_scale.py [--quick] [--releves N | --scale S] [--days N]
[--dossier DIR] [--sans-superset]`` (``--quick``: ≈ 200 k readings over 3 days).
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
from pathlib import Path

import psutil
from bench_dbt import READINGS_PER_SCALE, measure
from bench_incremental import launcher_build
from common import ROOT, console, report

from lakehouse.audit import ensure_audit_key
from lakehouse.encryption import ensure_key_file
from lakehouse.platform import Lakehouse

READINGS_PER_DAY = READINGS_PER_SCALE / 14  # bench_dbt's figure is for 14 simulated days at scale 1
BUDGET_MB = 24_000  # 24 GB, in the MB (10^6 bytes) measure() reports
DAY_S = 86_400
SUPERSET_VENV = ROOT / ".venv-superset"


def _lakehouse() -> Lakehouse:
    return Lakehouse.from_env()


def step_ingestion(days: int, scale: float, part: str) -> dict:
    """Land the history (``part="historique"``: every day but the last) or the last day (``"jour"``)."""
    from ingestion.demo.simulator import build_model, simulate

    lh = _lakehouse()
    model = build_model(days=days + 1, scale=scale)
    new_day = model.end - DAY_S
    period = (model.start, new_day) if part == "historique" else (new_day, model.end)
    result = simulate(lh, days=days + 1, scale=scale, files=False, periods=[period])
    quarantined = sum(c.rows_quarantined for c in result.report.datasets.values())
    return {"readings": result.sensor_readings, "quarantined": quarantined}


def step_quality() -> dict:
    from quality.runner import run_suite
    from quality.suites import MARTS

    lh = _lakehouse()
    results = [run_suite(lh, mart) for mart in MARTS]
    return {
        "marts": len(results),
        "rows": sum(r.rows or 0 for r in results),
        "blocking": sorted(r.dataset for r in results if not r.blocking_passed),
    }


def step_governance() -> dict:
    from governance.classify import propagate, scan_all
    from governance.scan import ScanConfig

    lh = _lakehouse()
    proposals = scan_all(lh, ScanConfig(sample_size=200), actor="banc")
    levels = propagate(lh)
    return {"scanned": len([p for p in proposals.values() if not p.get("skipped")]), "levels": len(levels)}


def step_serving() -> dict:
    from governance.serving import build_serving_catalog

    paths = build_serving_catalog(_lakehouse())
    return {"catalogs": len(paths)}


def step_dashboards(manifest: Path, port: int, users: int, rounds: int) -> dict:
    """A Superset of the bench on this lake: provisioned, warmed, then ``users`` loads at once, ``rounds`` times."""
    from bench_superset import Browsers, _percentile, dashboard_loads

    from superset import service
    from superset.provision import admin_client, provision
    from superset.warm import dashboard_requests, warm

    env = dict(os.environ) | {
        "HYPERVISEUR_SUPERSET_PORT": str(port),
        # nobody signs on during the bench (API login of the break-glass admin); Superset still
        # refuses to start without a provider, so it gets an unreachable one (as bench_superset)
        "HYPERVISEUR_SSO_ISSUER": "http://127.0.0.1:9",
        "HYPERVISEUR_SUPERSET_OIDC_CLIENT_SECRET": "banc",
    }
    inst = service.Instance.from_env(env)
    t0 = time.perf_counter()
    service.start(inst, wait=240)
    try:
        start_s = time.perf_counter() - t0
        provision(inst, manifest=manifest)
        client = admin_client(inst)
        browsers = Browsers(client)
        dashboards = [list(b.values()) for _slug, b in sorted(dashboard_requests(client).items())]
        if not dashboards:
            raise SystemExit("aucun tableau de bord de départ provisionné sur ce lac")
        warmed = warm(client)
        forced = dashboard_loads(browsers, dashboards, users, force=True)
        warm(client)
        first = dashboard_loads(browsers, dashboards, users, force=False)  # agents who never opened them
        agents = uuid.uuid4().hex
        loads = [t for _ in range(rounds) for t in dashboard_loads(browsers, dashboards, users, False, agents)]
    finally:
        service.stop(inst)
    return {
        "start_s": start_s,
        "dashboards": len(dashboards),
        "charts": warmed.charts,
        "warm_s": warmed.seconds,
        "first_p50": statistics.median(first),
        "first_p95": _percentile(first, 0.95),
        "p50": statistics.median(loads),
        "p95": _percentile(loads, 0.95),
        "forced_p50": statistics.median(forced),
        "forced_p95": _percentile(forced, 0.95),
        "loads": len(loads),
    }


def child(script_args: list[str], work: Path, env: dict) -> tuple[float, float, dict]:
    """Run one ``--etape`` of this script in its own process: (wall s, peak MB, its result)."""
    out = work / f"etape-{script_args[0]}.json"
    cmd = [sys.executable, __file__, "--etape", *script_args, "--sortie", str(out)]
    seconds, peak = measure(cmd, env, work)
    return seconds, peak, json.loads(out.read_text())


def _n(x: float) -> str:
    """A count the French way: (non-breaking) spaces between thousands."""
    return f"{x:,.0f}".replace(",", "\u00a0")


def rate(count: float, seconds: float, unit: str) -> str:
    return f"{_n(count / seconds)} {unit}/s"


def run(args: argparse.Namespace, work: Path) -> None:
    days = args.days or (3 if args.quick else 365)
    target = args.releves or (200_000 if args.quick else 100_000_000)
    scale = args.scale or round(target / (days * READINGS_PER_DAY), 3)
    settings_env = {
        "HYPERVISEUR_DATA_DIR": str(work / "data"),
        "HYPERVISEUR_DBT_MANIFEST": str(work / "target" / "manifest.json"),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERVISEUR_")} | settings_env
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parent), str(ROOT), env.get("PYTHONPATH")]))
    lh = Lakehouse.from_env(settings_env)
    ensure_key_file(lh.settings)  # the simulator writes citizen reports' personal columns encrypted
    ensure_audit_key(lh.settings)  # the governance scan records its run in the audit log
    rows, peaks = [], {}

    def row(name: str, seconds: float, peak: float, throughput: str) -> None:
        peaks[name] = peak
        rows.append([name, f"{seconds:.1f}", round(peak), throughput])
        console.print(f"{name} : {seconds:.1f} s, {_n(peak)} Mo, {throughput}")  # progress of a long run

    s, mb, hist = child(["ingestion", str(days), str(scale), "historique"], work, env)
    row(f"1. ingestion ({days} jours)", s, mb, rate(hist["readings"], s, "relevés"))
    s, mb = measure(launcher_build("complet", work), env, work)
    row("2. dbt build complet (tests compris)", s, mb, rate(hist["readings"], s, "relevés"))
    s, mb, day = child(["ingestion", str(days), str(scale), "jour"], work, env)
    row("3a. ingestion d'un jour nouveau", s, mb, rate(day["readings"], s, "relevés"))
    s, mb = measure(launcher_build("auto", work), env, work)
    row("3b. exécution quotidienne dbt (auto)", s, mb, rate(day["readings"], s, "relevés"))
    s, mb, quality = child(["qualite"], work, env)
    row("4. contrôles qualité", s, mb, f"{quality['marts']} marts, {rate(quality['rows'], s, 'lignes')}")
    s, mb, gov = child(["gouvernance"], work, env)
    row("5. analyse de gouvernance", s, mb, f"{gov['scanned']} jeux analysés, {gov['levels']} niveaux")
    s, mb, serving = child(["service"], work, env)
    row("6. catalogues de service", s, mb, f"{serving['catalogs']} catalogues")

    users = args.simultanes or (4 if args.quick else 20)
    chain_peak, dash_peak, dash, dash_error = max(peaks.values()), 0.0, None, ""
    if args.sans_superset:
        dash_note = "tableaux de bord : non mesurés (--sans-superset)."
    elif not (SUPERSET_VENV / "bin" / "gunicorn").exists():
        dash_note = f"tableaux de bord : non mesurés ({SUPERSET_VENV} absent : « make superset-env »)."
    else:
        rounds = 1 if args.quick else 3
        try:
            s, mb, dash = child(["tableaux", str(args.port), str(users), str(rounds)], work, env)
        except SystemExit as exc:  # the chain's figures are kept; the failure is reported with them
            dash_error = str(exc)[-1500:]
            dash_note = f"tableaux de bord : ÉCHEC de l'étape — {dash_error}"
    if dash is not None:
        dash_peak = mb
        row(
            f"7. tableaux de bord ({users} simultanés, à chaud, déjà ouverts par chacun)",
            s,
            mb,
            f"p50 {dash['p50']:.2f} s / p95 {dash['p95']:.2f} s",
        )
        rows.append(
            [
                "   même charge, 1re ouverture par chacun",
                "",
                "",
                f"p50 {dash['first_p50']:.2f} s / p95 {dash['first_p95']:.2f} s",
            ]
        )
        rows.append(
            [
                "   même charge, forcée (sans cache)",
                "",
                "",
                f"p50 {dash['forced_p50']:.2f} s / p95 {dash['forced_p95']:.2f} s",
            ]
        )
        dash_note = (
            f"tableaux de bord : Superset démarré en {dash['start_s']:.0f} s, {dash['dashboards']} tableaux de bord, "
            f"préchauffage de {dash['charts']} graphiques en {dash['warm_s']:.1f} s, {dash['loads']} chargements mesurés "
            f"(durée et mémoire de l'étape : démarrage, provisionnement et Superset compris)."
        )

    biggest = max(peaks, key=peaks.get)
    fits = peaks[biggest] <= BUDGET_MB
    beside = chain_peak + dash_peak
    ram = psutil.virtual_memory().total / 1e9
    limits = lh.settings.limits
    report(
        "bench_scale",
        ["étape", "durée (s)", "mémoire max (Mo)", "débit"],
        rows,
        notes=f"Machine : {os.cpu_count()} cœurs, {ram:.1f} Go de RAM. Lac local, {_n(hist['readings'])} relevés "
        f"capteurs sur {days} jours (échelle {scale}) + {_n(day['readings'])} le jour nouveau "
        f"({_n(hist['quarantined'] + day['quarantined'])} lignes en quarantaine) ; DuckDB de dbt : "
        f"{limits.duckdb_memory_limit}, {limits.duckdb_threads} fils.\n"
        f"Mémoire : pic de l'arbre de processus de chaque étape, étapes successives ; la plus forte : {biggest} "
        f"({_n(peaks[biggest])} Mo)"
        + (f" ; étape de la chaîne la plus lourde et Superset côte à côte : {_n(beside)} Mo" if dash_peak else "")
        + f".\n{dash_note}\nContrôles bloquants en échec : {', '.join(quality['blocking']) or 'aucun'}.\n"
        f"Dans 24 Go : {'oui' if fits else 'non'}.",
    )
    if dash_error:
        raise SystemExit("échec : étape des tableaux de bord (voir ci-dessus)")
    if not fits:
        raise SystemExit(f"objectif non atteint : pic de {_n(peaks[biggest])} Mo au-delà de 24 Go")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="≈ 200 k relevés sur 3 jours (test de fumée)")
    parser.add_argument("--releves", type=int, default=None, help="relevés capteurs visés (défaut 100 000 000)")
    parser.add_argument("--scale", type=float, default=None, help="échelle du simulateur (remplace --releves)")
    parser.add_argument("--days", type=int, default=None, help="jours d'historique (défaut 365)")
    parser.add_argument(
        "--simultanes", type=int, default=None, help="chargements simultanés (défaut 20 ; 4 en --quick)"
    )
    parser.add_argument("--sans-superset", action="store_true", help="sans l'étape des tableaux de bord")
    parser.add_argument(
        "--dossier", type=Path, default=None, help="dossier de travail (conservé) au lieu d'un temporaire"
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("HYPERVISEUR_BENCH_SUPERSET_PORT", "18091")))
    parser.add_argument("--etape", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--sortie", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.etape:
        name, *params = args.etape
        steps = {
            "ingestion": lambda d, s, p: step_ingestion(int(d), float(s), p),
            "qualite": step_quality,
            "gouvernance": step_governance,
            "service": step_serving,
            "tableaux": lambda port, users, rounds: step_dashboards(
                Path(os.environ["HYPERVISEUR_DBT_MANIFEST"]), int(port), int(users), int(rounds)
            ),
        }
        args.sortie.write_text(json.dumps(steps[name](*params)))
        return
    if args.dossier:
        args.dossier.mkdir(parents=True, exist_ok=True)
        run(args, args.dossier.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
            run(args, Path(tmp))


if __name__ == "__main__":
    main()
