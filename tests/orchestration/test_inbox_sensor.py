"""A file dropped in the inbox triggers an ingestion run through the connector registry."""

from __future__ import annotations

import json
import os

import dagster as dg
import pytest

from lakehouse.platform import Lakehouse
from orchestration.assets.sensors import inbox_files, new_files
from orchestration.definitions import defs

CSV = "code;nom;valeur\nA1;Pompe nord;12,5\nA2;Pompe sud;7,25\n"


@pytest.fixture
def inbox_env(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("HYPERVISEUR_") and not key.startswith("HYPERVISEUR_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HYPERVISEUR_DATA_DIR", str(tmp_path / "data"))
    lh = Lakehouse.from_env()
    lh.storage.check()
    return lh


def test_new_files_ignores_seen_files_and_reports_unknown_connectors():
    current = {"fichiers|/i/a.csv": "1:1", "fichiers|/i/b.csv": "2:2", "inconnu|/i/c.csv": "3:3"}
    todo, unknown = new_files({"fichiers|/i/a.csv": "1:1"}, current, {"fichiers"})
    assert todo == ["fichiers|/i/b.csv"] and unknown == ["inconnu|/i/c.csv"]
    todo, _ = new_files({"fichiers|/i/a.csv": "1:0"}, current, {"fichiers"})  # rewritten in place
    assert "fichiers|/i/a.csv" in todo


def test_dropped_file_is_ingested_once(inbox_env, tmp_path):
    lh = inbox_env
    folder = lh.settings.data_dir / "inbox" / "fichiers"
    folder.mkdir(parents=True)
    (folder / "pompes.csv").write_text(CSV, encoding="utf-8")
    (folder / "en_cours.csv.part").write_text("partiel", encoding="utf-8")
    assert list(inbox_files(lh)) == [f"fichiers|{folder / 'pompes.csv'}"]

    sensor = defs.resolve_sensor_def("depot_boite_de_reception")
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, definitions=defs)
        requests = list(sensor(context))
        assert len(requests) == 1
        config = requests[0].run_config["ops"]["ingestion_brute"]["config"]
        assert config == {"files": [f"fichiers|{folder / 'pompes.csv'}"]}
        again = dg.build_sensor_context(instance=instance, cursor=context.cursor, definitions=defs)
        assert list(sensor(again)) == []  # already seen

        job = defs.resolve_job_def(requests[0].job_name or "ingestion_boite_de_reception")
        result = job.execute_in_process(run_config=requests[0].run_config, instance=instance)
        assert result.success
    raw = [o.key for o in lh.storage.list("raw/")]
    assert raw and all(k.endswith(".parquet") for k in raw)
    assert json.loads(context.cursor)[f"fichiers|{folder / 'pompes.csv'}"]
