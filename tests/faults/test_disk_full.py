"""The local lake's filesystem fills up during an ingestion (a 8 MB tmpfs, mounted as root).

The write fails with « espace disque insuffisant » naming the folder; nothing partial is
visible (the ingestion rolls back the file's batches, every object left reads back whole,
the temp files are gone); the audit chain verifies. Once space is freed, a rerun completes:
no row lost, none twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from lake_counts import held, rerun_completes, write_csv

from lakehouse.audit import AuditLog
from lakehouse.platform import Lakehouse

ROWS = 250_000
FREE_KB = 1300  # left free by the ballast: less than the file's five raw batches (≈ 490 KB each)
HYPERVISEUR = Path(sys.executable).parent / "hyperviseur"


@pytest.fixture
def small_lake(tmp_path):
    if os.geteuid() != 0:  # make test runs as root (CI); never a silent skip
        pytest.fail("monter un tmpfs de quelques Mo demande les droits root : lancer make test en root")
    mount = tmp_path / "lake"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def _fill(folder: Path, leave_kb: int) -> Path:
    ballast = folder / "ballast.bin"
    stat = os.statvfs(folder)
    with open(ballast, "wb") as f:
        f.write(b"\0" * (stat.f_bavail * stat.f_frsize - leave_kb * 1024))
    return ballast


def test_full_disk_fails_clearly_and_rerun_completes(small_lake, tmp_path):
    path = tmp_path / "releves" / "releves.csv"
    path.parent.mkdir()
    broken = write_csv(path, ROWS)
    env = {"HYPERVISEUR_DATA_DIR": str(tmp_path / "data"), "HYPERVISEUR_LAKE_DIR": str(small_lake)}
    lh = Lakehouse.from_env(env)
    audit = AuditLog(lh)
    audit.append("ingestion", "test", {"file": str(path), "step": "start"})
    ballast = _fill(small_lake, FREE_KB)
    cmd = [str(HYPERVISEUR), "ingest", "fichiers", str(path)]

    first = subprocess.run(cmd, env=dict(os.environ, **env), capture_output=True, text=True, timeout=300)
    assert first.returncode == 1, first.stdout + first.stderr
    assert f"espace disque insuffisant sur {small_lake}" in first.stderr, first.stderr
    assert "Traceback" not in first.stderr
    assert not list((small_lake / ".tmp").glob("tmp-*")), "a temp file was left behind"
    partial = held(lh, "fichiers", "releves")  # reads every visible object: none is truncated
    assert partial.raw < ROWS - broken  # the file's batches are rolled back (ingestion.pipeline.rollback)
    assert audit.verify().ok

    ballast.unlink()
    lake = rerun_completes(lh, audit, cmd, env, path, ROWS, broken)
    print(
        f"\ndisque plein : {first.stderr.strip()} ; {partial.raw} lignes laissées en raw ; "
        f"après libération : {lake.raw} raw + {lake.quarantine} quarantaine = {ROWS}, 0 doublon"
    )
