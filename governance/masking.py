"""Masked copies of marts for roles without clearance: keyed pseudonyms and redacted free text.

The pseudonymisation key never enters the lake nor the serving DuckDB (a view computing a
hash would show its key in its definition): masked copies are computed here and written
to ``curated/<model>__masked/data.parquet``. Key: ``HYPERVISEUR_MASKING_KEY`` (or
``HYPERVISEUR_MASKING_KEY_FILE``), else ``<data dir>/keys/masking.key`` created on first use
(outside the lake, mode 0600). Same value + same key → same pseudonym, so counts and joins work.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from governance import analyzer
from lakehouse.settings import masking_key_value

KEY_ENV = "HYPERVISEUR_MASKING_KEY"
# Entities replaced in free text for non-cleared roles; place names alone stay readable.
REDACTED = {
    "PERSON": "<PERSONNE>",
    "EMAIL_ADDRESS": "<COURRIEL>",
    "PHONE_NUMBER": "<TÉLÉPHONE>",
    "IBAN_CODE": "<IBAN>",
    "FR_NIR": "<NIR>",
    "FR_LICENCE_PLATE": "<PLAQUE>",
    "FR_ADDRESS": "<ADRESSE>",
    "CREDIT_CARD": "<CARTE>",
    "IP_ADDRESS": "<IP>",
}


def masking_key(settings, env=None) -> bytes:
    """Key from the settings (``HYPERVISEUR_MASKING_KEY`` / ``..._FILE``), else from ``env``
    (default: the process environment), else the key file under the data dir."""
    configured = getattr(settings, "masking_key", None) or masking_key_value(env)
    if configured:
        return configured.encode()
    path = Path(settings.data_dir) / "keys" / "masking.key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_hex(32).encode())
    return path.read_bytes().strip()


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"key-id|" + key).hexdigest()[:8]


def pseudonymise(array: pa.ChunkedArray, key: bytes) -> pa.Array:
    """``pseudo-<16 hex>`` per distinct value (HMAC-SHA256), nulls kept."""
    encoded = pc.dictionary_encode(pc.cast(array, pa.string())).combine_chunks()
    pseudo = pa.array(
        [
            "pseudo-" + hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:16]
            for v in encoded.dictionary.to_pylist()
        ],
        pa.string(),
    )
    return pc.take(pseudo, encoded.indices)


def redact_texts(texts: list[str | None], batch_size: int = 64) -> list[str | None]:
    """Presidio redaction of free texts (distinct texts analysed once, in batch)."""
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import OperatorConfig

    distinct = sorted({t for t in texts if t})
    results = analyzer.analyze_batch(distinct, batch_size=batch_size)
    engine = AnonymizerEngine()
    operators = {e: OperatorConfig("replace", {"new_value": v}) for e, v in REDACTED.items()}
    redacted = {}
    for text, res in zip(distinct, results):
        res = [r for r in res if r.entity_type in REDACTED]
        redacted[text] = engine.anonymize(text=text, analyzer_results=res, operators=operators).text if res else text
    return [redacted.get(t, t) if t else t for t in texts]


def masked_table(table: pa.Table, pseudonymised: list[str], redacted: list[str], key: bytes) -> pa.Table:
    for name in pseudonymised:
        i = table.column_names.index(name)
        table = table.set_column(i, pa.field(name, pa.string()), pseudonymise(table.column(name), key))
    for name in redacted:
        i = table.column_names.index(name)
        table = table.set_column(
            i, pa.field(name, pa.string()), pa.array(redact_texts(table.column(name).to_pylist()), pa.string())
        )
    return table
