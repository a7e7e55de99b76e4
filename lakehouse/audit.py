"""Append-only, authenticated, hash-chained audit log in the lake (``_meta/audit/``).

One object per record (``records/<seq>.json``), never rewritten. Each record carries the
MAC of the previous one (``prev_hash``) and its own MAC (``hash``): HMAC-SHA256, with a key
kept *outside* the lake, over the canonical JSON of the record (every field but ``hash``,
including ``prev_hash`` and ``key_id``). Someone who can write the lake but not read the key
cannot edit a record and recompute the chain: :meth:`AuditLog.verify` names the first record
whose MAC, position or link is wrong.

Tail protection. ``head.json`` in the lake is only a hint for appenders. The chain head is
also checkpointed outside the lake after every append (:class:`CheckpointStore`):

- locally, a file beside the key (``HYPERVISEUR_AUDIT_CHECKPOINT_FILE``, default
  ``<keys dir>/audit.head``), replaced atomically and only ever moved forward;
- in production, a WORM bucket (``HYPERVISEUR_AUDIT_WORM_BUCKET``: a second S3 bucket with
  object lock and a default retention, same endpoint and credentials as the lake): one object
  per checkpoint (``audit/checkpoints/<seq>.json``, written with ``If-None-Match: *``), which
  the lake writer can neither overwrite nor delete while the retention runs.

``verify`` compares the lake with the checkpoint: a checkpoint beyond the last record of the
lake means records were deleted (even if ``head.json`` was deleted or rewritten too), and a
checkpointed MAC that differs from the record's means the record was replaced.

Key and rotation. The key file (``HYPERVISEUR_AUDIT_KEY_FILE``, default
``<data dir>/keys/audit.key``, mode 0600, refused inside the local lake) holds one JSON object
``{"key_id": …, "key": <base64 32 bytes>}``; ``key_id`` is the key's fingerprint and is
written in every record. Appends fail closed without it (:class:`SettingsError` naming the
variable); it is never created silently: :func:`ensure_audit_key` creates it explicitly
(``hyperviseur demo run``, or ``hyperviseur audit init-key`` in production). To rotate,
:func:`rotate_audit_key` (``hyperviseur audit rotate-key``) moves the current key into the
keyring ``<key file stem>.keyring.json`` beside the key file (``{"<key id>": <base64>}``,
mode 0600) and writes a new key file: new records are signed with the new key, older ones
are still verified with the keyring. In Kubernetes, mount both files from the same secret.

Concurrency. Several processes may append at once: a record is created only if its key is
absent (a hard link from a temp file, atomic and exclusive, on a local lake; a conditional
``PUT`` with ``If-None-Match: *`` on S3, then read back). The loser re-reads the tail and
retries with the next sequence number. A crash between writing a record and ``head.json``
is repaired by the next append, which walks forward from the hint (or lists the records).

Retention (CNIL recommends 6 to 12 months for access logs) comes from
``HYPERVISEUR_AUDIT_RETENTION_DAYS`` (default 365, allowed 180–366). :meth:`AuditLog.purge`
appends an ``audit.retention`` record, writes an authenticated ``anchor.json`` (the chain
starts after it) and then deletes the expired records where the store allows it; where it
does not (bucket with object lock), the records stay and ``verify`` skips those before the
anchor, so the log stays valid either way.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lakehouse.errors import LakehouseError, ObjectNotFound, SettingsError, StorageError
from lakehouse.settings import audit_retention_days

PREFIX = "_meta/audit/"
RECORDS = PREFIX + "records/"
HEAD = PREFIX + "head.json"
ANCHOR = PREFIX + "anchor.json"
GENESIS = "0" * 64
RETENTION_ENV = "HYPERVISEUR_AUDIT_RETENTION_DAYS"
KEY_FILE_ENV = "HYPERVISEUR_AUDIT_KEY_FILE"
CHECKPOINT_ENV = "HYPERVISEUR_AUDIT_CHECKPOINT_FILE"
WORM_BUCKET_ENV = "HYPERVISEUR_AUDIT_WORM_BUCKET"
WORM_PREFIX = "audit/checkpoints/"
MAX_ATTEMPTS = 1000  # appends lost to concurrent writers before giving up

# Event types used across the platform (free strings are accepted; these are the usual ones).
EVENT_TYPES = (
    "ingestion",
    "classification.scan",
    "classification.decision",
    "export",
    "policy.change",
    "access.denied",
    "audit.retention",
    "superset.query",
    "superset.access",
)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    first_bad_index: int | None
    reason: str
    records: int = 0


def retention_days(env=None) -> int:
    """Retention from ``env`` (default: the process environment), checked by the settings."""
    return audit_retention_days(env)


# -- keys ---------------------------------------------------------------------------------
def _canonical(record: dict) -> bytes:
    body = {k: v for k, v in record.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _mac(key: bytes, record: dict) -> str:
    return hmac.new(key, _canonical(record), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """Fingerprint of a key, written in each record it signs (never reveals the key)."""
    return hashlib.sha256(b"hyperviseur-audit-key:" + key).hexdigest()[:16]


@dataclass(frozen=True)
class AuditKeys:
    """The signing key and every key that may verify a record (active + keyring)."""

    active_id: str
    active: bytes
    all: dict[str, bytes]


def audit_key_path(settings) -> Path:
    configured = getattr(settings, "audit_key_file", None)
    return Path(configured) if configured else Path(settings.data_dir) / "keys" / "audit.key"


def keyring_path(key_file: Path) -> Path:
    key_file = Path(key_file)
    return key_file.with_name(key_file.stem + ".keyring.json")


def _outside_lake(settings, path: Path, variable: str) -> Path:
    path = Path(path).resolve()
    if getattr(settings, "s3", None) is None and Path(settings.lake_dir).resolve() in path.parents:
        raise SettingsError(variable, f"{path} ne doit pas être dans le lac (un écrivain du lac pourrait le modifier)")
    return path


def _write_private(path: Path, data: bytes, exclusive: bool = False) -> None:
    """Write ``path`` with mode 0600, atomically (temp file then rename, or O_EXCL)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if exclusive:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        return
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _new_key_blob() -> tuple[str, bytes]:
    key = secrets.token_bytes(32)
    body = {"key_id": key_id(key), "key": base64.b64encode(key).decode(), "created": datetime.now(UTC).isoformat()}
    return body["key_id"], json.dumps(body).encode()


def ensure_audit_key(settings) -> Path:
    """The audit key file, created (mode 0600, outside the lake) if it does not exist yet.

    Explicit only: ``hyperviseur demo run`` calls it; production creates its key with
    ``hyperviseur audit init-key`` or mounts it from a secret.
    """
    path = _outside_lake(settings, audit_key_path(settings), KEY_FILE_ENV)
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process created it first
            _write_private(path, _new_key_blob()[1], exclusive=True)
    return path


def rotate_audit_key(settings) -> str:
    """Keep the current key in the keyring and write a new key file; returns the new key id."""
    keys = load_audit_keys(settings)
    path = audit_key_path(settings)
    ring = keyring_path(path)
    retired = json.loads(ring.read_text()) if ring.exists() else {}
    retired.update({kid: base64.b64encode(k).decode() for kid, k in keys.all.items()})
    _write_private(ring, json.dumps(retired, sort_keys=True).encode())
    new_id, blob = _new_key_blob()
    _write_private(path, blob)
    return new_id


def _decode_key(raw: str, source: Path) -> bytes:
    key = base64.b64decode(raw, validate=True)
    if len(key) < 32:
        raise ValueError(f"clé trop courte dans {source}")
    return key


def load_audit_keys(settings) -> AuditKeys:
    """Active key and keyring; fails closed (:class:`SettingsError` naming the variable)."""
    path = _outside_lake(settings, audit_key_path(settings), KEY_FILE_ENV)
    if not path.is_file():
        raise SettingsError(
            KEY_FILE_ENV,
            f"clé du journal d'audit introuvable ({path}) : écriture et vérification du journal refusées. "
            f"Indiquer le fichier de clé dans {KEY_FILE_ENV} (ou le créer explicitement : "
            "« hyperviseur audit init-key » ; « hyperviseur demo run » le fait pour la démonstration)",
        )
    try:
        active = _decode_key(json.loads(path.read_text())["key"], path)
        ring = keyring_path(path)
        retired = json.loads(ring.read_text()) if ring.exists() else {}
        all_keys = {key_id(k): k for k in (_decode_key(v, ring) for v in retired.values())}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SettingsError(KEY_FILE_ENV, f"clé du journal d'audit illisible {path} ({exc})") from exc
    all_keys[key_id(active)] = active
    return AuditKeys(key_id(active), active, all_keys)


# -- checkpoints outside the lake ------------------------------------------------------------
class CheckpointStore(ABC):
    """Where the chain head is attested outside the lake: ``{"seq", "hash", "key_id", "at"}``."""

    description: str

    @abstractmethod
    def read(self) -> dict | None:
        """The most advanced checkpoint, or None if none was ever written."""

    @abstractmethod
    def advance(self, checkpoint: dict) -> None:
        """Record ``checkpoint`` unless a more advanced one is already recorded."""


class FileCheckpointStore(CheckpointStore):
    """A local file (beside the key), replaced atomically under an advisory lock, never moved back."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.description = str(self.path)

    def read(self) -> dict | None:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise SettingsError(CHECKPOINT_ENV, f"point de contrôle illisible {self.path} ({exc})") from exc

    def advance(self, checkpoint: dict) -> None:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            current = self.read()
            if current is None or current["seq"] < checkpoint["seq"]:
                _write_private(self.path, json.dumps(checkpoint, sort_keys=True).encode())
        finally:
            os.close(fd)


class S3CheckpointStore(CheckpointStore):
    """A WORM bucket (object lock, default retention): one object per checkpoint, never overwritten.

    Objects are named by sequence number, so the most advanced checkpoint is the last key of
    the listing: a writer without the right to delete (object lock) cannot move it back.
    """

    def __init__(self, s3, bucket: str):
        from lakehouse.storage import S3Storage

        self.bucket = bucket
        self.storage = S3Storage(replace_bucket(s3, bucket), scratch=Path(tempfile.gettempdir()))
        self.description = f"s3://{bucket}/{WORM_PREFIX}"

    def read(self) -> dict | None:
        objs = self.storage.list(WORM_PREFIX)
        if not objs:
            return None
        return json.loads(self.storage.read_bytes(objs[-1].key))

    def advance(self, checkpoint: dict) -> None:
        key = f"{WORM_PREFIX}{checkpoint['seq']:012d}.json"
        # Same seq from a concurrent appender or a retry: the first one stays.
        _create_if_absent(self.storage, key, json.dumps(checkpoint, sort_keys=True).encode())


def replace_bucket(s3, bucket: str):
    from dataclasses import replace

    return replace(s3, bucket=bucket)


def checkpoint_store(settings) -> CheckpointStore:
    """The WORM bucket if ``HYPERVISEUR_AUDIT_WORM_BUCKET`` is set, else the local checkpoint file."""
    bucket = getattr(settings, "audit_worm_bucket", None)
    if bucket:
        if getattr(settings, "s3", None) is None:
            raise SettingsError(WORM_BUCKET_ENV, "bucket WORM sans serveur S3 (HYPERVISEUR_S3_ENDPOINT)")
        if bucket == settings.s3.bucket:
            raise SettingsError(WORM_BUCKET_ENV, "le bucket WORM doit être distinct du bucket du lac")
        return S3CheckpointStore(settings.s3, bucket)
    path = getattr(settings, "audit_checkpoint_file", None) or audit_key_path(settings).parent / "audit.head"
    return FileCheckpointStore(_outside_lake(settings, path, CHECKPOINT_ENV))


# -- create-if-absent on each backend ------------------------------------------------------
def _create_if_absent(storage, key: str, data: bytes) -> bool:
    """Publish ``data`` at ``key`` only if ``key`` does not exist; False if it already does.

    Local lake: temp file then ``os.link`` (atomic, fails if the target exists, never partial).
    S3: ``PUT`` with ``If-None-Match: *`` (refused with 412 if the key exists), then the object
    is read back as a safety net against a server that would ignore the header.
    """
    from lakehouse.storage import LocalStorage, S3Storage, _check_key

    _check_key(key)
    if isinstance(storage, LocalStorage):
        target = storage.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = storage.scratch_dir()
        scratch.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="tmp-audit-", dir=scratch)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.link(tmp, target)
            return True
        except FileExistsError:
            return False
        finally:
            Path(tmp).unlink(missing_ok=True)
    if isinstance(storage, S3Storage):
        from minio.error import S3Error

        def put_if_absent() -> None:
            try:
                storage.client._put_object(
                    storage.bucket, key, data, headers={"If-None-Match": "*", "Content-Type": "application/json"}
                )
            except S3Error as exc:
                if not (
                    exc.code in ("PreconditionFailed", "ConditionalRequestConflict")
                    or (exc.response is not None and exc.response.status in (409, 412))
                ):
                    raise
                # Taken, unless by our own PUT retried after a lost answer: the read-back tells.

        storage._call(put_if_absent, key)  # transient faults retried like every lake write
        return storage.read_bytes(key) == data
    # Other backends (test doubles): best effort, not safe against concurrent writers.
    if storage.exists(key):
        return False
    storage.write_bytes(key, data)
    return True


# -- the log ------------------------------------------------------------------------------
class AuditLog:
    def __init__(self, lh, retention: int | None = None, checkpoints: CheckpointStore | None = None):
        self.storage = lh.storage
        self.settings = getattr(lh, "settings", None)
        self.retention = (
            retention
            if retention is not None
            else (self.settings.audit_retention_days if self.settings is not None else retention_days())
        )
        self._checkpoints = checkpoints
        self.undeleted = 0  # records the last purge could not delete (store forbids deletion)

    @property
    def checkpoints(self) -> CheckpointStore:
        if self._checkpoints is None:
            if self.settings is None:
                raise SettingsError(CHECKPOINT_ENV, "réglages absents : point de contrôle externe inconnu")
            self._checkpoints = checkpoint_store(self.settings)
        return self._checkpoints

    def _keys_or_fail(self) -> AuditKeys:
        if self.settings is None:
            raise SettingsError(KEY_FILE_ENV, "réglages absents : clé du journal d'audit inconnue")
        return load_audit_keys(self.settings)

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

    def _anchor(self, keys: AuditKeys | None = None) -> dict:
        anchor = self._read(ANCHOR)
        if anchor is None:
            return {"next_seq": 0, "prev_hash": GENESIS}
        if keys is not None:
            key = keys.all.get(anchor.get("key_id"))
            if key is None or not hmac.compare_digest(str(anchor.get("mac")), _anchor_mac(key, anchor)):
                raise LakehouseError("journal d'audit : ancre de rétention non authentifiée (anchor.json modifié ?)")
        return anchor

    def _tail(self) -> tuple[int, str]:
        """(seq, hash) of the last record: from the head hint, walking forward; else by listing."""
        head = self._read(HEAD)
        seq, mac = None, None
        if head is not None:
            rec = self._read(self._key(head["seq"])) if head.get("seq", -1) >= 0 else None
            if rec is not None:
                seq, mac = rec["seq"], rec["hash"]
        if seq is None:
            keys = self._keys()
            if keys:
                last = json.loads(self.storage.read_bytes(keys[-1]))
                seq, mac = last["seq"], last["hash"]
            else:
                anchor = self._anchor()
                seq, mac = anchor["next_seq"] - 1, anchor["prev_hash"]
        while True:  # records written after the hint (crash before head.json, concurrent appenders)
            nxt = self._read(self._key(seq + 1))
            if nxt is None:
                return seq, mac
            seq, mac = nxt["seq"], nxt["hash"]

    def append(self, event_type: str, actor: str, payload: dict) -> dict:
        """Add one record chained to the last one; returns the stored record.

        Fails closed (:class:`SettingsError` naming ``HYPERVISEUR_AUDIT_KEY_FILE``) without the key.
        """
        if not event_type or not actor:
            raise LakehouseError("journal d'audit : type d'événement et auteur obligatoires")
        keys = self._keys_or_fail()
        checkpoints = self.checkpoints
        body = json.loads(json.dumps(payload, ensure_ascii=False, default=str))
        for attempt in range(MAX_ATTEMPTS):
            seq, prev = self._tail()
            record = {
                "seq": seq + 1,
                "at": datetime.now(UTC).isoformat(),
                "event_type": event_type,
                "actor": actor,
                "payload": body,
                "prev_hash": prev,
                "key_id": keys.active_id,
            }
            record["hash"] = _mac(keys.active, record)
            data = json.dumps(record, ensure_ascii=False, sort_keys=True).encode()
            if _create_if_absent(self.storage, self._key(record["seq"]), data):
                break
            time.sleep(min(0.001 * attempt, 0.05) * (0.5 + secrets.randbelow(100) / 100))
        else:
            raise LakehouseError(
                f"journal d'audit : {MAX_ATTEMPTS} tentatives d'ajout perdues (écritures concurrentes)"
            )
        self.storage.write_bytes(HEAD, json.dumps({"seq": record["seq"], "hash": record["hash"]}).encode())
        checkpoints.advance(
            {"seq": record["seq"], "hash": record["hash"], "key_id": record["key_id"], "at": record["at"]}
        )
        return record

    def records(self) -> list[dict]:
        """Records of the chain (those left before the retention anchor are skipped)."""
        start = self._anchor()["next_seq"]
        return [json.loads(self.storage.read_bytes(k)) for k in self._keys() if _index(k) >= start]

    def verify(self) -> VerifyResult:
        """Walk the chain and compare it with the external checkpoint.

        The first record whose MAC, position or link is wrong is named; records deleted at the
        tail (even with ``head.json``) are detected through the checkpoint outside the lake.
        """
        keys = self._keys_or_fail()
        try:
            anchor = self._anchor(keys)
        except LakehouseError as exc:
            return VerifyResult(False, 0, str(exc).removeprefix("journal d'audit : "), 0)
        expected_seq, prev_hash = anchor["next_seq"], anchor["prev_hash"]
        all_keys = self._keys()
        chain = [k for k in all_keys if _index(k) >= expected_seq]  # older ones: purged, kept by a WORM store
        n = len(chain)
        macs: dict[int, str] = {}
        for key in chain:
            index = _index(key)
            try:
                rec = json.loads(self.storage.read_bytes(key))
            except ValueError:
                return VerifyResult(False, index, f"enregistrement {index} illisible (JSON invalide)", n)
            if index != expected_seq:
                return VerifyResult(False, expected_seq, f"enregistrement {expected_seq} manquant (supprimé ?)", n)
            if rec.get("seq") != index:
                return VerifyResult(
                    False, index, f"enregistrement {index} déplacé (numéro interne {rec.get('seq')})", n
                )
            key_bytes = keys.all.get(rec.get("key_id"))
            if key_bytes is None:
                return VerifyResult(
                    False,
                    index,
                    f"enregistrement {index} signé par une clé inconnue « {rec.get('key_id')} » "
                    f"(absente de {KEY_FILE_ENV} et de son trousseau)",
                    n,
                )
            if not hmac.compare_digest(str(rec.get("hash")), _mac(key_bytes, rec)):
                return VerifyResult(False, index, f"enregistrement {index} modifié (signature HMAC incorrecte)", n)
            if rec.get("prev_hash") != prev_hash:
                return VerifyResult(
                    False,
                    index,
                    f"enregistrement {index} : chaînage rompu avec le précédent (réordonné ou inséré ?)",
                    n,
                )
            macs[index] = rec["hash"]
            expected_seq, prev_hash = index + 1, rec["hash"]
        last = expected_seq - 1
        checkpoint = self.checkpoints.read()
        if checkpoint is None and n:
            return VerifyResult(
                False,
                last,
                f"point de contrôle externe absent ({self.checkpoints.description}) : fin du journal non attestée",
                n,
            )
        for source, mark in (("tête du lac (head.json)", self._read(HEAD)), ("point de contrôle externe", checkpoint)):
            if mark is None:
                continue
            if mark["seq"] > last:
                return VerifyResult(
                    False,
                    last + 1,
                    f"fin du journal tronquée : le {source} atteste l'enregistrement {mark['seq']}, "
                    f"le lac s'arrête à {last}",
                    n,
                )
            if mark["seq"] >= anchor["next_seq"] and macs.get(mark["seq"]) != mark["hash"]:
                return VerifyResult(
                    False,
                    mark["seq"],
                    f"enregistrement {mark['seq']} remplacé : sa signature diffère de celle du {source}",
                    n,
                )
        return VerifyResult(True, None, f"{n} enregistrements, chaîne intègre et authentifiée", n)

    def purge(self, now: datetime | None = None, actor: str = "system") -> int:
        """Retire records older than the retention period (oldest first); returns how many.

        The purge is itself recorded, then an authenticated ``anchor.json`` makes the chain
        start at the first kept record, then the expired records are deleted where the store
        allows it (:attr:`undeleted` counts those it refused, e.g. under object lock; they stay
        outside the chain and ``verify`` remains valid).
        """
        result = self.verify()
        if not result.ok:
            raise LakehouseError(f"purge refusée : journal d'audit altéré ({result.reason})")
        keys = self._keys_or_fail()
        limit = (now or datetime.now(UTC)) - timedelta(days=self.retention)
        start = self._anchor(keys)["next_seq"]
        expired = []
        for key in self._keys():
            if _index(key) < start:
                continue
            rec = json.loads(self.storage.read_bytes(key))
            if datetime.fromisoformat(rec["at"]) >= limit:
                break
            expired.append(rec)
        if not expired:
            return 0
        last = expired[-1]
        self.append("audit.retention", actor, {"purged_through": last["seq"], "retention_days": self.retention})
        anchor = {"next_seq": last["seq"] + 1, "prev_hash": last["hash"], "key_id": keys.active_id}
        anchor["mac"] = _anchor_mac(keys.active, anchor)
        self.storage.write_bytes(ANCHOR, json.dumps(anchor).encode())
        self.undeleted = 0
        for rec in expired:
            try:
                self.storage.delete(self._key(rec["seq"]))
            except StorageError:  # deletion forbidden (object lock): the anchor already retires it
                self.undeleted += 1
        return len(expired)


def _anchor_mac(key: bytes, anchor: dict) -> str:
    return _mac(key, {"anchor": {k: v for k, v in anchor.items() if k != "mac"}})


def _index(key: str) -> int:
    return int(key.rsplit("/", 1)[1].split(".")[0])


__all__ = [
    "AuditLog",
    "CheckpointStore",
    "FileCheckpointStore",
    "S3CheckpointStore",
    "VerifyResult",
    "checkpoint_store",
    "ensure_audit_key",
    "load_audit_keys",
    "rotate_audit_key",
]
