"""Peak memory of ``hyperviseur ingest`` on a large CSV: bounded, whatever the file size.

A semicolon CSV of meter readings is generated at bench time into a temp folder, at two
sizes: the target (1 GB, ``--quick``: 64 MB) and an eighth of it. Each run is a separate process whose peak RSS is read from ``wait4`` (the kernel's own figure):

- ``hyperviseur ingest fichiers <csv>`` on a local lake, at both sizes;
- the baseline: pyarrow's streaming CSV reader (``pyarrow.csv.open_csv``) writing Parquet
  batch by batch, on the large file, in the same run.

Targets, checked at the end (exit code 1 if missed): the ingestion's peak RSS grows by at
most 25 % when the file is 8 times larger (memory bounded by the chunk, not the file), and
stays under ``BOUND_MB``. Usage: ``python benchmarks/bench_memory.py [--quick] [--mo N]``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, report

BOUND_MB = 600  # stated bound of the ingestion's peak RSS, for any file size
GROWTH_MAX = 1.25  # peak RSS (large file) / peak RSS (file 8 times smaller)
COMMUNES = ("Lille", "Roubaix", "Tourcoing", "Villeneuve-d'Ascq", "Marcq-en-Barœul", "Lambersart")

BASELINE = """
import sys
import pyarrow.csv as csv
import pyarrow.parquet as pq

reader = csv.open_csv(sys.argv[1], parse_options=csv.ParseOptions(delimiter=";"))
with pq.ParquetWriter(sys.argv[2], reader.schema, compression="zstd") as writer:
    for batch in reader:
        writer.write_batch(batch)
"""


def generate_csv(path: Path, size: int) -> int:
    """Write a CSV of about ``size`` bytes, 10 000 lines at a time; returns its row count."""
    rng = random.Random(1)
    rows = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write("identifiant;date_releve;commune;consommation_kwh;statut;commentaire\n")
        while f.tell() < size:
            lines = []
            for i in range(rows + 1, rows + 10_001):
                lines.append(
                    f"{i};2025-{1 + i % 12:02d}-{1 + i % 28:02d};{COMMUNES[i % 6]};{rng.random() * 1000:.2f};"
                    f"{'actif' if i % 7 else 'inactif'};relevé automatique n°{i % 997}\n"
                )
            f.write("".join(lines))
            rows += 10_000
    return rows


def peak_rss(argv: list[str], env: dict) -> tuple[float, float]:
    """Run ``argv``; return (peak RSS in MB, seconds). Fails if the command fails."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[:3]} a échoué :\n{proc.stderr.read().decode(errors='replace')[-2000:]}")
    proc.stderr.close()
    return usage.ru_maxrss / 1024, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fichier de 64 Mo (test de fumée)")
    parser.add_argument("--mo", type=int, default=None, help="taille du grand fichier en Mo (défaut 1024)")
    args = parser.parse_args()
    large = (args.mo or (64 if args.quick else 1024)) * 1024**2
    bindir = Path(sys.executable).parent
    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    rows_out = []
    try:
        peaks = {}
        for label, size in (("1/8", large // 8), ("1", large)):
            csv = work / ("releves_petit" if label == "1/8" else "releves_grand") / "releves.csv"
            csv.parent.mkdir()
            rows = generate_csv(csv, size)
            mb = csv.stat().st_size / 1024**2
            env = dict(os.environ, HYPERVISEUR_DATA_DIR=str(work / f"data-{csv.parent.name}"))
            rss, secs = peak_rss([str(bindir / "hyperviseur"), "ingest", "fichiers", str(csv)], env)
            peaks[label] = rss
            rows_out.append([f"hyperviseur ingest ({mb:.0f} Mo)", rows, mb, rss, rss / mb, secs])
            if label == "1":
                base, bsecs = peak_rss([sys.executable, "-c", BASELINE, str(csv), str(work / "base.parquet")], env)
                rows_out.append([f"pyarrow open_csv → Parquet ({mb:.0f} Mo)", rows, mb, base, base / mb, bsecs])
            shutil.rmtree(csv.parent)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    growth = peaks["1"] / peaks["1/8"]
    ok = growth <= GROWTH_MAX and peaks["1"] <= BOUND_MB
    report(
        "memory_ingest_csv",
        ["processus", "lignes", "taille (Mo)", "RSS max (Mo)", "RSS / taille", "secondes"],
        rows_out,
        notes=(
            f"RSS max (grand fichier) / RSS max (fichier 8 fois plus petit) = {growth:.2f} (obj. ≤ {GROWTH_MAX}) ; "
            f"RSS max de l'ingestion {peaks['1']:.0f} Mo (borne annoncée ≤ {BOUND_MB} Mo) ; "
            f"ratio vs lecteur pyarrow en flux = {rows_out[1][3] / rows_out[2][3]:.2f}. "
            + ("objectifs atteints" if ok else "OBJECTIF MANQUÉ")
        ),
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
