"""Raw citizen reports are written with their personal columns encrypted; the platform still reads them."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from governance.classify import read_sample
from ingestion.datasets import CANONICAL, CITIZEN_REPORTS
from lakehouse.encryption import KEY_FILE_ENV, create_key_file, ensure_key_file, read_parquet_blobs
from ingestion.pipeline import IngestReport, register, write_chunk
from lakehouse.errors import LakehouseError
from tests.governance.conftest import citizen_reports

SPEC = CANONICAL["citizen.reports"]
PERSONAL = list(CITIZEN_REPORTS.encrypted_columns)


def canonical_reports(n: int = 40) -> pa.Table:
    t = citizen_reports(n).drop(["service"])
    for name in ("updated_at", "closed_at"):
        t = t.append_column(name, pa.nulls(n, pa.timestamp("us", tz="UTC")))
    for name in ("subcategory", "source_tz"):
        t = t.append_column(name, pa.nulls(n, pa.string()))
    return t


def ingest(lh, table: pa.Table) -> str:
    report = IngestReport(origin="test")
    register(lh, SPEC)  # as every ingestion path does: the registry records the encrypted columns
    write_chunk(lh, SPEC, table, "test/reports", report)
    counts = report.datasets[SPEC.qualified_name]
    assert counts.balanced and counts.rows_raw == table.num_rows
    return counts.raw_keys[0]


def duck(lh):
    return duckdb.connect() if lh.settings.s3 is None else lh.duckdb()


def test_raw_batch_encrypted_on_disk_and_read_only_with_the_key(lakehouse, tmp_path, monkeypatch):
    keys = create_key_file(tmp_path / "secrets" / "kms.json")
    monkeypatch.setenv(KEY_FILE_ENV, str(keys))
    table = canonical_reports()
    key = ingest(lakehouse, table)
    blob = lakehouse.storage.read_bytes(key)
    for phone in table.column("reporter_phone").to_pylist()[:10]:
        assert phone.encode() not in blob
    assert table.column("reporter_email")[0].as_py().encode() not in blob
    assert table.column("report_id")[0].as_py().encode() in blob  # clear columns stay clear

    con = duck(lakehouse)
    uri = lakehouse.storage.uri(key)
    assert con.execute(f"SELECT count(DISTINCT district_id), count(*) FROM read_parquet('{uri}')").fetchone()[1] == 40
    with pytest.raises(duckdb.Error):
        con.execute(f"SELECT reporter_phone FROM read_parquet('{uri}')").fetchall()
    con.close()

    decrypted = read_parquet_blobs([(key, blob)], columns=["report_id", *PERSONAL])
    assert decrypted.to_pylist() == table.select(["report_id", *PERSONAL]).to_pylist()
    _, sample, total = read_sample(lakehouse, "citizen.reports", 15)
    assert total == 40 and sample.num_rows == 15
    by_id = {r["report_id"]: r for r in table.to_pylist()}
    assert all(r["reporter_phone"] == by_id[r["report_id"]]["reporter_phone"] for r in sample.to_pylist())

    monkeypatch.delenv(KEY_FILE_ENV)
    with pytest.raises(LakehouseError, match="lecture refusée"):
        read_parquet_blobs([(key, blob)], columns=["reporter_phone"])
    assert read_parquet_blobs([(key, blob)], columns=["report_id"]).num_rows == 40
    other = create_key_file(tmp_path / "secrets" / "other.json")
    with pytest.raises(Exception):
        read_parquet_blobs([(key, blob)], columns=["reporter_phone"], key_file=other)
    _, sample, _ = read_sample(lakehouse, "citizen.reports", 15)
    assert not set(PERSONAL) & set(sample.column_names)  # without the key: not analysed, no crash


def test_default_key_file_turns_encryption_on(local_lakehouse, monkeypatch):
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    lh = local_lakehouse
    clear = canonical_reports(5)
    key = ingest(lh, clear)  # no key file yet: raw stays in clear
    assert clear.column("reporter_phone")[0].as_py().encode() in lh.storage.read_bytes(key)

    path = ensure_key_file(lh.settings)
    assert path == lh.settings.data_dir / "keys" / "kms.json" and path.stat().st_mode & 0o077 == 0
    assert lh.settings.lake_dir not in path.parents and ensure_key_file(lh.settings) == path
    table = canonical_reports(12).set_column(0, "report_id", pa.array([f"E{i:03d}" for i in range(12)]))
    key = ingest(lh, table)
    assert table.column("reporter_phone")[0].as_py().encode() not in lh.storage.read_bytes(key)
    _, sample, total = read_sample(lh, "citizen.reports", 100)  # clear and encrypted batches together
    assert total == sample.num_rows == 17 and sample.column("reporter_phone").null_count == 0


def test_marts_build_from_encrypted_raw(tmp_path, monkeypatch):
    from lakehouse.platform import Lakehouse
    from tests.models.demo_build import dbt_build

    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")})
    monkeypatch.setenv(KEY_FILE_ENV, str(create_key_file(tmp_path / "data" / "keys" / "kms.json")))
    table = canonical_reports(30)
    key = ingest(lh, table)
    assert table.column("reporter_phone")[0].as_py().encode() not in lh.storage.read_bytes(key)
    proc = dbt_build(lh, tmp_path, "--select", "+mart_citizen_reports", "--exclude", "test_name:relationships")
    assert proc.returncode == 0, proc.stdout[-3000:]
    con = duckdb.connect()
    mart = con.execute(f"SELECT report_id, reporter_phone, description FROM read_parquet('{lh.storage.uri('curated/mart_citizen_reports/data.parquet')}')").fetchall()
    assert sorted(mart) == sorted(zip(*(table.column(c).to_pylist() for c in ("report_id", "reporter_phone", "description"))))
