"""Lake write throughput vs a raw ``pyarrow.parquet.write_table`` of the same table, same run.

The lake adds a content hash (batch id), three lineage columns, an atomic publish and a
manifest; the ratio says what that costs. On S3 the upload to the local test server is
included. Usage: ``python benchmarks/bench_lake.py [--quick] [--rows N]``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from common import median_time, report, s3_env_from_test_server

from lakehouse.lake import Zone
from lakehouse.platform import Lakehouse


def readings(rows: int) -> pa.Table:
    rng = np.random.default_rng(1)
    start = np.datetime64("2026-03-01T00:00:00", "us")
    return pa.table(
        {
            "sensor_id": pa.array(np.char.add("capteur-", (rng.integers(0, 500, rows)).astype(str)))
            .dictionary_encode()
            .cast(pa.string()),
            "observed_at": pa.array(
                start + rng.integers(0, 14 * 86400, rows).astype("timedelta64[s]"), pa.timestamp("us", tz="UTC")
            ),
            "value": rng.normal(40, 15, rows),
            "quality": rng.integers(0, 3, rows).astype(np.int8),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", type=int, default=None)
    args = parser.parse_args()
    rows = args.rows or (200_000 if args.quick else 5_000_000)
    table = readings(rows)
    mb = table.nbytes / 1e6
    work = Path(tempfile.mkdtemp(prefix="bench-lake-"))
    results = []
    try:
        raw = median_time(lambda: pq.write_table(table, work / "raw.parquet", compression="zstd"))
        results.append(["pyarrow.write_table (référence)", rows, raw, mb / raw, 1.0])
        backends = [("lac local", {"HYPERVISEUR_DATA_DIR": str(work / "local")})]
        s3 = s3_env_from_test_server(work / "s3")
        if s3:
            backends.append(("lac S3 (SeaweedFS local)", s3))
        for label, env in backends:
            lh = Lakehouse.from_env(env)
            lh.storage.check()
            t = median_time(lambda lh=lh: lh.lake.write_batch(Zone.RAW, "bench", "readings", table, origin="bench"))
            results.append([label, rows, t, mb / t, raw / t])
            for o in lh.storage.list("raw/bench/") + lh.storage.list("_meta/manifests/raw/bench/"):
                lh.storage.delete(o.key)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(
        "lake_write",
        ["écriture", "lignes", "secondes (médiane de 3)", "Mo/s (Arrow en mémoire)", "ratio vs pyarrow"],
        results,
        notes="ratio = temps pyarrow / temps lac (1.0 = aussi rapide que l'écriture brute).",
    )


if __name__ == "__main__":
    main()
