"""Open-data export of a large dataset to every format: time and peak memory.

Each export runs in its own process so its peak RSS (``ru_maxrss``) is its own. Baseline
in the same run: raw DuckDB ``COPY`` with default settings (GeoJSON through DuckDB's GDAL
driver). Usage: ``python benchmarks/bench_opendata.py [--quick] [--rows N]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_ROWS = 10_000_000
QUICK_ROWS = 100_000
FORMATS = ("csv", "parquet", "json", "geojson")


def make_source(path: Path, rows: int) -> None:
    """A mart-like table: station, UTC hour, pollutant value, coordinates."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute(f"""
        COPY (
          SELECT 'ST' || lpad((i % 40)::VARCHAR, 2, '0') AS station_id,
                 TIMESTAMPTZ '2026-03-01 00:00:00+00' + to_hours((i // 40)::BIGINT) AS observed_at,
                 round(20 + 15 * sin(i / 97.0) + (i % 13), 2) AS no2_ugm3,
                 round(50.65 + (i % 40) * 0.001, 6) AS lat,
                 round(2.86 + (i % 40) * 0.002, 6) AS lon
          FROM range({rows}) t(i)
        ) TO '{path}' (FORMAT parquet, COMPRESSION zstd)""")
    con.close()


def worker(kind: str, fmt: str, source: str, out: str) -> None:
    """Runs in a child process: one export, nothing else."""
    from lakehouse import duck
    from lakehouse.settings import Settings

    settings = Settings.from_env({"HYPERVISEUR_DATA_DIR": str(Path(out).parent)})
    if kind == "hyperviseur":
        from opendata import export

        con = duck.connect(settings, extensions=duck.SPATIAL)
        export.prepare(con)
        con.execute("SET memory_limit='1GB'")
        cols = export.columns(con, source)
        export.write(con, source, fmt, Path(out), cols, export.detect_geometry(cols))
    else:
        con = duck.connect(settings, extensions=duck.SPATIAL)
        src = f"read_parquet('{source}')"
        options = {
            "csv": "(FORMAT csv, HEADER true)",
            "parquet": "(FORMAT parquet, COMPRESSION zstd)",
            "json": "(FORMAT json, ARRAY true)",
            "geojson": "(FORMAT GDAL, DRIVER 'GeoJSON')",
        }[fmt]
        select = (
            f"SELECT * EXCLUDE (lat, lon), ST_Point(lon, lat) AS geom FROM {src}"
            if fmt == "geojson"
            else f"SELECT * FROM {src}"
        )
        con.execute(f"COPY ({select}) TO '{out}' {options}")
    con.close()


def run_child(kind: str, fmt: str, source: Path, out: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one export in a fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--worker", kind, fmt, str(source), str(out)])
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"export {kind}/{fmt} en échec (code {proc.returncode})")
    return elapsed, usage.ru_maxrss / 1024


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS} lignes (test rapide)")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--worker", nargs=4, metavar=("KIND", "FMT", "SOURCE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return
    rows = args.rows or (QUICK_ROWS if args.quick else DEFAULT_ROWS)
    with tempfile.TemporaryDirectory(prefix="bench-opendata-") as tmp:
        tmp = Path(tmp)
        source = tmp / "source.parquet"
        t0 = time.perf_counter()
        make_source(source, rows)
        count = f"{rows:,}".replace(",", " ")
        print(f"Source : {count} lignes, {source.stat().st_size / 2**20:.1f} Mio ({time.perf_counter() - t0:.1f} s)")
        print(
            f"{'format':<9}{'hyperviseur s':>14}{'RSS Mio':>9}{'brut s':>9}{'RSS Mio':>9}{'ratio t':>9}{'taille Mio':>12}"
        )
        total = 0.0
        for fmt in FORMATS:
            ours_out, raw_out = tmp / f"ours.{fmt}", tmp / f"raw.{fmt}"
            t_ours, rss_ours = run_child("hyperviseur", fmt, source, ours_out)
            t_raw, rss_raw = run_child("raw", fmt, source, raw_out)
            size = ours_out.stat().st_size / 2**20
            total += t_ours
            print(
                f"{fmt:<9}{t_ours:>14.2f}{rss_ours:>9.0f}{t_raw:>9.2f}{rss_raw:>9.0f}{t_ours / t_raw:>9.2f}{size:>12.1f}"
            )
            ours_out.unlink()
            raw_out.unlink(missing_ok=True)
        print(f"Total des exports Hyperviseur : {total:.1f} s")


if __name__ == "__main__":
    main()
