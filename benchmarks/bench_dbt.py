"""`dbt build` of the marts vs the same SQL run directly by DuckDB, same data, same run.

The demo simulator fills a local lake with ≈ 10 M sensor readings (14 days of Val-de-Lys at
a high sampling rate; ``--quick``: ≈ 50 k). Then, each in its own process with its peak
memory (whole process tree) sampled:

* dbt: ``dbt build --exclude resource_type:test`` (seeds, staging views, marts as Parquet);
* DuckDB: the models' SQL, compiled once by dbt beforehand, executed in dependency order by
  one DuckDB connection (views for staging, ``COPY … TO`` Parquet for marts) — what a
  hand-written SQL script doing the same transformations costs, without dbt around it.

Usage: ``python benchmarks/bench_dbt.py [--quick] [--scale S]``. Goal: ratio ≤ 1.5.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from common import report

from lakehouse.lake import Lake
from lakehouse.platform import Lakehouse
from orchestration.resources import DBT_PROJECT_DIR, dbt_env, dbt_executable, prepare_curated_dirs

READINGS_PER_SCALE = 166_000  # sensor readings of 14 simulated days at scale 1


def measure(cmd: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB of the process and its children)."""
    peak = 0.0
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    root = psutil.Process(proc.pid)
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True)
    reader.start()
    while proc.poll() is None:
        try:
            rss = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
            peak = max(peak, rss / 1e6)
        except psutil.Error:
            pass
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    reader.join()
    if proc.returncode != 0:
        raise SystemExit(f"échec de {' '.join(cmd[:3])} :\n{''.join(output)[-3000:]}")
    return elapsed, peak


def dbt_cmd(verb: str, target: Path, *extra: str) -> list[str]:
    return [
        dbt_executable(),
        verb,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(target),
        *extra,
    ]


def plan(manifest_path: Path) -> list[dict]:
    """Seeds and models in dependency order, with their compiled SQL and materialisation."""
    manifest = json.loads(manifest_path.read_text())
    nodes = {k: v for k, v in manifest["nodes"].items() if v["resource_type"] in ("model", "seed")}
    order, done = [], set()

    def visit(uid):
        if uid in done or uid not in nodes:
            return
        for dep in nodes[uid]["depends_on"].get("nodes", []):
            visit(dep)
        done.add(uid)
        order.append(uid)

    for uid in sorted(nodes):
        visit(uid)
    steps = []
    for uid in order:
        n = nodes[uid]
        steps.append(
            {
                "kind": n["resource_type"],
                "schema": n["schema"],
                "name": n["name"],
                "materialized": n["config"].get("materialized"),
                "sql": n.get("compiled_code"),
                "seed_path": str(Path(n["root_path"]) / n["original_file_path"])
                if n["resource_type"] == "seed"
                else None,
                "column_types": n["config"].get("column_types") or {},
            }
        )
    return steps


def run_baseline(plan_file: Path, database: Path, lake_url: str) -> None:
    """Executed in a child process: the compiled SQL through one plain DuckDB connection."""
    import duckdb

    con = duckdb.connect(str(database), config={"autoinstall_known_extensions": "false"})
    con.execute("SET TimeZone = 'UTC'")
    for step in json.loads(plan_file.read_text()):
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{step["schema"]}"')
        rel = f'"{step["schema"]}"."{step["name"]}"'
        if step["kind"] == "seed":
            types = ", ".join(f"'{k}': '{v}'" for k, v in step["column_types"].items())
            con.execute(
                f"CREATE OR REPLACE TABLE {rel} AS SELECT * FROM read_csv('{step['seed_path']}', header = true, "
                f"types = {{{types}}})"
            )
        elif step["materialized"] == "external":
            location = f"{lake_url}/{Lake.curated_key(step['name'])}"
            con.execute(f"COPY ({step['sql']}) TO '{location}' (FORMAT parquet)")
            con.execute(f"CREATE OR REPLACE VIEW {rel} AS SELECT * FROM read_parquet('{location}')")
        else:
            con.execute(f"CREATE OR REPLACE VIEW {rel} AS {step['sql']}")
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--scale", type=float, default=None)
    parser.add_argument("--baseline", nargs=3, metavar=("PLAN", "DB", "LAKE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        run_baseline(Path(args.baseline[0]), Path(args.baseline[1]), args.baseline[2])
        return
    scale = args.scale or (0.3 if args.quick else 60.0)

    from ingestion.demo.simulator import simulate

    with tempfile.TemporaryDirectory(prefix="bench-dbt-") as tmp:
        work = Path(tmp)
        lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(work / "data")})
        t0 = time.perf_counter()
        sim = simulate(lh, days=14, scale=scale, seed=42, files=False)
        sim_s = time.perf_counter() - t0
        readings = sim.sensor_readings
        prepare_curated_dirs(lh)
        env = {**os.environ, **dbt_env(lh.settings)}
        # compile once (not timed): manifest with the SQL both sides execute
        subprocess.run(dbt_cmd("compile", work / "compiled"), env=env, cwd=work, check=True, capture_output=True)
        steps = plan(work / "compiled" / "manifest.json")
        plan_file = work / "plan.json"
        plan_file.write_text(json.dumps(steps))

        dbt_s, dbt_mb = measure(dbt_cmd("build", work / "target", "--exclude", "resource_type:test"), env, work)
        base_db = work / "baseline" / "warehouse.duckdb"
        base_db.parent.mkdir()
        raw_s, raw_mb = measure(
            [sys.executable, __file__, "--baseline", str(plan_file), str(base_db), lh.settings.lake_url],
            {**env, "PYTHONPATH": str(Path(__file__).parent)},
            work,
        )

    marts = sum(1 for s in steps if s["materialized"] == "external")
    report(
        "bench_dbt",
        ["mesure", "lectures capteurs", "durée (s)", "mémoire max (Mo)", "ratio / DuckDB"],
        [
            ["simulation (non comparée)", readings, sim_s, "", ""],
            ["dbt build (marts, sans tests)", readings, dbt_s, round(dbt_mb), dbt_s / raw_s],
            ["DuckDB, même SQL en direct", readings, raw_s, round(raw_mb), 1.0],
        ],
        notes=f"{marts} marts Parquet, {len(steps)} nœuds ; objectif : ratio ≤ 1,5 "
        f"({'atteint' if dbt_s / raw_s <= 1.5 else 'NON atteint'}).",
    )


if __name__ == "__main__":
    main()
