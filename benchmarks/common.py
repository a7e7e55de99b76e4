"""Shared helpers for benchmarks: timing, peak memory, result tables, test-server settings."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
# Where each benchmark writes its table as JSON; the test suite's quick runs write elsewhere,
# so they never replace the figures of a real `make bench`.
RESULTS = Path(os.environ.get("HYPERVISEUR_BENCH_RESULTS") or ROOT / "bench-results")
console = Console(width=140)


def median_time(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux ru_maxrss is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def s3_env_from_test_server(data_dir: Path) -> dict | None:
    """Settings for the local S3 test server when `make bench` started it, else None."""
    sys.path.insert(0, str(ROOT / "infra" / "local"))
    import services

    if not services._running_pid("s3"):
        return None
    env = services.env_vars()
    return {
        "HYPERVISEUR_DATA_DIR": str(data_dir),
        "HYPERVISEUR_S3_ENDPOINT": env["HYPERVISEUR_TEST_S3_ENDPOINT"],
        "HYPERVISEUR_S3_ACCESS_KEY": env["HYPERVISEUR_TEST_S3_ACCESS_KEY"],
        "HYPERVISEUR_S3_SECRET_KEY": env["HYPERVISEUR_TEST_S3_SECRET_KEY"],
        "HYPERVISEUR_S3_BUCKET": env["HYPERVISEUR_TEST_S3_BUCKET"],
    }


def mqtt_env_from_test_server() -> dict:
    """Settings for the local Mosquitto started by `make bench` (it requires a login)."""
    sys.path.insert(0, str(ROOT / "infra" / "local"))
    import services

    services.RUN_DIR.mkdir(parents=True, exist_ok=True)
    services.start_mqtt()
    env = services.env_vars()
    return {
        "HYPERVISEUR_MQTT_HOST": services.HOST,
        "HYPERVISEUR_MQTT_PORT": env["HYPERVISEUR_TEST_MQTT_PORT"],
        "HYPERVISEUR_MQTT_USERNAME": env["HYPERVISEUR_TEST_MQTT_USERNAME"],
        "HYPERVISEUR_MQTT_PASSWORD": env["HYPERVISEUR_TEST_MQTT_PASSWORD"],
    }


def match_spans(gold: list[tuple], pred: list[tuple], counts: dict, strict: bool = False) -> None:
    """Match predicted to gold spans one-to-one per type, in ``pred`` order; accumulate TP/FP/FN.

    Spans are ``(start, end, type)``; *strict* needs identical offsets, otherwise any shared
    character counts.
    """
    used = set()
    for s, e, t in pred:
        hit = next(
            (
                i
                for i, (gs, ge, gt) in enumerate(gold)
                if gt == t and i not in used and ((gs, ge) == (s, e) if strict else (gs < e and s < ge))
            ),
            None,
        )
        if hit is None:
            counts[t]["fp"] += 1
        else:
            used.add(hit)
            counts[t]["tp"] += 1
    for i, (_, _, t) in enumerate(gold):
        if i not in used:
            counts[t]["fn"] += 1


def prf(c: dict) -> tuple[float, float, float]:
    """Precision, recall, F1 of a ``{"tp", "fp", "fn"}`` count."""
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def report(name: str, columns: list[str], rows: list[list], notes: str = "") -> None:
    table = Table(*columns, title=name)
    for r in rows:
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in r])
    console.print(table)
    if notes:
        console.print(notes)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(
        json.dumps(
            {"columns": columns, "rows": rows, "notes": notes, "cpus": os.cpu_count(), "at": time.time()},
            ensure_ascii=False,
            indent=1,
            default=str,
        )
    )
