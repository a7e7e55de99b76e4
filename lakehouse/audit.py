"""Append-only, hash-chained audit log in the lake (``_meta/audit/``).

One object per record (``records/<seq>.json``), never rewritten: each record carries the
hash of the previous one, so editing, deleting or reordering any record breaks the chain
at that point and :meth:`AuditLog.verify` names the first bad record. ``head.json`` keeps
the last sequence number and hash (detects truncation of the tail); ``anchor.json`` is
written by retention purges so the chain can start after purged records.

Retention (CNIL recommends 6 to 12 months for access logs) comes from
``HYPERVISEUR_AUDIT_RETENTION_DAYS`` (default 365, allowed 180–366).
Appends assume one writer at a time (the orchestrator and the CLI run sequentially).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lakehouse.errors import LakehouseError, ObjectNotFound
from lakehouse.settings import audit_retention_days

PREFIX = "_meta/audit/"
RECORDS = PREFIX + "records/"
HEAD = PREFIX + "head.json"
ANCHOR = PREFIX + "anchor.json"
GENESIS = "0" * 64
RETENTION_ENV = "HYPERVISEUR_AUDIT_RETENTION_DAYS"

# Event types used across the platform (free strings are accepted; these are the usual ones).
EVENT_TYPES = (
    "ingestion",
    "classification.scan",
    "classification.decision",
    "export",
    "policy.change",
    "access.denied",
    "audit.retention",
)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    first_bad_index: int | None
    reason: str
    records: int = 0


def _hash(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()


def retention_days(env=None) -> int:
    """Retention from ``env`` (default: the process environment), checked by the settings."""
    return audit_retention_days(env)


class AuditLog:
    def __init__(self, lh, retention: int | None = None):
        self.storage = lh.storage
        settings = getattr(lh, "settings", None)
        self.retention = (
            retention
            if retention is not None
            else (settings.audit_retention_days if settings is not None else retention_days())
        )

    @staticmethod
    def _key(seq: int) -> str:
        return f"{RECORDS}{seq:012d}.json"

    def _read(self, key: str):
        try:
            return json.loads(self.storage.read_bytes(key))
        except ObjectNotFound:
            return None

    def _keys(self) -> list[str]:
        return [o.key for o in self.storage.list(RECORDS) if o.key.endswith(".json")]

    def append(self, event_type: str, actor: str, payload: dict) -> dict:
        """Add one record chained to the last one; returns the stored record."""
        if not event_type or not actor:
            raise LakehouseError("journal d'audit : type d'événement et auteur obligatoires")
        head = self._read(HEAD)
        if head is None:
            keys = self._keys()
            if keys:  # head lost: rebuild it from the last record rather than fork the chain
                last = json.loads(self.storage.read_bytes(keys[-1]))
                head = {"seq": last["seq"], "hash": last["hash"]}
            else:
                anchor = self._read(ANCHOR) or {"next_seq": 0, "prev_hash": GENESIS}
                head = {"seq": anchor["next_seq"] - 1, "hash": anchor["prev_hash"]}
        seq = head["seq"] + 1
        if self.storage.exists(self._key(seq)):
            raise LakehouseError(f"journal d'audit : l'enregistrement {seq} existe déjà (écriture concurrente ?)")
        record = {
            "seq": seq,
            "at": datetime.now(UTC).isoformat(),
            "event_type": event_type,
            "actor": actor,
            "payload": json.loads(json.dumps(payload, ensure_ascii=False, default=str)),
            "prev_hash": head["hash"],
        }
        record["hash"] = _hash(record)
        self.storage.write_bytes(self._key(seq), json.dumps(record, ensure_ascii=False, sort_keys=True).encode())
        self.storage.write_bytes(HEAD, json.dumps({"seq": seq, "hash": record["hash"]}).encode())
        return record

    def records(self) -> list[dict]:
        return [json.loads(self.storage.read_bytes(k)) for k in self._keys()]

    def verify(self) -> VerifyResult:
        """Walk the chain; the first record whose content, position or link is wrong is named."""
        anchor = self._read(ANCHOR) or {"next_seq": 0, "prev_hash": GENESIS}
        expected_seq, prev_hash = anchor["next_seq"], anchor["prev_hash"]
        keys = self._keys()
        for key in keys:
            index = int(key.rsplit("/", 1)[1].split(".")[0])
            try:
                rec = json.loads(self.storage.read_bytes(key))
            except ValueError:
                return VerifyResult(False, index, f"enregistrement {index} illisible (JSON invalide)", len(keys))
            if index != expected_seq:
                return VerifyResult(
                    False, expected_seq, f"enregistrement {expected_seq} manquant (supprimé ?)", len(keys)
                )
            if rec.get("seq") != index:
                return VerifyResult(
                    False, index, f"enregistrement {index} déplacé (numéro interne {rec.get('seq')})", len(keys)
                )
            if rec.get("hash") != _hash(rec):
                return VerifyResult(False, index, f"enregistrement {index} modifié (empreinte incorrecte)", len(keys))
            if rec.get("prev_hash") != prev_hash:
                return VerifyResult(
                    False,
                    index,
                    f"enregistrement {index} : chaînage rompu avec le précédent (réordonné ou inséré ?)",
                    len(keys),
                )
            expected_seq, prev_hash = index + 1, rec["hash"]
        head = self._read(HEAD)
        if head is not None and (head["seq"] != expected_seq - 1 or head["hash"] != prev_hash):
            return VerifyResult(
                False,
                expected_seq,
                f"fin du journal tronquée : dernier enregistrement attendu {head['seq']}",
                len(keys),
            )
        return VerifyResult(True, None, f"{len(keys)} enregistrements, chaîne intègre", len(keys))

    def purge(self, now: datetime | None = None, actor: str = "system") -> int:
        """Delete records older than the retention period (oldest first); returns how many.

        The purge itself is recorded, and ``anchor.json`` lets the chain start at the first
        kept record.
        """
        result = self.verify()
        if not result.ok:
            raise LakehouseError(f"purge refusée : journal d'audit altéré ({result.reason})")
        limit = (now or datetime.now(UTC)) - timedelta(days=self.retention)
        removed, last = 0, None
        for key in self._keys():
            rec = json.loads(self.storage.read_bytes(key))
            if datetime.fromisoformat(rec["at"]) >= limit:
                break
            last = rec
            removed += 1
        if last is None:
            return 0
        self.append("audit.retention", actor, {"purged_through": last["seq"], "retention_days": self.retention})
        self.storage.write_bytes(ANCHOR, json.dumps({"next_seq": last["seq"] + 1, "prev_hash": last["hash"]}).encode())
        for seq in range(last["seq"] - removed + 1, last["seq"] + 1):
            self.storage.delete(self._key(seq))
        return removed
