"""What a dataset holds in the lake, from the objects themselves (not from a run's report), and
whether re-running an ingestion after a fault completes it."""

from __future__ import annotations

import os
import random
import subprocess
from dataclasses import dataclass

import pyarrow.compute as pc

from lakehouse.lake import Zone


@dataclass(frozen=True)
class Held:
    raw: int  # rows in raw Parquet objects
    quarantine: int  # rows in quarantine Parquet objects
    raw_ids: int  # distinct values of the id column in raw
    orphans: list[str]  # Parquet objects without a manifest (an unfinished write)


def held(lh, source: str, dataset: str, id_column: str = "identifiant") -> Held:
    counts, ids, orphans = {}, set(), []
    for zone in (Zone.RAW, Zone.QUARANTINE):
        manifests = {m.key for m in lh.lake.manifests(zone, source, dataset)}
        counts[zone] = 0
        for o in lh.storage.list(lh.lake.dataset_prefix(zone, source, dataset)):
            table = lh.lake.read_table(o.key)
            counts[zone] += table.num_rows
            if o.key not in manifests:
                orphans.append(o.key)
            if zone == Zone.RAW:
                ids.update(pc.unique(table.column(id_column)).to_pylist())
    return Held(counts[Zone.RAW], counts[Zone.QUARANTINE], len(ids), orphans)


def write_csv(path, rows: int, broken_every: int = 1000) -> int:
    """A semicolon CSV of ``rows`` data lines, one in ``broken_every`` with an extra field
    (quarantined by the reader); returns the number of broken lines."""
    rng, broken = random.Random(rows), 0
    with open(path, "w", encoding="utf-8") as f:
        f.write("identifiant;date_releve;commune;consommation_kwh\n")
        for i in range(1, rows + 1):
            extra = ";en trop" if i % broken_every == 0 else ""
            broken += bool(extra)
            f.write(f"{i};2025-{1 + i % 12:02d}-{1 + i % 28:02d};Roubaix;{rng.random() * 1000:.6f}{extra}\n")
    return broken


def rerun_completes(lh, audit, cmd: list[str], env: dict, path, rows: int, broken: int) -> Held:
    """Re-run the ingestion ``cmd`` of the CSV ``path`` once the fault is gone: it succeeds, the
    lake holds every row exactly once (the ``broken`` ones in quarantine) and no unfinished
    write; the audit log, with the test's "start" and "end" records around it, verifies."""
    rerun = subprocess.run(cmd, env=dict(os.environ, **env), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "aucune ligne perdue" in rerun.stdout
    lake = held(lh, "fichiers", "releves")
    assert (lake.raw, lake.quarantine, lake.raw_ids, lake.orphans) == (rows - broken, broken, rows - broken, [])
    audit.append("ingestion", "test", {"file": str(path), "step": "end"})
    result = audit.verify()
    assert result.ok and result.records == 2, result.reason
    return lake
