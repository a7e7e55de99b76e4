"""The decrypted citizen reports are incremental by raw file: a run decrypts the files that are new
or were rewritten, drops the rows of files removed, leaves no copy of decrypted rows behind, and
a full refresh decrypts every file again. On a real local lake, dbt started through the
platform's launcher as Dagster does."""

from __future__ import annotations

import os
from contextlib import contextmanager

import duckdb
import pyarrow as pa
import pytest

from ingestion.datasets import CITIZEN_REPORTS
from ingestion.demo.simulator import simulate
from lakehouse.encryption import raw_encryption, read_encrypted, write_encrypted
from lakehouse.lake import BATCH_ID_COLUMN, INGESTED_AT_COLUMN, SOURCE_COLUMN, Zone
from lakehouse.platform import Lakehouse
from tests.models.demo_build import dbt_build_partitions, lake_before_its_last_day

DEMO = {"days": 5, "scale": 0.1, "seed": 7}
PREFIX = "raw/citizen/reports/"
MODEL = "stg_citizen__reports_decrypted"


def _run(lake, mode="auto"):
    proc = dbt_build_partitions(lake["env"], lake["work"], mode, "--select", "+stg_citizen__reports")
    assert proc.returncode == 0, (proc.stderr[-2000:], proc.stdout[-4000:])
    return proc


def _warehouse(lh: Lakehouse):
    return duckdb.connect(str(lh.settings.warehouse_db), read_only=True)


def _decrypted(lh: Lakehouse) -> list[tuple]:
    with _warehouse(lh) as con:
        return con.execute(f"select * from staging.{MODEL} order by _raw_file, report_id, _ingested_at").fetchall()


def _by_file(lh: Lakehouse) -> dict[str, list[dict]]:
    with _warehouse(lh) as con:
        rows = con.execute(f"select * from staging.{MODEL}").to_arrow_table().to_pylist()
    out: dict[str, list[dict]] = {}
    for row in sorted(rows, key=lambda r: (r["report_id"], r["_ingested_at"])):
        out.setdefault(row["_raw_file"], []).append(row)
    return out


def _copies(lh: Lakehouse) -> list[tuple]:
    """The warehouse's tables named after the model: the model and any copy left beside it."""
    with _warehouse(lh) as con:
        return con.execute(
            "select table_schema, table_name from information_schema.tables where table_name like ?", [f"{MODEL}%"]
        ).fetchall()


def _raw_files(lh: Lakehouse) -> list[str]:
    return sorted(o.key for o in lh.storage.list(PREFIX) if o.key.endswith(".parquet"))


@contextmanager
def _disguised(lh: Lakehouse, key: str, description: str):
    """The raw file ``key`` rewritten with every description changed and given back its
    modification time (a file the platform takes as unchanged), restored the same way after."""
    original = lh.storage.read_bytes(key)
    path = lh.storage.uri(key)
    stat = os.stat(path)
    table = read_encrypted(lh, key)
    table = table.set_column(
        table.schema.get_field_index("description"), "description", pa.array([description] * table.num_rows)
    )
    write_encrypted(lh, key, table, list(CITIZEN_REPORTS.encrypted_columns))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    try:
        yield
    finally:
        lh.storage.write_bytes(key, original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    lake = lake_before_its_last_day(tmp_path_factory.mktemp("decrypted"), DEMO)
    _run(lake)
    return lake


def test_first_build_decrypts_every_raw_file(lake):
    lh = lake["lh"]
    by_file = _by_file(lh)
    assert sorted(by_file) == [lh.storage.uri(k) for k in _raw_files(lh)]
    rows = [r for rows in by_file.values() for r in rows]
    assert any(r["reporter_name"] for r in rows) and any(r["description"] for r in rows)  # personal columns in clear


def test_a_new_day_decrypts_only_its_files(lake):
    lh = lake["lh"]
    before = _by_file(lh)
    oldest = _raw_files(lh)[0]
    with _disguised(lh, oldest, "relu"):
        simulate(lh, files=False, periods=[(int(lake["last_day"].timestamp()), lake["model"].end)], **DEMO)
        _run(lake)
        after = _by_file(lh)
    new = sorted(set(after) - set(before))
    assert new and all(lh.storage.uri(k) in after for k in _raw_files(lh))
    assert all(after[f] == before[f] for f in before)  # the files already decrypted were not read again
    assert not any(r["description"] == "relu" for r in after[lh.storage.uri(oldest)])


def test_a_rewritten_batch_is_read_again_and_a_removed_one_leaves(lake):
    lh = lake["lh"]
    rewritten, removed = _raw_files(lh)[1:3]
    table = read_encrypted(lh, rewritten)
    batch_id = table[BATCH_ID_COLUMN][0].as_py()
    table = table.drop_columns([BATCH_ID_COLUMN, INGESTED_AT_COLUMN, SOURCE_COLUMN])
    table = table.set_column(
        table.schema.get_field_index("status"), "status", pa.array(["closed"] * table.num_rows)
    ).set_column(table.schema.get_field_index("description"), "description", pa.array(["réécrit"] * table.num_rows))
    encryption = raw_encryption(lh.settings, CITIZEN_REPORTS.encrypted_columns)
    manifest = lh.lake.write_batch(
        Zone.RAW, "citizen", "reports", table, origin="test/relivraison", batch_id=batch_id, encryption=encryption
    )
    assert manifest.key == rewritten  # a retried batch is rewritten in place
    lh.storage.delete(removed)
    _run(lake)

    by_file = _by_file(lh)
    assert lh.storage.uri(removed) not in by_file
    rows = by_file[lh.storage.uri(rewritten)]
    assert len(rows) == table.num_rows
    assert {(r["status"], r["description"]) for r in rows} == {("closed", "réécrit")}
    with _warehouse(lh) as con:  # the latest state of the reports known from that file alone follows
        statuses = con.execute(
            f"select distinct status from staging.stg_citizen__reports where report_id in (select report_id "
            f"from staging.{MODEL} group by report_id having bool_and(_raw_file = ?))",
            [lh.storage.uri(rewritten)],
        ).fetchall()
    assert statuses == [("closed",)]


def test_no_copy_of_decrypted_rows_is_left_in_the_warehouse(lake):
    lh = lake["lh"]
    assert _copies(lh) == [("staging", MODEL)]  # after incremental runs
    with duckdb.connect(str(lh.settings.warehouse_db)) as con:  # as a run failing after its new rows would leave them
        con.execute(f"create table staging.{MODEL}__dbt_new_rows as select * from staging.{MODEL}")
    _run(lake)
    assert _copies(lh) == [("staging", MODEL)]


def test_full_refresh_decrypts_every_file_again_and_gives_the_same_table(lake):
    lh = lake["lh"]
    incremental = _decrypted(lh)
    oldest = _raw_files(lh)[0]
    with _disguised(lh, oldest, "relu"):
        proc = _run(lake, "complet")
        assert "reconstruction complète (demandée)" in proc.stderr
        reread = _by_file(lh)[lh.storage.uri(oldest)]
    assert reread and all(r["description"] == "relu" for r in reread)  # read again, unlike an incremental run
    _run(lake, "complet")
    assert _decrypted(lh) == incremental
    assert _copies(lh) == [("staging", MODEL)]  # and after full refreshes


def test_a_table_built_before_the_model_was_incremental_is_rebuilt_on_the_next_run(lake):
    lh = lake["lh"]
    expected = _decrypted(lh)
    with duckdb.connect(str(lh.settings.warehouse_db)) as con:  # the table as the previous version left it
        con.execute(
            f"create or replace table staging.{MODEL} as "
            f"select * exclude (_raw_file, _raw_file_modified) from staging.{MODEL}"
        )
    _run(lake)
    assert _decrypted(lh) == expected
