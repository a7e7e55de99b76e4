"""`dbt build` of the marts vs the same SQL run directly by DuckDB, same data, same run.

The demo simulator fills a local lake with ≈ 10 M sensor readings (14 days of Val-de-Lys at
a high sampling rate; ``--quick``: ≈ 50 k). Then, each in its own process with its peak
memory (whole process tree) sampled:

* dbt: ``dbt build --exclude resource_type:test`` (seeds, staging views, marts as Parquet),
  started through the platform's launcher (``hyperviseur-dbt``) as Dagster starts it. The
  launcher keeps the project's parse from one invocation to the next, so a daily run does not
  parse again: the parse, paid once per version of the project, is measured on its own row;
* DuckDB: the models' SQL, compiled once by dbt beforehand, executed in dependency order by
  one DuckDB connection (views for staging, ``COPY … TO`` Parquet for marts) — dbt's own
  SQL without dbt around it;
* hand-written SQL (``benchmarks/hand_sql/``, independent of dbt's SQL): the sensor-volume
  marts written straight from the raw Parquet and the seed CSVs, against ``dbt build`` of
  the same marts and their ancestors only. Each hand-written mart must equal dbt's (rows,
  values per key, floats within a relative 1e-6): a difference fails the benchmark.

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

from lakehouse.encryption import ensure_key_file
from lakehouse.lake import Lake
from lakehouse.platform import Lakehouse
from orchestration.resources import DBT_LAUNCHER, DBT_PROJECT_DIR, dbt_env, prepare_curated_dirs

READINGS_PER_SCALE = 166_000  # sensor readings of 14 simulated days at scale 1
HAND_SQL_DIR = Path(__file__).parent / "hand_sql"
# Marts of hand_sql/, in dependency order, with the columns identifying one row.
HAND_MARTS = {
    "mart_traffic_hourly": ("segment_id", "hour_start"),
    "mart_traffic_daily": ("segment_id", "local_date"),
    "mart_air_quality_hourly": ("station_id", "pollutant", "hour_start"),
    "mart_air_quality_exceedances": ("station_id", "pollutant", "averaging_period", "period_start"),
    "mart_air_quality_atmo_daily": ("station_id", "local_date"),
    "mart_air_quality_atmo_district_daily": ("district_id", "local_date"),
    "mart_water_night_flow": ("sector_id", "night_date"),
    "mart_water_leak_candidates": ("sector_id",),
    "mart_lighting_circuits_daily": ("circuit_id", "night_date"),
    "mart_lighting_faults": ("lamp_id", "night_date"),
    "mart_building_energy_daily": ("building_id", "local_date"),
}
NUMERIC_TYPES = ("DOUBLE", "FLOAT", "DECIMAL", "BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT")
FLOAT_TOLERANCE = 1e-6  # relative: dbt and the hand SQL may sum floats in another order


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
        str(Path(sys.executable).with_name(DBT_LAUNCHER)),
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
                "partition_by": n["config"].get("partition_by"),
                "language": n.get("language", "sql"),
                "sql": n.get("compiled_code"),
                "seed_path": str(Path(n["root_path"]) / n["original_file_path"])
                if n["resource_type"] == "seed"
                else None,
                "column_types": n["config"].get("column_types") or {},
            }
        )
    return steps


class _PythonModelContext:
    """The ``dbt`` argument of a Python model, reduced to the calls that only declare things,
    on a first build (an incremental model then builds its whole table)."""

    is_incremental = False

    def config(self, **_):
        pass

    def source(self, *_):
        pass


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
        elif step["language"] == "python":  # dbt-duckdb runs model(dbt, session) and stores its table
            namespace: dict = {}
            exec(compile(step["sql"], step["name"], "exec"), namespace)
            result = namespace["model"](_PythonModelContext(), con)
            con.register("python_model_result", result)
            con.execute(f"CREATE OR REPLACE TABLE {rel} AS SELECT * FROM python_model_result")
            con.unregister("python_model_result")
        elif step["materialized"] == "external":
            location = f"{lake_url}/{Lake.curated_key(step['name'])}"
            con.execute(f"COPY ({step['sql']}) TO '{location}' (FORMAT parquet)")
            con.execute(f"CREATE OR REPLACE VIEW {rel} AS SELECT * FROM read_parquet('{location}')")
        elif step["materialized"] == "partitioned":  # one file per day, as macros/partitions.sql writes
            location = f"{lake_url}/curated/{step['name']}"
            con.execute(
                f"COPY ({step['sql']}) TO '{location}' (FORMAT parquet, COMPRESSION zstd, "
                f"PARTITION_BY ({step['partition_by']}), OVERWRITE_OR_IGNORE true, WRITE_PARTITION_COLUMNS true)"
            )
            con.execute(f"CREATE OR REPLACE VIEW {rel} AS SELECT * FROM read_parquet('{location}/*/*.parquet')")
        else:
            con.execute(f"CREATE OR REPLACE VIEW {rel} AS {step['sql']}")
    con.close()


def run_hand_sql(out_dir: Path, lake_url: str) -> None:
    """Executed in a child process: the hand-written marts through one plain DuckDB connection.

    Same engine settings as dbt's profile (UTC session, memory limit and threads from the
    environment dbt receives); each mart is written to ``out_dir/<mart>.parquet`` and then
    visible by its name to the marts built on it.
    """
    import duckdb

    con = duckdb.connect(str(out_dir / "hand.duckdb"), config={"autoinstall_known_extensions": "false"})
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{os.environ.get('HYPERVISEUR_DUCKDB_MEMORY_LIMIT', '2GB')}'")
    con.execute(f"SET threads = {int(os.environ.get('HYPERVISEUR_DUCKDB_THREADS', '2'))}")
    seeds = DBT_PROJECT_DIR / "seeds"
    for mart in HAND_MARTS:
        sql = (
            (HAND_SQL_DIR / f"{mart}.sql")
            .read_text()
            .replace("{raw}", f"{lake_url}/raw")
            .replace("{seeds}", str(seeds))
        )
        location = out_dir / f"{mart}.parquet"
        con.execute(f"COPY ({sql}) TO '{location}' (FORMAT parquet)")
        con.execute(f"CREATE OR REPLACE VIEW {mart} AS SELECT * FROM read_parquet('{location}')")
    con.close()


def compare_marts(out_dir: Path, lake_url: str) -> tuple[list[str], dict[str, int]]:
    """Differences between each hand-written mart and dbt's (empty list: all equal), dbt's rows per mart.

    Rows are matched on the mart's key columns (order-independent); every column of dbt's
    mart must exist in the hand-written one with the same values, floats within
    FLOAT_TOLERANCE relative.
    """
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    failures, rows = [], {}
    for mart, keys in HAND_MARTS.items():
        con.execute(f"CREATE OR REPLACE VIEW d AS SELECT * FROM read_parquet('{lake_url}/{Lake.curated_key(mart)}')")
        con.execute(f"CREATE OR REPLACE VIEW h AS SELECT * FROM read_parquet('{out_dir / mart}.parquet')")
        dbt_cols = {name: typ for name, typ, *_ in con.execute("DESCRIBE d").fetchall()}
        hand_cols = {name for name, *_ in con.execute("DESCRIBE h").fetchall()}
        missing = [c for c in dbt_cols if c not in hand_cols]
        if missing:
            failures.append(f"{mart} : colonnes absentes du SQL écrit à la main : {', '.join(missing)}")
            continue
        checks = []
        for col, typ in dbt_cols.items():
            if col in keys:
                continue
            if typ.startswith(NUMERIC_TYPES):
                a, b = f'd."{col}"::double', f'h."{col}"::double'
                same = f"({a} IS NOT DISTINCT FROM {b} OR abs({a} - {b}) <= {FLOAT_TOLERANCE} * greatest(1, abs({a})))"
            else:
                same = f'd."{col}" IS NOT DISTINCT FROM h."{col}"'
            checks.append(f'count(*) FILTER (NOT {same}) AS "{col}"')
        on = " AND ".join(f'd."{k}" IS NOT DISTINCT FROM h."{k}"' for k in keys)
        dbt_rows, hand_rows = (con.execute(f"SELECT count(*) FROM {v}").fetchone()[0] for v in ("d", "h"))
        matched = con.execute(f"SELECT count(*) FROM d JOIN h ON {on}").fetchone()[0]
        if not (dbt_rows == hand_rows == matched):
            failures.append(f"{mart} : {dbt_rows} lignes dbt, {hand_rows} écrites à la main, {matched} appariées")
        if checks:
            cur = con.execute(f"SELECT {', '.join(checks)} FROM d JOIN h ON {on}")
            diffs = {c[0]: n for c, n in zip(cur.description, cur.fetchone(), strict=True) if n}
            if diffs:
                failures.append(
                    f"{mart} : valeurs différentes — " + ", ".join(f"{c} ({n} lignes)" for c, n in diffs.items())
                )
        rows[mart] = dbt_rows
    con.close()
    return failures, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--scale", type=float, default=None)
    parser.add_argument("--baseline", nargs=3, metavar=("PLAN", "DB", "LAKE"), help=argparse.SUPPRESS)
    parser.add_argument("--hand-sql", nargs=2, metavar=("OUT", "LAKE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        run_baseline(Path(args.baseline[0]), Path(args.baseline[1]), args.baseline[2])
        return
    if args.hand_sql:
        run_hand_sql(Path(args.hand_sql[0]), args.hand_sql[1])
        return
    scale = args.scale or (0.3 if args.quick else 60.0)

    from ingestion.demo.simulator import simulate

    with tempfile.TemporaryDirectory(prefix="bench-dbt-") as tmp:
        work = Path(tmp)
        lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(work / "data")})
        ensure_key_file(lh.settings)  # the simulator writes citizen reports' personal columns encrypted
        t0 = time.perf_counter()
        sim = simulate(lh, days=14, scale=scale, seed=42, files=False)
        sim_s = time.perf_counter() - t0
        readings = sim.sensor_readings
        prepare_curated_dirs(lh)
        env = {**os.environ, **dbt_env(lh.settings), "HYPERVISEUR_DATA_DIR": str(lh.settings.data_dir)}
        # the project's parse, once, which the launcher keeps for the invocations after it
        parse_s, parse_mb = measure(dbt_cmd("parse", work / "parsed"), env, work)
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
        # the same marts as hand_sql/, with their ancestors only: dbt's side of the second ratio
        selection = ["--select", *(f"+{m}" for m in HAND_MARTS)]
        sub_s, sub_mb = measure(
            dbt_cmd("build", work / "target-hand", "--exclude", "resource_type:test", *selection), env, work
        )
        hand_dir = work / "hand"
        hand_dir.mkdir()
        hand_s, hand_mb = measure(
            [sys.executable, __file__, "--hand-sql", str(hand_dir), lh.settings.lake_url],
            {**env, "PYTHONPATH": str(Path(__file__).parent)},
            work,
        )
        failures, rows = compare_marts(hand_dir, lh.settings.lake_url)

    marts = sum(1 for s in steps if s["materialized"] == "external")
    empty = [m for m, n in rows.items() if not n]
    verdict = (
        f"identiques à ceux de dbt ({sum(rows.values())} lignes comparées"
        + (f" ; vides à cette échelle : {', '.join(empty)}" if empty else "")
        + ")."
        if not failures
        else "DIFFÉRENTS de ceux de dbt (échec) :\n" + "\n".join(failures)
    )
    report(
        "bench_dbt",
        ["mesure", "lectures capteurs", "durée (s)", "mémoire max (Mo)", "ratio / DuckDB", "ratio / SQL main"],
        [
            ["simulation (non comparée)", readings, sim_s, "", "", ""],
            ["analyse du projet par dbt (une fois par version, non comparée)", "", parse_s, round(parse_mb), "", ""],
            ["dbt build (marts, sans tests)", readings, dbt_s, round(dbt_mb), dbt_s / raw_s, ""],
            ["DuckDB, même SQL en direct", readings, raw_s, round(raw_mb), 1.0, ""],
            [
                f"dbt build ({len(HAND_MARTS)} marts capteurs + ascendants)",
                readings,
                sub_s,
                round(sub_mb),
                "",
                sub_s / hand_s,
            ],
            [f"SQL écrit à la main ({len(HAND_MARTS)} marts)", readings, hand_s, round(hand_mb), "", 1.0],
        ],
        notes=f"{marts} marts Parquet, {len(steps)} nœuds ; objectif : ratio ≤ 1,5 — dbt / DuckDB même SQL : "
        f"{'atteint' if dbt_s / raw_s <= 1.5 else 'NON atteint'} ; dbt / SQL écrit à la main : "
        f"{'atteint' if sub_s / hand_s <= 1.5 else 'NON atteint'}. Marts écrits à la main " + verdict,
    )
    if failures:
        raise SystemExit("échec : les marts écrits à la main diffèrent de ceux de dbt (voir ci-dessus)")


if __name__ == "__main__":
    main()
