"""The benchmarks `make bench` runs keep working as the models change: each one's quick mode runs
to its end here, on its own lake. No figure is asserted (timings belong to `make bench`, not to
tests); what is asserted is behaviour: dbt's and the hand-written marts are equal, the
incremental run follows one new day, and each writes its table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _quick(tmp_path: Path, name: str) -> tuple[subprocess.CompletedProcess, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERVISEUR_")}
    env["HYPERVISEUR_BENCH_RESULTS"] = str(tmp_path / "resultats")
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), "--quick"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, json.loads((tmp_path / "resultats" / f"{name}.json").read_text())


def test_dbt_benchmark_finds_the_hand_written_marts_equal_to_dbt(tmp_path):
    _, table = _quick(tmp_path, "bench_dbt")
    assert "Marts écrits à la main identiques à ceux de dbt" in table["notes"], table["notes"]
    labels = [row[0] for row in table["rows"]]
    assert any(label.startswith("dbt build (11 marts capteurs") for label in labels), labels


def test_incremental_benchmark_measures_the_run_after_one_new_day(tmp_path):
    _, table = _quick(tmp_path, "bench_incremental")
    rows = {row[0]: row for row in table["rows"]}
    runs = [label for label in rows if "exécution après un jour nouveau" in label]
    assert len(runs) == 2, list(rows)
    assert all(rows[label][1] > 0 for label in runs)  # the new day's readings
    assert any(label.startswith("ratio") for label in rows), list(rows)
