"""`hyperviseur opendata publish` reads the dbt manifest and says, in French, what it refused and why."""

from __future__ import annotations

import json

from click.testing import CliRunner

from orchestration.cli.opendata import opendata
from tests.opendata.conftest import (
    air_table,
    approve,
    classify,
    dbt_manifest,
    opendata_meta,
    put_mart,
    quality,
    ready,
    reports_table,
)


def test_publish_command_reports_published_and_refused(local_lakehouse, tmp_path, monkeypatch, portal_env):
    lh = local_lakehouse
    lh.storage.check()
    ready(lh, "od_air_hourly", air_table(24))
    reports = reports_table()
    put_mart(lh, "od_reports", reports)
    classify(lh, "od_reports", reports, {"reporter_email": ["PII.Sensitive", "PersonalData.Email"]})
    approve(lh, "od_reports")
    quality(lh, "od_reports")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            dbt_manifest(
                {
                    "od_air_hourly": (opendata_meta("Qualité de l'air horaire"), {}),
                    "od_reports": (opendata_meta("Signalements"), {}),
                },
                project="une_autre_collectivite",
            )
        )
    )
    monkeypatch.setenv("HYPERVISEUR_DATA_DIR", str(lh.settings.data_dir))
    monkeypatch.setenv("HYPERVISEUR_DBT_MANIFEST", str(manifest))
    monkeypatch.setenv("COLUMNS", "200")

    result = CliRunner().invoke(opendata, ["publish"])

    assert result.exit_code == 0, result.output
    assert "od_air_hourly" in result.output and "publié" in result.output
    assert "od_reports" in result.output and "refusé" in result.output and "reporter_email" in result.output
    assert "1 jeu(x) de données en ligne" in result.output


def test_missing_manifest_is_a_clear_french_error(local_lakehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("HYPERVISEUR_DATA_DIR", str(local_lakehouse.settings.data_dir))
    monkeypatch.setenv("HYPERVISEUR_DBT_MANIFEST", str(tmp_path / "absent.json"))
    result = CliRunner().invoke(opendata, ["publish"])
    assert result.exit_code == 1
    assert "manifeste dbt introuvable" in result.output and "absent.json" in result.output
