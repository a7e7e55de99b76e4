"""Parquet modular encryption of sensitive raw columns (pyarrow), keys outside the lake.

Master keys live in a JSON file named by ``HYPERVISEUR_KMS_KEY_FILE`` (``{"<key id>": "<base64
32 bytes>"}``), never in the lake or the repo: the file is refused if it sits inside the lake.
Data keys are generated per file by pyarrow and wrapped (AES-GCM) by :class:`KeyFileKmsClient`.
The footer stays in plaintext so a reader without keys still reads the non-sensitive columns;
reading an encrypted column without the key fails.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pe
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lakehouse.errors import LakehouseError, SettingsError

KEY_FILE_ENV = "HYPERVISEUR_KMS_KEY_FILE"
FOOTER_KEY = "hv_footer"
COLUMN_KEY = "hv_pii"


def create_key_file(path: Path) -> Path:
    """Write a new key file (mode 0600) with a footer key and a column key."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({k: base64.b64encode(secrets.token_bytes(32)).decode() for k in (FOOTER_KEY, COLUMN_KEY)}, f)
    return path


def load_master_keys(settings, key_file: Path | str | None = None) -> dict[str, bytes]:
    raw = key_file or os.environ.get(KEY_FILE_ENV)
    if not raw:
        raise SettingsError(KEY_FILE_ENV, "fichier de clés de chiffrement non configuré")
    path = Path(raw).resolve()
    if settings.s3 is None and Path(settings.lake_dir).resolve() in path.parents:
        raise SettingsError(KEY_FILE_ENV, f"le fichier de clés {path} ne doit pas être dans le lac")
    try:
        keys = json.loads(path.read_text())
        return {k: base64.b64decode(v) for k, v in keys.items()}
    except (OSError, ValueError) as exc:
        raise SettingsError(KEY_FILE_ENV, f"fichier de clés illisible {path} ({exc})") from exc


class KeyFileKmsClient(pe.KmsClient):
    """Wraps pyarrow's data keys with AES-GCM master keys read from the key file."""

    def __init__(self, master_keys: dict[str, bytes]):
        super().__init__()
        self.master_keys = master_keys

    def _master(self, identifier: str) -> AESGCM:
        if identifier not in self.master_keys:
            raise LakehouseError(f"clé maîtresse « {identifier} » absente du fichier de clés")
        return AESGCM(self.master_keys[identifier])

    def wrap_key(self, key_bytes, master_key_identifier):
        nonce = secrets.token_bytes(12)
        sealed = self._master(master_key_identifier).encrypt(nonce, bytes(key_bytes), master_key_identifier.encode())
        return base64.b64encode(nonce + sealed)

    def unwrap_key(self, wrapped_key, master_key_identifier):
        blob = base64.b64decode(wrapped_key)
        return self._master(master_key_identifier).decrypt(blob[:12], blob[12:], master_key_identifier.encode())


def _factory(master_keys) -> pe.CryptoFactory:
    return pe.CryptoFactory(lambda _config: KeyFileKmsClient(master_keys))


def write_encrypted(lh, key: str, table: pa.Table, sensitive_columns: list[str], key_file=None) -> int:
    """Write ``table`` at ``key`` with ``sensitive_columns`` encrypted; returns the file size."""
    unknown = sorted(set(sensitive_columns) - set(table.column_names))
    if unknown:
        raise LakehouseError(f"colonnes à chiffrer absentes de la table : {', '.join(unknown)}")
    master = load_master_keys(lh.settings, key_file)
    config = pe.EncryptionConfiguration(
        footer_key=FOOTER_KEY, column_keys={COLUMN_KEY: list(sensitive_columns)}, encryption_algorithm="AES_GCM_V1",
        plaintext_footer=True, double_wrapping=True, data_key_length_bits=256, cache_lifetime=timedelta(minutes=5),
    )
    props = _factory(master).file_encryption_properties(pe.KmsConnectionConfig(), config)
    with lh.storage.staged_file(key, suffix=".parquet") as tmp:
        pq.write_table(table, tmp, encryption_properties=props)
        return tmp.stat().st_size


def read_encrypted(lh, key: str, columns: list[str] | None = None, key_file=None) -> pa.Table:
    """Read an encrypted file with the keys; without keys only clear columns can be read (pass ``columns``)."""
    data = pa.BufferReader(lh.storage.read_bytes(key))
    try:
        master = load_master_keys(lh.settings, key_file)
    except SettingsError:
        master = None
    try:
        if master is None:
            return pq.read_table(data, columns=columns)
        props = _factory(master).file_decryption_properties(pe.KmsConnectionConfig(), pe.DecryptionConfiguration(cache_lifetime=timedelta(minutes=5)))
        return pq.read_table(data, columns=columns, decryption_properties=props)
    except OSError as exc:
        raise LakehouseError(f"{key} : lecture refusée, colonnes chiffrées sans clé autorisée ({exc})") from exc
