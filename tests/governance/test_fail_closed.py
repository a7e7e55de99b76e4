"""Fail closed: no raw write of personal columns without the key file, no lineage without dbt's manifest."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from governance.lineage import MANIFEST_ENV, load_lineage
from lakehouse.encryption import KEY_FILE_ENV, create_key_file
from lakehouse.errors import SettingsError
from lakehouse.platform import Lakehouse

OPEN311 = "standards/open311_georeport_v2/spec_examples_extracted"


def _ingest(fixtures_dir):
    from orchestration.cli import cli

    return CliRunner().invoke(cli, ["ingest", "open311", str(fixtures_dir / OPEN311)])


def test_cli_ingest_of_citizen_reports_refused_without_key_file(clean_env, fixtures_dir, tmp_path):
    clean_env.chdir(tmp_path)  # no .env of the checkout
    clean_env.setenv("HYPERVISEUR_DATA_DIR", str(tmp_path / "data"))
    result = _ingest(fixtures_dir)
    assert result.exit_code != 0
    assert KEY_FILE_ENV in result.output and "jamais écrites en clair" in " ".join(result.output.split())
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")})
    assert not lh.storage.list("raw/citizen/")
    assert not (tmp_path / "data" / "keys" / "kms.json").exists()  # no key created implicitly


def test_cli_ingest_with_the_configured_key_file(clean_env, fixtures_dir, tmp_path):
    keys = create_key_file(tmp_path / "secrets" / "kms.json")
    clean_env.chdir(tmp_path)  # no .env of the checkout
    clean_env.setenv("HYPERVISEUR_DATA_DIR", str(tmp_path / "data"))
    clean_env.setenv(KEY_FILE_ENV, str(keys))
    result = _ingest(fixtures_dir)
    assert result.exit_code == 0, result.output
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")})
    assert lh.storage.list("raw/citizen/reports/")


def test_lineage_without_manifest_is_an_error(tmp_path):
    absent = tmp_path / "target" / "manifest.json"
    with pytest.raises(SettingsError, match="manifeste dbt introuvable") as err:
        load_lineage(env={MANIFEST_ENV: str(absent)})
    assert err.value.variable == MANIFEST_ENV and str(absent) in str(err.value)
    with pytest.raises(SettingsError):
        load_lineage(absent)
