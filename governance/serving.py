"""The serving catalogs: one read-only DuckDB FILE per clearance, each over its own lake prefix.

Physical separation by clearance (see :mod:`governance.policies` for who opens which):

| catalog file (``settings.serving_dir``) | schema | views over (lake prefix) |
|---|---|---|
| ``serving_public.duckdb`` | ``public`` | ``public/<model>/data.parquet`` (PUBLIC marts) |
| ``serving_masked.duckdb`` | ``masked`` | ``masked/<model>/data.parquet`` (every mart) |
| ``serving_clear.duckdb`` | ``curated`` | ``curated/<model>/data.parquet`` (marts up to
  :data:`~governance.policies.CLEAR_CATALOG_MAX` only) |

Governance writes the serving copies: ``masked/<model>/`` for every mart (personal columns
pseudonymised, free text redacted; a plain copy when there is nothing to mask) and
``public/<model>/`` for PUBLIC marts without personal data. A copy whose mart left the
catalog (or stopped being PUBLIC) is deleted, so a prefix only ever holds its clearance's
files: a connection limited to ``public/`` cannot read any other mart, even by path.
Each file also has ``governance.scope`` (the exact files its views read: the connect
hook of Superset allows exactly those, nothing else) and ``governance.datasets``/``roles``.

Each file is built NEW then atomically swapped in (readers keep the old file open until
they reconnect; nothing ever opens a served file read-write). On a local lake the serving
zones and the catalog folder are left read-only (files 0444, folders 0555) between builds,
so a process of another user — or of the same user that does not chmod, like DuckDB —
cannot write there. On S3 lakes the views read ``s3://`` paths: readers need an S3 secret
(``lakehouse.duck.connect`` creates it; Superset gets a read-only key).
"""

from __future__ import annotations

import json
import os
import stat
import uuid
from pathlib import Path

from governance.catalog import DERIVED_SUFFIX, curated_models, curated_prefix, data_fingerprint
from governance.levels import PUBLIC, is_pii
from governance.masking import key_id, masked_table, masking_key
from governance.policies import CATALOGS, ROLES, in_clear_catalog
from governance.state import Classifier
from lakehouse.duck import open_catalog
from lakehouse.errors import LakehouseError
from lakehouse.lake import Lake, Zone
from lakehouse.storage import LocalStorage

CATALOG_FILES = {name: f"serving_{name}.duckdb" for name in CATALOGS}
ZONES = {"public": Zone.PUBLIC, "masked": Zone.MASKED, "clear": Zone.CURATED}
STAMPS = f"{Zone.META.value}/serving"  # provenance of the serving copies (never inside a served prefix)


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def catalog_paths(settings) -> dict[str, Path]:
    """``{clearance: path of its catalog file}``."""
    folder = Path(settings.serving_dir)
    return {name: folder / file for name, file in CATALOG_FILES.items()}


def mask_plan(state) -> tuple[list[str], list[str]]:
    """(columns to pseudonymise, free-text columns to redact) for a dataset state."""
    redact = sorted(c.name for c in state.columns.values() if c.kind == "free_text")
    pseudo = sorted(c.name for c in state.columns.values() if is_pii(c.tags) and c.name not in redact)
    return pseudo, redact


# -- read-only folders on a local lake ----------------------------------------------------------


def _set_writable(path: Path, writable: bool) -> None:
    """Folders 0755/0555 and files 0644/0444 under ``path`` (no-op where it is absent)."""
    if not path.exists():
        return
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            os.chmod(Path(dirpath) / name, 0o644 if writable else 0o444)
    for dirpath, _dirs, _files in os.walk(path, topdown=False):
        os.chmod(dirpath, 0o755 if writable else 0o555)


def _seal(lh, writable: bool) -> None:
    if isinstance(lh.storage, LocalStorage):
        for zone in (Zone.PUBLIC, Zone.MASKED):
            _set_writable(lh.storage.root / zone.value, writable)
    folder = Path(lh.settings.serving_dir)
    if folder.exists():
        mode = folder.stat().st_mode
        os.chmod(folder, (mode | stat.S_IWUSR) if writable else (mode & ~0o222))


# -- serving copies ---------------------------------------------------------------------------


def _fresh(lh, stamp_key: str, stamp: dict, target: str) -> bool:
    try:
        return lh.lake.read_json(stamp_key) == stamp and lh.storage.exists(target)
    except Exception:  # no stamp yet
        return False


def build_masked_copy(lh, model: str, state, key: bytes) -> str:
    """Write ``masked/<model>/data.parquet`` unless the source, plan and key are unchanged."""
    pseudo, redact = mask_plan(state)
    target = Lake.masked_key(model)
    stamp_key = f"{STAMPS}/{Zone.MASKED.value}/{model}.json"
    stamp = {
        "source": data_fingerprint(lh, curated_prefix(model)),
        "pseudonymised": pseudo,
        "redacted": redact,
        "key_id": key_id(key) if (pseudo or redact) else None,
    }
    if _fresh(lh, stamp_key, stamp, target):
        return target
    table = lh.lake.read_table(Lake.curated_key(model))
    lh.lake.write_table(target, masked_table(table, pseudo, redact, key) if (pseudo or redact) else table)
    lh.lake.write_json(stamp_key, stamp)
    return target


def build_public_copy(lh, model: str) -> str:
    """Write ``public/<model>/data.parquet`` (a byte copy of the PUBLIC mart) unless unchanged."""
    target = Lake.public_key(model)
    stamp_key = f"{STAMPS}/{Zone.PUBLIC.value}/{model}.json"
    stamp = {"source": data_fingerprint(lh, curated_prefix(model))}
    if _fresh(lh, stamp_key, stamp, target):
        return target
    with lh.storage.staged_file(target, suffix=".parquet") as tmp:
        lh.storage.download(Lake.curated_key(model), tmp)
    lh.lake.write_json(stamp_key, stamp)
    return target


def _prune(lh, zone: Zone, keep: set[str]) -> list[str]:
    """Delete the serving copies (and stamps) of ``zone`` whose mart is not in ``keep``."""
    removed = []
    for o in lh.storage.list(f"{zone.value}/"):
        parts = o.key.split("/")
        if len(parts) < 2 or parts[1] not in keep:
            lh.storage.delete(o.key)
            removed.append(o.key)
    for o in lh.storage.list(f"{STAMPS}/{zone.value}/"):
        if o.key.rsplit("/", 1)[-1].removesuffix(".json") not in keep:
            lh.storage.delete(o.key)
    return removed


def _drop_legacy_copies(lh) -> None:
    """Masked copies of the former layout (``curated/<model>__masked/``) leave the clear zone."""
    for o in lh.storage.list(f"{Zone.CURATED.value}/"):
        parts = o.key.split("/")
        if len(parts) > 2 and parts[1].endswith(DERIVED_SUFFIX):
            lh.storage.delete(o.key)


# -- catalogs ---------------------------------------------------------------------------------


def _write_catalog(lh, path: Path, schema: str, views: dict[str, str], rows: list[tuple]) -> Path:
    """A new DuckDB file with ``views`` (name -> Parquet URI), ``governance.*``; returns the temp path.

    ``governance.scope`` lists the exact files the views read: the only files a reader of
    this catalog is allowed to open (``superset/lockdown.py``).
    """
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    con = lh.duckdb(str(tmp))
    try:
        con.execute(f"CREATE SCHEMA {_q(schema)}")
        con.execute("CREATE SCHEMA governance")
        for model, uri in sorted(views.items()):
            con.execute(f"CREATE VIEW {_q(schema)}.{_q(model)} AS SELECT * FROM read_parquet({_lit(uri)})")
        con.execute("CREATE TABLE governance.scope (path VARCHAR)")
        if views:
            con.executemany("INSERT INTO governance.scope VALUES (?)", [(u,) for u in sorted(set(views.values()))])
        con.execute(
            "CREATE TABLE governance.datasets (model VARCHAR, level VARCHAR, pseudonymised_columns JSON, "
            "redacted_columns JSON, in_public BOOLEAN, pending_reviews INTEGER)"
        )
        mine = [r for r in rows if r[0] in views]
        if mine:
            con.executemany("INSERT INTO governance.datasets VALUES (?, ?, ?, ?, ?, ?)", mine)
        con.execute("CREATE TABLE governance.roles (role VARCHAR, clearance VARCHAR)")
        con.executemany("INSERT INTO governance.roles VALUES (?, ?)", list(ROLES.items()))
        con.execute("CHECKPOINT")
    except Exception:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    return tmp


def build_serving_catalog(lh, models: list[str] | None = None, classifier: Classifier | None = None) -> dict[str, Path]:
    """Write the serving copies, build the three catalog files and swap each in.

    Returns ``{clearance: catalog path}`` (``public``, ``masked``, ``clear``).
    """
    models = sorted(models) if models is not None else curated_models(lh)
    missing = [m for m in models if not lh.storage.exists(Lake.curated_key(m))]
    if missing:
        raise LakehouseError(f"marts absents du lac (curated/<modèle>/data.parquet) : {', '.join(missing)}")
    classifier = classifier or Classifier(lh)
    key = masking_key(lh.settings)
    paths = catalog_paths(lh.settings)
    folder = Path(lh.settings.serving_dir)
    folder.mkdir(parents=True, exist_ok=True)
    _seal(lh, writable=True)
    tmps: dict[str, Path] = {}
    try:
        views: dict[str, dict[str, str]] = {name: {} for name in CATALOGS}
        rows = []
        for model in models:
            st = classifier.state(model)
            pseudo, redact = mask_plan(st)
            views["masked"][model] = lh.storage.uri(build_masked_copy(lh, model, st, key))
            public = st.level == PUBLIC and not st.pii_columns
            if public:
                views["public"][model] = lh.storage.uri(build_public_copy(lh, model))
            if in_clear_catalog(st.level):
                views["clear"][model] = lh.storage.uri(Lake.curated_key(model))
            rows.append((model, st.level, json.dumps(pseudo), json.dumps(redact), public, len(st.pending)))
        _prune(lh, Zone.MASKED, set(views["masked"]))
        _prune(lh, Zone.PUBLIC, set(views["public"]))
        _drop_legacy_copies(lh)
        for name, schema in CATALOGS.items():
            tmps[name] = _write_catalog(lh, paths[name], schema, views[name], rows)
        for name, tmp in tmps.items():
            os.chmod(tmp, 0o444)
            os.replace(tmp, paths[name])
    finally:
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)
        _seal(lh, writable=False)
    return paths


def catalog_views(path: Path) -> dict[str, str]:
    """``{schema.view: SQL}`` of a catalog file (opened read-only, nothing read from the lake)."""
    con = open_catalog(path)
    try:
        rows = con.execute(
            "SELECT schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal AND database_name = current_database()"
        ).fetchall()
    finally:
        con.close()
    return {f"{s}.{v}": sql for s, v, sql in rows}
