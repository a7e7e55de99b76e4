"""``hyperviseur govern`` and the workspace share one code path (governance.decisions); on the
command line the audit record's actor is the system account, the ``--par`` name a detail."""

from __future__ import annotations

import getpass
import json

from click.testing import CliRunner
from workspace_fixtures import manifest

from governance import proposals
from lakehouse.audit import AuditLog, ensure_audit_key
from lakehouse.platform import Lakehouse
from orchestration.cli import cli


def test_cli_decisions_are_audited_under_the_system_account(tmp_path, monkeypatch):
    (tmp_path / "manifest.json").write_text(json.dumps(manifest()))
    env = {"HYPERVISEUR_DATA_DIR": str(tmp_path / "data"), "HYPERVISEUR_DBT_MANIFEST": str(tmp_path / "manifest.json")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    lh = Lakehouse.from_env(env)
    ensure_audit_key(lh.settings)
    evidence = {"sample_size": 10, "entities": {"EMAIL_ADDRESS": {"hit_rate": 1.0, "mean_score": 1.0}}}
    proposals.save(
        lh,
        {
            "dataset": "mart_citizen_reports",
            "scanned_at": "2026-03-01T08:00:00+00:00",
            "level": "CONFIDENTIEL",
            "columns": {
                "reporter_email": {"type": "string", "kind": "text", "tags": ["PII.Sensitive"], "evidence": evidence}
            },
        },
    )
    run = CliRunner().invoke
    r = run(cli, ["govern", "accept", "mart_citizen_reports", "--par", "Marie Curie"])
    assert r.exit_code == 0 and "reporter_email : accepté PII.Sensitive" in r.output, r.output
    r = run(cli, ["govern", "declassify", "mart_citizen_reports", "--niveau", "INTERNE", "--par", "marie"])
    assert r.exit_code == 1 and "motif" in r.output
    [record] = [r for r in AuditLog(lh).records() if r["event_type"] == "classification.decision"]
    assert record["actor"] == getpass.getuser()
    assert record["payload"]["by"] == "Marie Curie"
    assert record["payload"]["identity"] == {"sub": getpass.getuser(), "interface": "ligne de commande"}
    assert record["payload"]["evidence"]["entities"] == {"EMAIL_ADDRESS": 1.0}
