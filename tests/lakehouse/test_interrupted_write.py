"""A write killed half-way leaves nothing partial visible; rerunning writes the batch once."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lakehouse.lake import Zone
from tests.lake_env import lake_env

ROWS = 6_000_000  # ≈ 96 MB of Parquet: above the 64 MB part size, so S3 uses a multipart upload
WRITER = Path(__file__).with_name("interrupted_writer.py")


def _env(lh) -> dict[str, str]:
    """This process's environment, pointed at ``lh``."""
    merged = {**os.environ, **lake_env(lh)}
    return {k: v for k, v in merged.items() if v is not None}


def _partial_temp_file(lh) -> bool:
    """True once the writer's temp Parquet file holds some bytes (the write is under way)."""
    scratch = lh.storage.scratch_dir()
    return scratch.is_dir() and any(p.stat().st_size > 0 for p in scratch.glob("tmp-*.parquet"))


def _kill_at(lh, phase: str) -> None:
    """Kill the writer mid-way: during the Parquet write (temp file partly written) or just
    after the upload started (a 96 MB upload cannot finish in 50 ms)."""
    proc = subprocess.Popen([sys.executable, str(WRITER), str(ROWS)], env=_env(lh), stdout=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            assert not line.startswith("DONE"), "the writer finished before it could be interrupted"
            if line.startswith(phase):
                break
        if phase == "WRITING":
            deadline = time.monotonic() + 60
            while not _partial_temp_file(lh) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.001)
            assert proc.poll() is None, "the writer finished before it could be interrupted"
        else:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL


def _visible(lh):
    return [o.key for o in lh.storage.list("raw/big/")]


def _complete_run(lh) -> str:
    out = subprocess.run(
        [sys.executable, str(WRITER), str(ROWS)], env=_env(lh), capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.split("DONE", 1)[1].split()[0]


def _check_interrupted_then_retried(lh, phase: str) -> None:
    _kill_at(lh, phase)
    assert _visible(lh) == [], "a partial object is visible after the kill"
    assert lh.lake.manifests(Zone.RAW, "big", "readings") == []

    batch_id = _complete_run(lh)
    again = _complete_run(lh)
    assert again == batch_id
    keys = _visible(lh)
    assert len(keys) == 1 and keys[0].endswith(f"/{batch_id}.parquet")
    [manifest] = lh.lake.manifests(Zone.RAW, "big", "readings")
    assert manifest.rows == ROWS and manifest.key == keys[0]
    con = lh.duckdb()
    glob = lh.lake.dataset_glob(Zone.RAW, "big", "readings")
    assert con.execute(f"SELECT count(*) FROM read_parquet('{glob}')").fetchone()[0] == ROWS


def test_kill_during_parquet_write(lakehouse):
    _check_interrupted_then_retried(lakehouse, "WRITING")


def test_kill_during_s3_upload(s3_lakehouse):
    _check_interrupted_then_retried(s3_lakehouse, "UPLOADING")
