"""A raw Parquet object is truncated in the lake (disk or copy fault), on both backends.

Readers name the file: the lake's reader in French, DuckDB (what dbt's staging models use)
with the object's path. ``Lake.check_batches`` finds it from the manifest's checksum,
``hyperviseur lake verifier`` reports it (exit code 1) and, with ``--isoler``, moves it aside
(``Lake.isolate``, audited) so the dataset is readable again; re-ingesting the source file
restores the batch: no row lost, none twice, audit chain intact.
"""

from __future__ import annotations

import duckdb
import pytest
from click.testing import CliRunner
from lake_counts import held, write_csv

from ingestion.sources.runner import ingest_path
from lakehouse.audit import AuditLog
from lakehouse.duck import connect
from lakehouse.errors import LakehouseError
from lakehouse.lake import Zone
from orchestration.cli import cli
from tests.lake_env import lake_env

ROWS = 120_000  # three reader chunks


def _count(lh) -> int:
    con = connect(lh.settings)
    try:
        glob = lh.lake.dataset_glob(Zone.RAW, "fichiers", "releves")
        return con.execute(f"SELECT count(*) FROM read_parquet('{glob}')").fetchone()[0]
    finally:
        con.close()


def test_corrupt_raw_object_is_named_isolated_and_restored(lakehouse, tmp_path):
    lh = lakehouse
    path = tmp_path / "releves" / "releves.csv"
    path.parent.mkdir()
    broken = write_csv(path, ROWS)
    ingest_path(lh, "fichiers", path)
    audit = AuditLog(lh)
    audit.append("ingestion", "test", {"file": str(path)})
    victim = sorted(m.key for m in lh.lake.manifests(Zone.RAW, "fichiers", "releves"))[1]
    data = lh.storage.read_bytes(victim)
    lh.storage.write_bytes(victim, data[: len(data) // 2])

    with pytest.raises(LakehouseError, match="fichier Parquet illisible") as err:
        lh.lake.read_table(victim)
    assert lh.storage.uri(victim) in str(err.value)
    with pytest.raises(duckdb.Error) as err:
        _count(lh)
    assert victim.rsplit("/", 1)[1] in str(err.value)
    bad = lh.lake.check_batches(Zone.RAW, "fichiers", "releves")
    assert list(bad) == [victim] and "contenu altéré" in bad[victim]

    report = CliRunner().invoke(cli, ["lake", "verifier"], env=lake_env(lh))
    assert report.exit_code == 1 and victim in report.output and "1 lot(s) défectueux" in report.output
    fixed = CliRunner().invoke(cli, ["lake", "verifier", "--isoler", "--par", "test"], env=lake_env(lh))
    assert fixed.exit_code == 0, fixed.output
    moved = f"_meta/corrupt/{victim}"
    assert lh.storage.read_bytes(moved) == data[: len(data) // 2]
    assert lh.lake.read_json(moved + ".json")["reason"] == bad[victim]
    remaining = _count(lh)
    assert 0 < remaining < ROWS - broken

    run = ingest_path(lh, "fichiers", path)
    counts = run.report.datasets["fichiers.releves"]
    assert counts.rows_raw == ROWS - broken - remaining and run.balanced
    lake = held(lh, "fichiers", "releves")
    assert (lake.raw, lake.quarantine, lake.raw_ids, lake.orphans) == (ROWS - broken, broken, ROWS - broken, [])
    assert _count(lh) == ROWS - broken
    assert not lh.lake.check_batches(Zone.RAW, "fichiers", "releves")
    result = audit.verify()
    assert result.ok and result.records == 2, result.reason
    assert audit.records()[-1]["event_type"] == "lake.batch_isolated"
