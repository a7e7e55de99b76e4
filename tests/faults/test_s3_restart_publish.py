"""The S3 server is killed and restarted while open data is being published.

The publication rides over the outage (storage writes and DuckDB reads of the lake are
retried with backoff) or stops with a French error naming the object it could not read; a
rerun completes. Online, every dataset then has one
consistent version (files matching their manifest's checksums, all rows), every online
version has its « published » audit record, and the audit chain verifies.
"""

from __future__ import annotations

import hashlib
import threading
import time

import pytest

from lakehouse.audit import AuditLog
from lakehouse.errors import LakehouseError
from lakehouse.platform import Lakehouse
from opendata.publish import latest_manifest_key, publish
from tests.opendata.conftest import air_table, dbt_manifest, districts_table, opendata_meta, ready

pytestmark = pytest.mark.s3

OUTAGE_S = 3.0
DATASETS = {"od_air_hourly": air_table(24 * 30), "od_reports_by_district": districts_table()}


def test_publish_under_s3_restart_then_rerun_is_consistent(private_s3, tmp_path, monkeypatch):
    monkeypatch.setenv("HYPERVISEUR_OPENDATA_BASE_URL", "http://127.0.0.1:8080/")
    env = private_s3.env(tmp_path / "data")
    lh, watcher = Lakehouse.from_env(env), Lakehouse.from_env(env)
    for name, table in DATASETS.items():
        ready(lh, name, table)
    manifest = dbt_manifest({name: (opendata_meta(name), {}) for name in DATASETS})
    fault = {}

    def kill_and_restart():
        deadline = time.monotonic() + 60
        while not watcher.storage.list("opendata/") and time.monotonic() < deadline:
            time.sleep(0.02)
        private_s3.kill()
        fault["killed"] = time.monotonic()
        time.sleep(OUTAGE_S)
        private_s3.start()

    thread = threading.Thread(target=kill_and_restart)
    thread.start()
    try:
        publish(lh, manifest=manifest)
        first = "terminée"
    except LakehouseError as exc:
        first = str(exc)
        assert "injoignable" in first and private_s3.endpoint.split("//")[1] in first, first
    done = time.monotonic()
    thread.join()
    assert fault["killed"] < done, "the server was not killed during the publication"

    report = publish(lh, manifest=manifest)
    assert sorted(report.online) == sorted(DATASETS)
    published = {}
    for r in AuditLog(lh).records():
        if r["event_type"] == "export" and r["payload"]["decision"] == "published":
            published.setdefault(r["payload"]["dataset"], set()).add(r["payload"]["version"])
    for name, table in DATASETS.items():
        doc = lh.lake.read_json(latest_manifest_key(name))
        assert doc["rows"] == table.num_rows
        for f in doc["files"]:
            data = lh.storage.read_bytes(f["latest_key"])
            assert hashlib.sha256(data).hexdigest() == f["sha256"], f["latest_key"]
        assert doc["version"] in published.get(name, set()), f"{name} {doc['version']} online without audit record"
    result = AuditLog(lh).verify()
    assert result.ok, result.reason
    print(f"\npublication sous coupure S3 : 1re exécution {first[:200]} ; {lh.storage.retries} nouvel(s) essai(s)")
