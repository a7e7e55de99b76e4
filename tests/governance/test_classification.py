"""Column scan, re-scan, steward decisions, lineage propagation and the export guard."""

import pyarrow as pa
import yaml

from governance import proposals
from governance.classify import scan_dataset
from governance.decisions import DecisionStore
from governance.export_guard import refusal_reasons
from governance.scan import ScanConfig, scan_table
from governance.state import Classifier
from lakehouse.audit import AuditLog
from tests.governance.conftest import citizen_reports


def test_citizen_reports_columns_tagged_with_evidence(gov_lake):
    p = scan_dataset(gov_lake, "mart_citizen_reports")
    cols = p["columns"]
    assert "PersonalData.Person" in cols["reporter_name"]["tags"]
    assert "PersonalData.Phone" in cols["reporter_phone"]["tags"]
    assert cols["reporter_email"]["tags"] == ["PII.Sensitive", "PersonalData.Email"]
    assert "PersonalData.Address" in cols["address"]["tags"]
    assert cols["description"]["kind"] == "free_text"
    assert {"PersonalData.FreeText", "PersonalData.Person"} <= set(cols["description"]["tags"])
    for name in ("report_id", "district_id", "lat", "lon", "created_at", "category", "channel", "status"):
        assert not cols[name]["tags"], name
    assert cols["lat"]["kind"] == "skipped" and cols["created_at"]["kind"] == "skipped"
    ev = cols["reporter_email"]["evidence"]
    assert ev["sample_size"] == 200 and ev["entities"]["EMAIL_ADDRESS"]["hit_rate"] == 1.0
    assert "EmailRecognizer" in ev["entities"]["EMAIL_ADDRESS"]["recognizers"]
    assert ev["entities"]["EMAIL_ADDRESS"]["mean_score"] >= 0.5 and "seconds" in ev and p["scanned_at"]
    assert p["level"] == "CONFIDENTIEL"


def test_one_false_positive_does_not_tag_a_column():
    values = [f"Commentaire numéro {i} sans donnée" for i in range(99)] + ["contact: jean@exemple.fr"]
    col = scan_table("t", pa.table({"note": values}), ScanConfig(sample_size=100))["columns"]["note"]
    assert col["evidence"]["entities"]["EMAIL_ADDRESS"]["hits"] == 1
    assert col["tags"] == []


def test_model_runs_only_on_columns_that_can_hold_names():
    t = citizen_reports(60)
    phones = [f"06{i:08d}" for i in range(60)]  # compact numbers: still found by patterns, no model
    cols = scan_table("t", t.append_column("tel_fixe", pa.array(phones)), ScanConfig(sample_size=60))["columns"]
    for name in ("reporter_phone", "reporter_email", "report_id", "district_id", "category", "tel_fixe"):
        assert cols[name]["evidence"]["ner"] is False, name
    assert cols["reporter_name"]["evidence"]["ner"] is True and "PersonalData.Person" in cols["reporter_name"]["tags"]
    assert "PersonalData.Phone" in cols["tel_fixe"]["tags"] and "PersonalData.Phone" in cols["reporter_phone"]["tags"]


def test_rescan_skips_unchanged_and_flags_changed_proposals(gov_lake):
    first = scan_dataset(gov_lake, "mart_citizen_reports")
    DecisionStore(gov_lake).record(
        "mart_citizen_reports",
        "accept",
        "steward1",
        "",
        column="reporter_phone",
        tags=first["columns"]["reporter_phone"]["tags"],
    )
    assert scan_dataset(gov_lake, "mart_citizen_reports").get("skipped") is True
    # Data change: phone numbers replaced by e-mails → the accepted column is re-evaluated.
    t = citizen_reports()
    t = t.set_column(t.column_names.index("reporter_phone"), "reporter_phone", t.column("reporter_email"))
    gov_lake.lake.write_table("curated/mart_citizen_reports/data.parquet", t)
    second = scan_dataset(gov_lake, "mart_citizen_reports")
    assert not second.get("skipped")
    assert second["columns"]["reporter_phone"]["changed"] is True
    assert second["columns"]["reporter_email"]["changed"] is False
    st = Classifier(gov_lake).state("mart_citizen_reports")
    assert "reporter_phone" in st.pending
    assert proposals.latest(gov_lake, "mart_citizen_reports")["previous_scanned_at"] == first["scanned_at"]


def test_decisions_are_versioned_files_audited_and_lineage_propagates(gov_lake):
    for m in ("mart_citizen_reports", "mart_citizen_reports_daily", "mart_air_quality_hourly"):
        scan_dataset(gov_lake, m)
    cl = Classifier(gov_lake)
    daily = cl.state("mart_citizen_reports_daily")
    assert daily.own_level == "PUBLIC" and daily.inherited_level == "CONFIDENTIEL" and daily.level == "CONFIDENTIEL"
    assert daily.declassification_requested
    assert cl.state("mart_air_quality_hourly").level == "PUBLIC"

    store = DecisionStore(gov_lake)
    store.record(
        "mart_citizen_reports_daily", "declassify", "marie.steward", "agrégé par quartier et par jour", level="PUBLIC"
    )
    store.record(
        "mart_citizen_reports",
        "override",
        "marie.steward",
        "adresse du signalement, pas du déclarant",
        column="address",
        tags=[],
    )
    doc = yaml.safe_load(store.path("mart_citizen_reports_daily").read_text())
    d = doc["decisions"][0]
    assert (d["version"], d["action"], d["by"], d["level"]) == (1, "declassify", "marie.steward", "PUBLIC") and d["at"]
    cl = Classifier(gov_lake)
    assert cl.state("mart_citizen_reports_daily").level == "PUBLIC"
    assert cl.state("mart_citizen_reports").columns["address"].tags == []
    assert cl.state("mart_citizen_reports").level == "CONFIDENTIEL"
    events = [r["event_type"] for r in AuditLog(gov_lake).records()]
    assert events.count("classification.decision") == 2 and events.count("classification.scan") == 3

    import pytest

    from lakehouse.errors import LakehouseError

    with pytest.raises(LakehouseError, match="motif"):
        store.record("mart_citizen_reports", "declassify", "x", "", level="PUBLIC")


def test_export_guard(gov_lake):
    for m in ("mart_citizen_reports", "mart_air_quality_hourly"):
        scan_dataset(gov_lake, m)
    reasons = refusal_reasons(gov_lake, "mart_citizen_reports")
    assert any("CONFIDENTIEL supérieur à PUBLIC" in r for r in reasons)
    assert any("reporter_email" in r and "PII.Sensitive" in r for r in reasons)
    assert any("approbation" in r for r in reasons)
    assert refusal_reasons(gov_lake, "mart_air_quality_hourly") == [
        "aucune approbation de publication par un responsable des données (« hyperviseur govern approve-publication »)"
    ]
    DecisionStore(gov_lake).record(
        "mart_air_quality_hourly", "approve-publication", "marie.steward", "données environnementales publiques"
    )
    assert refusal_reasons(gov_lake, "mart_air_quality_hourly") == []
    assert any("jamais été classifié" in r for r in refusal_reasons(gov_lake, "inconnu"))
    DecisionStore(gov_lake).record("mart_citizen_reports", "approve-publication", "x", "erreur")
    assert refusal_reasons(gov_lake, "mart_citizen_reports")  # approval alone never publishes PII
