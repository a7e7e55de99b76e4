"""Hash-chained audit log on both backends: tampering, deletion, reordering, truncation, retention."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from lakehouse.audit import RECORDS, AuditLog, ensure_audit_key, retention_days
from lakehouse.errors import SettingsError


@pytest.fixture(autouse=True)
def _audit_key(request):
    """Every lake of these tests has its audit key (outside the lake), as `hyperviseur demo run` creates it."""
    for name in ("lakehouse", "local_lakehouse"):
        if name in request.fixturenames:
            ensure_audit_key(request.getfixturevalue(name).settings)


def _fill(lh, n=5):
    log = AuditLog(lh)
    for i in range(n):
        log.append("export", "agent.test", {"dataset": f"d{i}", "rows": i})
    return log


def test_chain_detects_edit_delete_reorder(lakehouse):
    log = _fill(lakehouse)
    assert log.verify().ok and log.verify().records == 5
    key = f"{RECORDS}{2:012d}.json"
    original = lakehouse.storage.read_bytes(key)
    rec = json.loads(original)
    rec["payload"]["rows"] = 999
    lakehouse.storage.write_bytes(key, json.dumps(rec).encode())
    res = log.verify()
    assert (res.ok, res.first_bad_index) == (False, 2) and "modifié" in res.reason
    lakehouse.storage.write_bytes(key, original)
    assert log.verify().ok

    lakehouse.storage.delete(f"{RECORDS}{1:012d}.json")
    res = log.verify()
    assert (res.ok, res.first_bad_index) == (False, 1) and "manquant" in res.reason


def test_reorder_and_truncation(local_lakehouse):
    log = _fill(local_lakehouse)
    k3, k4 = f"{RECORDS}{3:012d}.json", f"{RECORDS}{4:012d}.json"
    b3, b4 = local_lakehouse.storage.read_bytes(k3), local_lakehouse.storage.read_bytes(k4)
    local_lakehouse.storage.write_bytes(k3, b4)
    local_lakehouse.storage.write_bytes(k4, b3)
    res = log.verify()
    assert (res.ok, res.first_bad_index) == (False, 3)
    local_lakehouse.storage.write_bytes(k3, b3)
    local_lakehouse.storage.write_bytes(k4, b4)
    local_lakehouse.storage.delete(k4)
    res = log.verify()
    assert not res.ok and "tronquée" in res.reason


def test_retention_purge_keeps_chain_valid(local_lakehouse):
    log = _fill(local_lakehouse, 4)
    assert log.purge(now=datetime.now(UTC) + timedelta(days=400)) == 4
    res = log.verify()
    assert res.ok, res.reason
    assert [r["event_type"] for r in log.records()] == ["audit.retention"]
    log.append("export", "x", {})
    assert log.verify().ok
    assert retention_days({}) == 365
    with pytest.raises(SettingsError, match="CNIL"):
        retention_days({"HYPERVISEUR_AUDIT_RETENTION_DAYS": "30"})
