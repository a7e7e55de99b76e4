"""Raw citizen reports are written with their personal columns encrypted; the platform still reads them.
Without the key file the write is refused: never in clear, no key created implicitly."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from cryptography.exceptions import InvalidTag

from governance.classify import read_sample
from ingestion.datasets import CANONICAL, CITIZEN_REPORTS
from ingestion.pipeline import IngestReport, register, write_chunk
from lakehouse.encryption import KEY_FILE_ENV, create_key_file, ensure_key_file, read_parquet_blobs
from lakehouse.errors import LakehouseError, SettingsError
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


def test_raw_batch_encrypted_on_disk_and_read_only_with_the_key(lakehouse, tmp_path):
    keys = create_key_file(lakehouse.settings.kms_key_file)  # the settings' key file (default <data>/keys/kms.json)
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

    decrypted = read_parquet_blobs([(key, blob)], columns=["report_id", *PERSONAL], settings=lakehouse.settings)
    assert decrypted.to_pylist() == table.select(["report_id", *PERSONAL]).to_pylist()
    _, sample, total = read_sample(lakehouse, "citizen.reports", 15)
    assert total == 40 and sample.num_rows == 15
    by_id = {r["report_id"]: r for r in table.to_pylist()}
    assert all(r["reporter_phone"] == by_id[r["report_id"]]["reporter_phone"] for r in sample.to_pylist())

    keys.rename(tmp_path / "moved-kms.json")
    with pytest.raises(LakehouseError, match="lecture refusée"):
        read_parquet_blobs([(key, blob)], columns=["reporter_phone"], settings=lakehouse.settings)
    assert read_parquet_blobs([(key, blob)], columns=["report_id"], settings=lakehouse.settings).num_rows == 40
    other = create_key_file(tmp_path / "secrets" / "other.json")
    with pytest.raises(InvalidTag):  # wrong key: authenticated decryption fails
        read_parquet_blobs([(key, blob)], columns=["reporter_phone"], key_file=other)
    _, sample, _ = read_sample(lakehouse, "citizen.reports", 15)
    assert not set(PERSONAL) & set(sample.column_names)  # without the key: not analysed, no crash


def test_without_key_file_raw_write_is_refused_and_no_key_is_created(local_lakehouse):
    lh = local_lakehouse
    with pytest.raises(SettingsError, match=KEY_FILE_ENV) as err:
        ingest(lh, canonical_reports(5))
    assert err.value.variable == KEY_FILE_ENV and "jamais écrites en clair" in str(err.value)
    assert not lh.storage.list("raw/") and not lh.storage.list("quarantine/")  # nothing written, not even rejects
    assert not lh.settings.kms_key_file.exists()  # and no key created behind the operator's back

    path = ensure_key_file(lh.settings)  # explicit creation (what `hyperviseur run` does for the demo)
    assert path == lh.settings.data_dir / "keys" / "kms.json" and path.stat().st_mode & 0o077 == 0
    assert lh.settings.lake_dir not in path.parents and ensure_key_file(lh.settings) == path
    table = canonical_reports(12).set_column(0, "report_id", pa.array([f"E{i:03d}" for i in range(12)]))
    key = ingest(lh, table)
    assert table.column("reporter_phone")[0].as_py().encode() not in lh.storage.read_bytes(key)
    _, sample, total = read_sample(lh, "citizen.reports", 100)
    assert total == sample.num_rows == 12 and sample.column("reporter_phone").null_count == 0


def test_key_file_named_by_the_setting(tmp_path):
    from lakehouse.platform import Lakehouse

    keys = create_key_file(tmp_path / "secrets" / "kms.json")
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "data"), KEY_FILE_ENV: str(keys)})
    assert lh.settings.kms_key_file == keys.resolve()
    key = ingest(lh, canonical_reports(3))
    assert read_parquet_blobs([(key, lh.storage.read_bytes(key))], columns=PERSONAL, key_file=keys).num_rows == 3
    missing = Lakehouse.from_env(
        {"HYPERVISEUR_DATA_DIR": str(tmp_path / "data"), KEY_FILE_ENV: str(tmp_path / "absent.json")}
    )
    with pytest.raises(SettingsError, match="absent.json"):
        ingest(missing, canonical_reports(3))


def test_marts_build_from_encrypted_raw(tmp_path):
    from lakehouse.platform import Lakehouse
    from tests.models.demo_build import dbt_build

    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")})
    create_key_file(lh.settings.kms_key_file)
    table = canonical_reports(30)
    key = ingest(lh, table)
    assert table.column("reporter_phone")[0].as_py().encode() not in lh.storage.read_bytes(key)
    proc = dbt_build(lh, tmp_path, "--select", "+mart_citizen_reports", "--exclude", "test_name:relationships")
    assert proc.returncode == 0, proc.stdout[-3000:]
    con = duckdb.connect()
    mart = con.execute(
        f"SELECT report_id, reporter_phone, description FROM read_parquet('{lh.storage.uri('curated/mart_citizen_reports/data.parquet')}')"
    ).fetchall()
    assert sorted(mart) == sorted(
        zip(*(table.column(c).to_pylist() for c in ("report_id", "reporter_phone", "description")))
    )
