"""Parquet modular encryption of sensitive raw columns (pyarrow), keys outside the lake.

Master keys live in a JSON file (``{"<key id>": "<base64 32 bytes>"}``) named by
``HYPERVISEUR_KMS_KEY_FILE``, by default ``<data dir>/keys/kms.json``; never in the lake or the
repo: the file is refused if it sits inside the lake. Writing raw data fails closed: a dataset
with personal columns is refused (:class:`SettingsError` naming ``HYPERVISEUR_KMS_KEY_FILE``)
when the key file is missing, it is never written in clear and no key is created silently
(:func:`ensure_key_file` creates it, explicitly: ``hyperviseur run`` for the demo). Data keys
are generated per file by pyarrow and wrapped (AES-GCM) by :class:`KeyFileKmsClient`.

The footer stays in plaintext, so DuckDB (dbt, scans) reads the clear columns of an encrypted
file as usual; selecting an encrypted column fails there. The platform reads the personal
columns with :func:`read_parquet_blobs`, which needs the key file (the authorised path).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pe
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lakehouse.errors import LakehouseError, SettingsError
from lakehouse.settings import kms_key_file_setting

KEY_FILE_ENV = "HYPERVISEUR_KMS_KEY_FILE"
DEFAULT_KEY_FILE = Path("keys") / "kms.json"  # under the data dir, beside (not inside) the lake
FOOTER_KEY = "hv_footer"
COLUMN_KEY = "hv_pii"
CACHE_LIFETIME = timedelta(minutes=5)


def key_file_path(settings) -> Path:
    """The configured key file (``settings.kms_key_file``: ``HYPERVISEUR_KMS_KEY_FILE`` or the default)."""
    configured = getattr(settings, "kms_key_file", None)
    return Path(configured) if configured else Path(settings.data_dir) / DEFAULT_KEY_FILE


def ensure_key_file(settings) -> Path:
    """The configured key file, created (turning raw encryption on) if it does not exist yet."""
    path = key_file_path(settings)
    return path if path.exists() else create_key_file(path)


def create_key_file(path: Path) -> Path:
    """Write a new key file (mode 0600) with a footer key and a column key."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({k: base64.b64encode(secrets.token_bytes(32)).decode() for k in (FOOTER_KEY, COLUMN_KEY)}, f)
    return path


def load_master_keys(settings, key_file: Path | str | None = None) -> dict[str, bytes]:
    """Master keys from ``key_file``, else the settings' key file; ``settings`` (optional) checks it is outside the lake."""
    raw = key_file or (key_file_path(settings) if settings is not None else kms_key_file_setting())
    if not raw:
        raise SettingsError(KEY_FILE_ENV, "fichier de clés de chiffrement non configuré")
    path = Path(raw).resolve()
    if not path.exists():
        raise SettingsError(KEY_FILE_ENV, f"fichier de clés de chiffrement introuvable : {path}")
    if settings is not None and settings.s3 is None and Path(settings.lake_dir).resolve() in path.parents:
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


def encryption_properties(master_keys: dict[str, bytes], columns) -> pe.FileEncryptionProperties:
    config = pe.EncryptionConfiguration(
        footer_key=FOOTER_KEY,
        column_keys={COLUMN_KEY: list(columns)},
        encryption_algorithm="AES_GCM_V1",
        plaintext_footer=True,
        double_wrapping=True,
        data_key_length_bits=256,
        cache_lifetime=CACHE_LIFETIME,
    )
    return _factory(master_keys).file_encryption_properties(pe.KmsConnectionConfig(), config)


def decryption_properties(master_keys: dict[str, bytes]) -> pe.FileDecryptionProperties:
    return _factory(master_keys).file_decryption_properties(
        pe.KmsConnectionConfig(), pe.DecryptionConfiguration(cache_lifetime=CACHE_LIFETIME)
    )


@dataclass(frozen=True)
class ColumnEncryption:
    """Encryption hook given to ``Lake.write_batch``: encrypts ``columns`` of each file written."""

    master_keys: dict[str, bytes]
    columns: tuple[str, ...]

    def properties(self, schema: pa.Schema) -> pe.FileEncryptionProperties | None:
        present = [c for c in self.columns if c in schema.names]
        return encryption_properties(self.master_keys, present) if present else None


def raw_encryption(settings, columns: tuple[str, ...]) -> ColumnEncryption | None:
    """Hook encrypting ``columns`` of each batch written; None only if there are no such columns.

    Fails closed: without the key file the write is refused (never in clear, no key created here).
    Which columns are encrypted is declared by each dataset's spec (``Column(encrypted=True)``)
    and recorded in the registry, where readers (governance's scanner) find it.
    """
    if not columns:
        return None
    path = key_file_path(settings)
    if not path.is_file():
        raise SettingsError(
            KEY_FILE_ENV,
            f"fichier de clés de chiffrement introuvable ({path}) : écriture refusée, les colonnes personnelles "
            f"({', '.join(columns)}) ne sont jamais écrites en clair. Indiquer le fichier de clés dans "
            f"{KEY_FILE_ENV} (ou le créer explicitement : « hyperviseur run » le fait pour la démonstration)",
        )
    return ColumnEncryption(load_master_keys(settings, path), columns)


def write_encrypted(lh, key: str, table: pa.Table, sensitive_columns: list[str], key_file=None) -> int:
    """Write ``table`` at ``key`` with ``sensitive_columns`` encrypted; returns the file size."""
    unknown = sorted(set(sensitive_columns) - set(table.column_names))
    if unknown:
        raise LakehouseError(f"colonnes à chiffrer absentes de la table : {', '.join(unknown)}")
    props = encryption_properties(load_master_keys(lh.settings, key_file), sensitive_columns)
    with lh.storage.staged_file(key, suffix=".parquet") as tmp:
        pq.write_table(table, tmp, encryption_properties=props)
        return tmp.stat().st_size


def _read(data: bytes, name: str, columns, master) -> pa.Table:
    props = decryption_properties(master) if master is not None else None
    try:
        return pq.read_table(pa.BufferReader(data), columns=columns, decryption_properties=props)
    except OSError as exc:
        raise LakehouseError(f"{name} : lecture refusée, colonnes chiffrées sans clé autorisée ({exc})") from exc


def _optional_keys(settings, key_file) -> dict[str, bytes] | None:
    """Keys from ``key_file``, else the settings' key file (without ``settings``: ``HYPERVISEUR_KMS_KEY_FILE``);
    None if there are none (only clear columns can then be read)."""
    if key_file is None:
        key_file = key_file_path(settings) if settings is not None else kms_key_file_setting()
        if key_file is None or not Path(key_file).exists():
            return None
    return load_master_keys(settings, key_file)


def read_encrypted(lh, key: str, columns: list[str] | None = None, key_file=None) -> pa.Table:
    """Read an encrypted file with the keys; without keys only clear columns can be read (pass ``columns``)."""
    return _read(lh.storage.read_bytes(key), key, columns, _optional_keys(lh.settings, key_file))


def read_parquet_blobs(files, columns: list[str] | None = None, key_file=None, settings=None) -> pa.Table:
    """One table from ``(name, bytes)`` Parquet files, encrypted or not (schemas unified by name).

    The authorised reader of the personal raw columns: dbt's staging model feeds it the files
    (DuckDB ``read_blob``), the scanner its sampled files.
    """
    master = _optional_keys(settings, key_file)
    tables = [_read(data, name, columns, master) for name, data in files]
    return pa.concat_tables(tables, promote_options="default") if tables else pa.table({})
