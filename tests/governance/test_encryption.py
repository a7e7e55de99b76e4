"""Parquet modular encryption of a citizen-reports batch, keys outside the lake."""

import pytest
from cryptography.exceptions import InvalidTag

from lakehouse.encryption import create_key_file, read_encrypted, write_encrypted
from lakehouse.errors import LakehouseError, SettingsError
from tests.governance.conftest import citizen_reports

SENSITIVE = ["reporter_name", "reporter_phone", "reporter_email", "description", "address"]


def test_encrypted_batch_roundtrip_and_denial(lakehouse, tmp_path):
    keys = create_key_file(tmp_path / "secrets" / "kms.json")
    table = citizen_reports(50)
    key = "raw/citizen/reports/ingest_date=2026-03-01/batch.parquet"
    write_encrypted(lakehouse, key, table, SENSITIVE, key_file=keys)
    blob = lakehouse.storage.read_bytes(key)
    assert table.column("reporter_email")[0].as_py().encode() not in blob
    assert read_encrypted(lakehouse, key, key_file=keys).equals(table)
    # The settings' key file (HYPERVISEUR_KMS_KEY_FILE, here its default <data dir>/keys/kms.json)
    configured = lakehouse.settings.kms_key_file
    configured.parent.mkdir(parents=True, exist_ok=True)
    configured.write_bytes(keys.read_bytes())
    assert read_encrypted(lakehouse, key).column("reporter_email").equals(table.column("reporter_email"))
    configured.unlink()
    assert read_encrypted(lakehouse, key, columns=["report_id", "district_id"]).num_rows == 50
    with pytest.raises(LakehouseError, match="lecture refusée"):
        read_encrypted(lakehouse, key)
    other = create_key_file(tmp_path / "secrets" / "other.json")
    with pytest.raises(InvalidTag):  # wrong key: authenticated decryption fails
        read_encrypted(lakehouse, key, key_file=other)


def test_key_file_inside_lake_refused(local_lakehouse):
    keys = create_key_file(local_lakehouse.settings.lake_dir / "kms.json")
    with pytest.raises(SettingsError, match="ne doit pas être dans le lac"):
        write_encrypted(local_lakehouse, "raw/x/y/a.parquet", citizen_reports(3), ["reporter_name"], key_file=keys)
