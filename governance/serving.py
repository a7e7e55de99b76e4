"""The serving DuckDB: read-only views over curated Parquet, one schema per clearance.

Built as a NEW file then atomically swapped into ``settings.serving_db`` (readers keep the
old file open until they reconnect; nothing ever opens the served file read-write).
Schemas (see :mod:`governance.policies` for who reads which): ``curated`` (clear),
``masked`` (personal columns pseudonymised, free text redacted: views over
``curated/<model>__masked/data.parquet``), ``public`` (PUBLIC datasets only) and
``governance`` (tables ``datasets`` and ``roles`` describing the policy).
On S3 lakes the views read ``s3://`` paths: readers need the S3 secret
(``lakehouse.duck.connect`` creates it).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from governance.catalog import DERIVED_SUFFIX, curated_models, curated_prefix, data_fingerprint
from governance.levels import PUBLIC, is_pii
from governance.masking import key_id, masked_table, masking_key
from governance.policies import ROLES
from governance.state import Classifier
from lakehouse.errors import LakehouseError
from lakehouse.lake import Lake


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def mask_plan(state) -> tuple[list[str], list[str]]:
    """(columns to pseudonymise, free-text columns to redact) for a dataset state."""
    redact = sorted(c.name for c in state.columns.values() if c.kind == "free_text")
    pseudo = sorted(c.name for c in state.columns.values() if is_pii(c.tags) and c.name not in redact)
    return pseudo, redact


def build_masked_copy(lh, model: str, state, key: bytes) -> str:
    """Write ``curated/<model>__masked/data.parquet`` unless the source, plan and key are unchanged."""
    pseudo, redact = mask_plan(state)
    target = Lake.curated_key(model + DERIVED_SUFFIX)
    stamp_key = curated_prefix(model + DERIVED_SUFFIX) + "_source.json"
    stamp = {
        "source": data_fingerprint(lh, curated_prefix(model)),
        "pseudonymised": pseudo,
        "redacted": redact,
        "key_id": key_id(key),
    }
    try:
        if lh.lake.read_json(stamp_key) == stamp and lh.storage.exists(target):
            return target
    except Exception:  # no stamp yet
        pass
    table = lh.lake.read_table(Lake.curated_key(model))
    lh.lake.write_table(target, masked_table(table, pseudo, redact, key))
    lh.lake.write_json(stamp_key, stamp)
    return target


def build_serving_catalog(lh, models: list[str] | None = None, classifier: Classifier | None = None) -> Path:
    """Build a new serving DuckDB with ``curated``/``masked``/``public`` views and swap it in."""
    models = sorted(models) if models is not None else curated_models(lh)
    missing = [m for m in models if not lh.storage.exists(Lake.curated_key(m))]
    if missing:
        raise LakehouseError(f"marts absents du lac (curated/<modèle>/data.parquet) : {', '.join(missing)}")
    classifier = classifier or Classifier(lh)
    key = masking_key(lh.settings)
    target = Path(lh.settings.serving_db)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    rows = []
    con = lh.duckdb(str(tmp))
    try:
        for schema in ("curated", "masked", "public", "governance"):
            con.execute(f"CREATE SCHEMA {schema}")
        for model in models:
            st = classifier.state(model)
            pseudo, redact = mask_plan(st)
            clear = lh.storage.uri(Lake.curated_key(model))
            con.execute(f"CREATE VIEW curated.{_q(model)} AS SELECT * FROM read_parquet({_lit(clear)})")
            masked = lh.storage.uri(build_masked_copy(lh, model, st, key)) if (pseudo or redact) else clear
            con.execute(f"CREATE VIEW masked.{_q(model)} AS SELECT * FROM read_parquet({_lit(masked)})")
            public = st.level == PUBLIC and not st.pii_columns
            if public:
                con.execute(f"CREATE VIEW public.{_q(model)} AS SELECT * FROM read_parquet({_lit(clear)})")
            rows.append((model, st.level, json.dumps(pseudo), json.dumps(redact), public, len(st.pending)))
        con.execute(
            "CREATE TABLE governance.datasets (model VARCHAR, level VARCHAR, pseudonymised_columns JSON, "
            "redacted_columns JSON, in_public BOOLEAN, pending_reviews INTEGER)"
        )
        if rows:
            con.executemany("INSERT INTO governance.datasets VALUES (?, ?, ?, ?, ?, ?)", rows)
        con.execute("CREATE TABLE governance.roles (role VARCHAR, clearance VARCHAR)")
        con.executemany("INSERT INTO governance.roles VALUES (?, ?)", list(ROLES.items()))
        con.execute("CHECKPOINT")
    except Exception:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(tmp, target)
    return target
