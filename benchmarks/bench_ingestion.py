"""Ingestion throughput of sensor readings through the pipeline vs a raw pyarrow write.

The demo simulator produces the readings day by day (scale 60 ≈ 10 M readings over 14
days); each chunk is written twice: through ``ingestion.pipeline.write_chunk``
(validation, dedup, atomic Parquet write + manifest) and with a bare
``pyarrow.parquet.write_table`` of the same rows (same compression). Generation time is
excluded from both. Peak RSS shows memory stays bounded by the chunk, not the input.

    python benchmarks/bench_ingestion.py            # ≈ 10 M readings
    python benchmarks/bench_ingestion.py --quick    # smoke test
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq

from ingestion.demo.sensors import SENSOR_DATASETS
from ingestion.demo.simulator import build_model, iter_chunks
from ingestion.pipeline import IngestReport, register, write_chunk
from lakehouse.platform import Lakehouse


def run(days: float, scale: float) -> dict:
    model = build_model(days=days, scale=scale)
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    peak = rss0
    with tempfile.TemporaryDirectory(prefix="hv-bench-") as tmp:
        lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(Path(tmp) / "data")})
        report = IngestReport(origin="bench")
        raw_file = Path(tmp) / "raw.parquet"
        t_pipe = t_raw = 0.0
        rows = biggest = 0
        seen = set()
        for spec, w0, _, chunk in iter_chunks(model, model.start, model.end, datasets=SENSOR_DATASETS):
            if spec.qualified_name not in seen:
                register(lh, spec)
                seen.add(spec.qualified_name)
            t = time.perf_counter()
            write_chunk(lh, spec, chunk, f"bench/{spec.name}/{w0}", report, batch_id=f"bench-{spec.name}-{w0}")
            t_pipe += time.perf_counter() - t
            t = time.perf_counter()
            pq.write_table(chunk, raw_file, compression="zstd")
            t_raw += time.perf_counter() - t
            rows += chunk.num_rows
            biggest = max(biggest, chunk.num_rows)
            peak = max(peak, proc.memory_info().rss)
            del chunk
    assert report.rows_in == rows and all(c.balanced for c in report.datasets.values())
    return {
        "rows": rows,
        "pipeline_s": t_pipe,
        "raw_s": t_raw,
        "biggest_chunk": biggest,
        "rss_start_mb": rss0 / 2**20,
        "rss_peak_mb": peak / 2**20,
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="petite taille (test de fumée)")
    parser.add_argument("--days", type=float, default=14)
    parser.add_argument("--scale", type=float, default=None, help="défaut : 60 (≈ 10 M lectures), 1 avec --quick")
    args = parser.parse_args(argv)
    days, scale = (2, 1.0) if args.quick else (args.days, args.scale or 60.0)
    r = run(days, args.scale or scale)
    pipe_rate, raw_rate = r["rows"] / r["pipeline_s"], r["rows"] / r["raw_s"]
    ratio = pipe_rate / raw_rate
    print(f"{'mesure':<34}{'valeur':>16}")
    print(f"{'lectures de capteurs':<34}{r['rows']:>16,}")
    print(f"{'plus gros lot (lignes)':<34}{r['biggest_chunk']:>16,}")
    print(f"{'pipeline (s)':<34}{r['pipeline_s']:>16.2f}")
    print(f"{'pyarrow write_table brut (s)':<34}{r['raw_s']:>16.2f}")
    print(f"{'débit pipeline (lignes/s)':<34}{pipe_rate:>16,.0f}")
    print(f"{'débit brut (lignes/s)':<34}{raw_rate:>16,.0f}")
    print(f"{'ratio pipeline / brut (obj. ≥ 50 %)':<34}{ratio:>15.0%} ")
    print(f"{'RSS au départ (Mo)':<34}{r['rss_start_mb']:>16.0f}")
    print(f"{'RSS maximale (Mo)':<34}{r['rss_peak_mb']:>16.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
