"""The S3 server is killed (SIGKILL) and restarted while a CSV is being ingested.

With the default retry budget the ingestion rides over the outage (retries with backoff)
and completes; with a budget shorter than the outage it stops with a French error naming
the endpoint, and a rerun resumes: batches already in raw are recognised, none is written
twice. Either way no row is lost (rows in = raw + quarantine) and the audit chain verifies.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from lake_counts import held, rerun_completes, write_csv

from ingestion.sources.runner import ingest_path
from lakehouse.audit import AuditLog
from lakehouse.platform import Lakehouse

pytestmark = pytest.mark.s3

ROWS = 250_000  # five reader chunks of 50 000 lines
OUTAGE_S = 3.0
HYPERVISEUR = Path(sys.executable).parent / "hyperviseur"


def _wait_first_batch(lh: Lakehouse, timeout: float = 120) -> None:
    """Block until the first raw batch (Parquet + manifest) of the ingestion has landed."""
    deadline = time.monotonic() + timeout
    while not lh.storage.list("_meta/manifests/raw/"):
        assert time.monotonic() < deadline, "no batch landed in raw"
        time.sleep(0.05)


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "releves" / "releves.csv"
    path.parent.mkdir()
    broken = write_csv(path, ROWS)
    return path, broken


def test_ingestion_survives_s3_restart(private_s3, csv_file, tmp_path):
    path, broken = csv_file
    env = private_s3.env(tmp_path / "data")
    lh, watcher = Lakehouse.from_env(env), Lakehouse.from_env(env)
    lh.storage.check()
    audit = AuditLog(lh)
    audit.append("ingestion", "test", {"file": str(path), "step": "start"})
    fault = {}

    def kill_and_restart():
        _wait_first_batch(watcher)
        private_s3.kill()
        fault["killed_at"] = time.monotonic()
        time.sleep(OUTAGE_S)
        fault["restart_s"] = private_s3.start()
        fault["up_at"] = time.monotonic()

    thread = threading.Thread(target=kill_and_restart)
    thread.start()
    run = ingest_path(lh, "fichiers", path)
    done_at = time.monotonic()
    thread.join()

    assert "killed_at" in fault and fault["killed_at"] < done_at, "the server was not killed during the ingestion"
    assert lh.storage.retries >= 1, "the outage was not met"
    counts = run.report.datasets["fichiers.releves"]
    assert (counts.rows_in, counts.rows_raw, counts.rows_quarantined) == (ROWS, ROWS - broken, broken)
    lake = held(lh, "fichiers", "releves")
    assert (lake.raw, lake.quarantine, lake.raw_ids, lake.orphans) == (ROWS - broken, broken, ROWS - broken, [])
    audit.append("ingestion", "test", {"file": str(path), "step": "end", "rows": counts.rows_in})
    result = audit.verify()
    assert result.ok and result.records == 2, result.reason
    print(
        f"\nS3 tué {OUTAGE_S:.0f} s pendant l'ingestion : {lh.storage.retries} nouvel(s) essai(s), "
        f"reprise {done_at - fault['up_at']:.1f} s après le redémarrage ({fault['restart_s']:.1f} s) ; "
        f"{ROWS} lignes = {lake.raw} raw + {lake.quarantine} quarantaine"
    )


def test_ingestion_fails_clearly_then_rerun_resumes(private_s3, csv_file, tmp_path):
    path, broken = csv_file
    env = private_s3.env(tmp_path / "data", HYPERVISEUR_S3_RETRY_S="2")
    lh = Lakehouse.from_env(private_s3.env(tmp_path / "data"))  # the test's own view: default retries
    audit = AuditLog(lh)
    audit.append("ingestion", "test", {"file": str(path), "step": "start"})
    cmd = [str(HYPERVISEUR), "ingest", "fichiers", str(path)]
    proc = subprocess.Popen(cmd, env=dict(os.environ, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_first_batch(lh)
    private_s3.kill()
    t_kill = time.monotonic()
    out, err = proc.communicate(timeout=120)
    failed_after = time.monotonic() - t_kill
    assert proc.returncode == 1, out + err
    assert f"serveur S3 injoignable à {private_s3.endpoint}" in err, err
    assert "abandon après" in err and "HYPERVISEUR_S3_RETRY_S=2" in err, err
    assert "Traceback" not in err

    private_s3.start()
    partial = held(lh, "fichiers", "releves")  # what the failed run left (its rollback needs S3 too)
    assert partial.raw < ROWS - broken
    lake = rerun_completes(lh, audit, cmd, env, path, ROWS, broken)
    print(
        f"\nS3 arrêté : échec clair après {failed_after:.1f} s ; {partial.raw} lignes laissées en raw ; "
        f"la reprise complète sans doublon : {lake.raw} raw + {lake.quarantine} quarantaine = {ROWS}"
    )
