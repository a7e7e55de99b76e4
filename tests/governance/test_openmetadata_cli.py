"""OpenMetadata payloads validated by openmetadata-ingestion's models; the steward CLI end to end."""

import json

from click.testing import CliRunner

from governance.classify import scan_dataset
from governance.openmetadata import OM_VENV_PYTHON, build_payloads, validate_payloads, write_payloads
from orchestration.cli import cli


def test_payloads_validate_with_openmetadata_models(gov_lake, tmp_path):
    scan_dataset(gov_lake, "mart_citizen_reports")
    scan_dataset(gov_lake, "mart_citizen_reports_daily")
    payloads = build_payloads(gov_lake)
    table = next(t for t in payloads["tables"] if t["name"] == "mart_citizen_reports")
    email = next(c for c in table["columns"] if c["name"] == "reporter_email")
    assert {t["tagFQN"] for t in email["tags"]} == {"PII.Sensitive", "PersonalData.Email"}
    assert any(
        e["edge"]["toEntity"]["fullyQualifiedName"].endswith("mart_citizen_reports_daily") for e in payloads["lineage"]
    )
    assert OM_VENV_PYTHON.is_file(), (
        "venv OpenMetadata absent : python3 -m venv .venv-om && .venv-om/bin/pip install "
        "openmetadata-ingestion==2.0.7.0 'dbt-core>=1.10,<1.12'"
    )
    counts = validate_payloads(write_payloads(payloads, tmp_path / "om"))
    assert counts["tables"] == len(payloads["tables"]) >= 2 and counts["tags"] > 10
    payloads["tables"][0]["columns"][0]["dataType"] = "NOT_A_TYPE"
    import pytest

    from lakehouse.errors import LakehouseError

    with pytest.raises(LakehouseError, match="invalides"):
        validate_payloads(write_payloads(payloads, tmp_path / "bad"))


def test_steward_cli_workflow(gov_env, tmp_path, monkeypatch):
    for k, v in gov_env.items():
        monkeypatch.setenv(k, v)
    from lakehouse.platform import Lakehouse
    from tests.governance.conftest import write_marts

    write_marts(Lakehouse.from_env(gov_env), reports_rows=80)
    run = CliRunner().invoke
    r = run(cli, ["govern", "scan", "mart_citizen_reports", "mart_air_quality_hourly", "--par", "marie"])
    assert r.exit_code == 0, r.output
    assert "niveau proposé CONFIDENTIEL" in r.output
    r = run(cli, ["govern", "review"])
    assert r.exit_code == 0 and "Revues en attente" in r.output
    r = run(cli, ["govern", "accept", "mart_citizen_reports", "--par", "marie"])
    assert r.exit_code == 0, r.output
    assert "Aucune revue" in run(cli, ["govern", "review", "mart_citizen_reports"]).output
    r = run(cli, ["govern", "override", "mart_citizen_reports", "address", "--etiquettes", "", "--par", "marie"])
    assert r.exit_code == 1 and "motif" in r.output
    r = run(
        cli,
        ["govern", "approve-publication", "mart_air_quality_hourly", "--par", "marie", "--motif", "mesures publiques"],
    )
    assert r.exit_code == 0, r.output
    r = run(cli, ["govern", "show", "mart_air_quality_hourly"])
    assert "open data : autorisé" in r.output
    r = run(cli, ["govern", "show", "mart_citizen_reports", "--json"])
    state = json.loads(r.output)
    assert state["level"] == "CONFIDENTIEL" and state["columns"]["reporter_email"]["decision"]["by"] == "marie"
    assert "PersonalData.Phone" in state["columns"]["reporter_phone"]["tags"]
    out = tmp_path / "catalogue.html"
    assert run(cli, ["govern", "catalog", "--sortie", str(out)]).exit_code == 0
    html = out.read_text()
    assert (
        "Catalogue des données" in html
        and "reporter_email" in html
        and "EMAIL_ADDRESS" in html
        and "accept par marie" in html
    )
    assert run(cli, ["govern", "serve"]).exit_code == 0
    r = run(cli, ["govern", "sync-openmetadata", "--sortie", str(tmp_path / "om")])
    assert r.exit_code == 0 and (tmp_path / "om" / "tables.json").is_file()
    assert run(cli, ["audit", "verify"]).exit_code == 0
    rec = sorted((tmp_path / "data" / "lake" / "_meta" / "audit" / "records").glob("*.json"))[1]
    rec.write_text(rec.read_text().replace("marie", "paul"))
    r = run(cli, ["audit", "verify"])
    assert r.exit_code == 2 and "enregistrement 1" in r.output
