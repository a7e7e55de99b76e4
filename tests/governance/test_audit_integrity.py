"""Audit log a lake writer cannot rewrite: HMAC key outside the lake, checkpoint outside the
lake (file or WORM bucket), concurrent appenders, fail-closed key, rotation, undeletable purge."""

from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import stat
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from lakehouse.audit import (
    HEAD,
    KEY_FILE_ENV,
    RECORDS,
    AuditLog,
    FileCheckpointStore,
    S3CheckpointStore,
    checkpoint_store,
    ensure_audit_key,
    keyring_path,
    rotate_audit_key,
)
from lakehouse.errors import SettingsError, StorageError
from lakehouse.platform import Lakehouse
from tests.conftest import temporary_bucket


def _key(seq: int) -> str:
    return f"{RECORDS}{seq:012d}.json"


def _fill(lh, n=6):
    log = AuditLog(lh)
    for i in range(n):
        log.append("export", "agent.test", {"dataset": f"d{i}", "rows": i})
    return log


@pytest.fixture
def keyed(lakehouse):
    """A lakehouse (local and S3) with its audit key created outside the lake."""
    ensure_audit_key(lakehouse.settings)
    return lakehouse


@pytest.mark.sans_cle_audit
def test_key_created_explicitly_private_and_outside_lake(local_lakehouse):
    settings = local_lakehouse.settings
    assert not settings.audit_key_file.exists()
    path = ensure_audit_key(settings)
    assert path == settings.audit_key_file == settings.data_dir / "keys" / "audit.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert settings.lake_dir not in path.parents
    assert ensure_audit_key(settings) == path and json.loads(path.read_text())["key_id"]
    inside = replace(settings, audit_key_file=settings.lake_dir / "audit.key")
    with pytest.raises(SettingsError, match="dans le lac") as err:
        ensure_audit_key(inside)
    assert err.value.variable == KEY_FILE_ENV
    in_lake_checkpoint = replace(settings, audit_checkpoint_file=settings.lake_dir / "_meta" / "audit.head")
    with pytest.raises(SettingsError, match="dans le lac"):
        checkpoint_store(in_lake_checkpoint)


@pytest.mark.sans_cle_audit
def test_missing_key_refuses_append_and_verify(lakehouse):
    log = AuditLog(lakehouse)
    with pytest.raises(SettingsError, match="clé du journal d'audit introuvable") as err:
        log.append("export", "agent.test", {"dataset": "d"})
    assert err.value.variable == KEY_FILE_ENV and "HYPERVISEUR_AUDIT_KEY_FILE" in str(err.value)
    assert lakehouse.storage.list(RECORDS) == []  # nothing written without the key
    with pytest.raises(SettingsError, match="HYPERVISEUR_AUDIT_KEY_FILE"):
        log.verify()


def test_records_are_hmac_signed_with_key_id(keyed):
    log = _fill(keyed, 2)
    keys = json.loads(keyed.settings.audit_key_file.read_text())
    rec = json.loads(keyed.storage.read_bytes(_key(1)))
    assert rec["key_id"] == keys["key_id"]
    import base64

    body = json.dumps({k: v for k, v in rec.items() if k != "hash"}, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode()  # fmt: skip
    assert rec["hash"] == hmac.new(base64.b64decode(keys["key"]), body, hashlib.sha256).hexdigest()
    assert rec["prev_hash"] == json.loads(keyed.storage.read_bytes(_key(0)))["hash"]
    assert log.verify().ok


def test_deleting_last_records_and_head_is_detected(keyed):
    log = _fill(keyed, 6)
    assert log.verify().ok
    for seq in (4, 5):
        keyed.storage.delete(_key(seq))
    keyed.storage.delete(HEAD)
    res = log.verify()
    assert not res.ok and res.first_bad_index == 4
    assert "tronquée" in res.reason and "point de contrôle externe" in res.reason and "5" in res.reason
    # Rewriting head.json to the new end does not help either: the checkpoint is outside the lake.
    last = json.loads(keyed.storage.read_bytes(_key(3)))
    keyed.storage.write_bytes(HEAD, json.dumps({"seq": 3, "hash": last["hash"]}).encode())
    assert not log.verify().ok


def test_deleting_everything_in_the_lake_is_detected(keyed):
    log = _fill(keyed, 3)
    for obj in keyed.storage.list("_meta/audit/"):
        keyed.storage.delete(obj.key)
    res = log.verify()
    assert not res.ok and "tronquée" in res.reason


def _forge_chain(lh, start: int, mac):
    """Rewrite records from ``start`` on (and head.json) as an attacker without the key would."""
    keys = sorted(o.key for o in lh.storage.list(RECORDS))
    prev = json.loads(lh.storage.read_bytes(_key(start - 1)))["hash"] if start else "0" * 64
    for key in keys[start:]:
        rec = json.loads(lh.storage.read_bytes(key))
        if rec["seq"] == start:
            rec["payload"]["rows"] = 999_999
        rec["prev_hash"] = prev
        body = json.dumps({k: v for k, v in rec.items() if k != "hash"}, sort_keys=True, ensure_ascii=False,
                          separators=(",", ":")).encode()  # fmt: skip
        rec["hash"] = prev = mac(body)
        lh.storage.write_bytes(key, json.dumps(rec, ensure_ascii=False, sort_keys=True).encode())
    lh.storage.write_bytes(HEAD, json.dumps({"seq": len(keys) - 1, "hash": prev}).encode())


@pytest.mark.parametrize("forger", ["sha256", "other-key"])
def test_edited_record_with_recomputed_hashes_is_detected(keyed, forger):
    log = _fill(keyed, 6)
    other = uuid.uuid4().bytes * 2
    mac = {
        "sha256": lambda body: hashlib.sha256(body).hexdigest(),
        "other-key": lambda body: hmac.new(other, body, hashlib.sha256).hexdigest(),
    }[forger]
    _forge_chain(keyed, 2, mac)
    res = log.verify()
    assert (res.ok, res.first_bad_index) == (False, 2)
    assert "signature HMAC incorrecte" in res.reason


def test_checkpoint_ahead_of_lake_is_detected(keyed):
    log = _fill(keyed, 3)
    store = log.checkpoints
    assert isinstance(store, FileCheckpointStore)
    assert store.path == keyed.settings.audit_key_file.parent / "audit.head"
    assert store.read()["seq"] == 2
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    store.advance({"seq": 1, "hash": "x", "key_id": "k", "at": ""})  # never moves back
    assert store.read()["seq"] == 2
    store.advance({"seq": 7, "hash": "f" * 64, "key_id": "k", "at": ""})
    res = log.verify()
    assert not res.ok and res.first_bad_index == 3 and "atteste l'enregistrement 7" in res.reason


def test_checkpoint_disagreeing_with_record_is_detected(keyed):
    log = _fill(keyed, 3)
    log.checkpoints.path.write_text(json.dumps({"seq": 2, "hash": "e" * 64, "key_id": "k", "at": ""}))
    res = log.verify()
    assert (res.ok, res.first_bad_index) == (False, 2) and "remplacé" in res.reason


def test_missing_checkpoint_is_reported(keyed):
    log = _fill(keyed, 2)
    log.checkpoints.path.unlink()
    res = log.verify()
    assert not res.ok and "point de contrôle externe absent" in res.reason


def test_crash_between_record_and_head_is_repaired(keyed):
    log = _fill(keyed, 3)
    stale = keyed.storage.read_bytes(HEAD)
    log.append("export", "agent.test", {"dataset": "d3"})
    keyed.storage.write_bytes(HEAD, stale)  # as if the process died before updating head.json
    rec = log.append("export", "agent.test", {"dataset": "d4"})
    assert rec["seq"] == 4 and json.loads(keyed.storage.read_bytes(HEAD))["seq"] == 4
    keyed.storage.delete(HEAD)  # head lost entirely: the next append lists the records
    assert log.append("export", "agent.test", {})["seq"] == 5
    assert log.verify().ok


def test_rotation_keeps_old_records_verifiable(keyed):
    log = _fill(keyed, 2)
    old_id = log.records()[0]["key_id"]
    new_id = rotate_audit_key(keyed.settings)
    assert new_id != old_id
    ring = keyring_path(keyed.settings.audit_key_file)
    assert old_id in json.loads(ring.read_text()) and stat.S_IMODE(ring.stat().st_mode) == 0o600
    log.append("export", "agent.test", {"after": "rotation"})
    assert [r["key_id"] for r in log.records()] == [old_id, old_id, new_id]
    assert log.verify().ok
    ring.unlink()  # old keys lost: their records can no longer be authenticated
    res = log.verify()
    assert (res.ok, res.first_bad_index) == (False, 0) and "clé inconnue" in res.reason


def test_purge_where_deletion_is_forbidden_keeps_log_valid(keyed, monkeypatch):
    log = _fill(keyed, 4)

    def refuse(key):
        raise StorageError("suppression interdite (verrouillage d'objet)")

    monkeypatch.setattr(keyed.storage, "delete", refuse)
    assert log.purge(now=datetime.now(UTC) + timedelta(days=400)) == 4
    assert log.undeleted == 4
    assert len(keyed.storage.list(RECORDS)) == 5  # nothing deleted, the anchor retires them
    res = log.verify()
    assert res.ok, res.reason
    assert [r["event_type"] for r in log.records()] == ["audit.retention"]
    log.append("export", "x", {})
    assert log.verify().ok and log.purge(now=datetime.now(UTC) + timedelta(days=1)) == 0
    # The anchor is authenticated: a forged one (to hide records) is refused.
    anchor = json.loads(keyed.storage.read_bytes("_meta/audit/anchor.json"))
    anchor["next_seq"] = 5
    keyed.storage.write_bytes("_meta/audit/anchor.json", json.dumps(anchor).encode())
    res = log.verify()
    assert not res.ok and "ancre" in res.reason


def _appender(env: dict, n: int, start, errors) -> None:
    try:
        lh = Lakehouse.from_env(env)
        log = AuditLog(lh)
        start.wait(30)
        for i in range(n):
            log.append("export", f"proc-{env['_who']}", {"i": i})
    except BaseException as exc:  # reported to the parent
        errors.put(repr(exc))


def _env_of(lh) -> dict:
    s = lh.settings
    env = {"HYPERVISEUR_DATA_DIR": str(s.data_dir)}
    if s.s3:
        env.update(
            {
                "HYPERVISEUR_S3_ENDPOINT": s.s3.endpoint,
                "HYPERVISEUR_S3_ACCESS_KEY": s.s3.access_key,
                "HYPERVISEUR_S3_SECRET_KEY": s.s3.secret_key,
                "HYPERVISEUR_S3_BUCKET": s.s3.bucket,
            }
        )
    if s.audit_worm_bucket:
        env["HYPERVISEUR_AUDIT_WORM_BUCKET"] = s.audit_worm_bucket
    return env


def _run_concurrently(lh, processes=2, each=200):
    ctx = multiprocessing.get_context("fork")
    start, errors = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_appender, args=({**_env_of(lh), "_who": str(p)}, each, start, errors))
        for p in range(processes)
    ]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(600)
    assert all(p.exitcode == 0 for p in procs)
    assert errors.empty(), errors.get()


def test_two_processes_append_200_each(keyed):
    _run_concurrently(keyed, 2, 200)
    log = AuditLog(keyed)
    records = log.records()
    assert [r["seq"] for r in records] == list(range(400))
    by_proc = {}
    for r in records:
        by_proc.setdefault(r["actor"], []).append(r["payload"]["i"])
    assert by_proc == {"proc-0": list(range(200)), "proc-1": list(range(200))}  # nothing overwritten
    res = log.verify()
    assert res.ok and res.records == 400, res.reason
    assert log.checkpoints.read()["seq"] == 399


@pytest.fixture
def worm_bucket(s3_server):
    """A second bucket for the checkpoints (plain: SeaweedFS supports object lock, but a locked
    bucket could not be removed after the test; the store never overwrites nor deletes)."""
    yield from temporary_bucket(s3_server, "w")


@pytest.fixture
def worm_lake(s3_lakehouse, worm_bucket):
    lh = Lakehouse(replace(s3_lakehouse.settings, audit_worm_bucket=worm_bucket))
    ensure_audit_key(lh.settings)
    return lh


def test_worm_bucket_checkpoint(worm_lake, worm_bucket):
    log = _fill(worm_lake, 3)
    store = log.checkpoints
    assert isinstance(store, S3CheckpointStore) and store.bucket == worm_bucket
    assert not worm_lake.settings.audit_checkpoint_file.exists()  # the WORM bucket replaces the file
    assert [o.key for o in store.storage.list("audit/")] == [f"audit/checkpoints/{i:012d}.json" for i in range(3)]
    assert store.read()["seq"] == 2
    store.advance({"seq": 2, "hash": "0" * 64, "key_id": "k", "at": ""})  # never overwritten
    assert store.read()["hash"] == log.records()[-1]["hash"]
    assert log.verify().ok
    for seq in (1, 2):
        worm_lake.storage.delete(_key(seq))
    worm_lake.storage.delete(HEAD)
    res = log.verify()
    assert not res.ok and "point de contrôle externe atteste l'enregistrement 2" in res.reason
    with pytest.raises(SettingsError, match="distinct"):
        checkpoint_store(replace(worm_lake.settings, audit_worm_bucket=worm_lake.settings.s3.bucket))


def test_worm_bucket_concurrent_appends(worm_lake):
    _run_concurrently(worm_lake, 2, 50)
    log = AuditLog(worm_lake)
    assert [r["seq"] for r in log.records()] == list(range(100))
    assert log.verify().ok and log.checkpoints.read()["seq"] == 99
