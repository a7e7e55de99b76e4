"""The daily run's cost follows the new data, not the age of the lake.

Two local lakes of the demo territory at the default demo scale, one holding 7 days of
history and one holding 365, each landed day by day (every simulated day in its own raw
partition, as a lake filled by daily ingestion) and built once in full. Then one new day
arrives in both, and the run that follows — ``dbt build`` through the platform's launcher
with ``--partitions auto``, exactly as the Dagster job starts it, data tests included — is
timed with its peak memory (the whole process tree). The ratio of the two runs is the
measure (goal ≤ 1.3: independent of history); the full refresh of the 365-day lake (what
every run cost before the day partitions) is given for comparison.

Usage: ``python benchmarks/bench_incremental.py [--quick] [--scale S] [--days N]``
(``--quick``: 3 vs 30 days at scale 0.2).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench_dbt import measure
from common import report

from lakehouse.encryption import ensure_key_file
from lakehouse.platform import Lakehouse
from orchestration.dbt_launcher import build_command

GOAL = 1.3


def launcher_build(mode: str, work: Path) -> list[str]:
    return build_command(mode, work / "target")


def history_lake(root: Path, days: int, scale: float) -> dict:
    """A lake holding ``days`` days, built in full; the day after them landed but not built."""
    from ingestion.demo.simulator import build_model, simulate

    settings_env = {"HYPERVISEUR_DATA_DIR": str(root / "data")}
    lh = Lakehouse.from_env(settings_env)
    ensure_key_file(lh.settings)
    model = build_model(days=days + 1, scale=scale)
    new_day = model.end - 86400
    t0 = time.perf_counter()
    history = simulate(lh, days=days + 1, scale=scale, files=False, periods=[(model.start, new_day)])
    sim_s = time.perf_counter() - t0
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERVISEUR_")} | settings_env
    full_s, full_mb = measure(launcher_build("auto", root), env, root)  # first run: every partition
    new = simulate(lh, days=days + 1, scale=scale, files=False, periods=[(new_day, model.end)])
    return {
        "env": env,
        "root": root,
        "readings": history.sensor_readings,
        "new_readings": new.sensor_readings,
        "sim_s": sim_s,
        "full_s": full_s,
        "full_mb": full_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--scale", type=float, default=None)
    parser.add_argument("--days", type=int, default=None, help="history of the long lake (default 365)")
    args = parser.parse_args()
    scale = args.scale or (0.2 if args.quick else 1.0)
    short, long = (3, 30) if args.quick else (7, 365)
    long = args.days or long

    with tempfile.TemporaryDirectory(prefix="bench-incremental-") as tmp:
        lakes = {n: history_lake(Path(tmp) / f"h{n}", n, scale) for n in (short, long)}
        for lake in lakes.values():  # the run after the new day, in both lakes
            lake["day_s"], lake["day_mb"] = measure(launcher_build("auto", lake["root"]), lake["env"], lake["root"])
        refresh_s, refresh_mb = measure(launcher_build("complet", lakes[long]["root"]), lakes[long]["env"], tmp)

    ratio = lakes[long]["day_s"] / lakes[short]["day_s"]
    rows = []
    for n, lake in lakes.items():
        rows.append(
            [f"{n} jours : construction initiale", lake["readings"], lake["full_s"], round(lake["full_mb"]), ""]
        )
        rows.append(
            [
                f"{n} jours : exécution après un jour nouveau",
                lake["new_readings"],
                lake["day_s"],
                round(lake["day_mb"]),
                "",
            ]
        )
    rows.append([f"{long} jours : reconstruction complète", lakes[long]["readings"], refresh_s, round(refresh_mb), ""])
    rows.append([f"ratio {long} j / {short} j (exécution quotidienne)", "", "", "", ratio])
    report(
        "bench_incremental",
        ["exécution dbt (lanceur, tests compris)", "lectures capteurs", "durée (s)", "mémoire max (Mo)", "ratio"],
        rows,
        notes=f"échelle {scale} ; objectif : ratio ≤ {GOAL} — {'atteint' if ratio <= GOAL else 'NON atteint'}. "
        f"La reconstruction complète du lac de {long} jours coûte "
        f"{refresh_s / lakes[long]['day_s']:.1f} × l'exécution quotidienne.",
    )
    if ratio > GOAL:
        raise SystemExit(f"objectif non atteint : ratio {ratio:.2f} > {GOAL}")


if __name__ == "__main__":
    main()
