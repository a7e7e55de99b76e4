"""Lock a DuckDB connection on a serving catalog down to that catalog's clearance.

Used by the connect hook of ``superset_config.py`` (Superset's venv loads this file by path:
the repository's ``superset`` folder is not importable there) and by the tests, so a test
connection is locked exactly as Superset's. Depends on nothing but the DuckDB connection.

One catalog file per clearance (``serving_<clearance>.duckdb``, built by
``governance.serving``); a connection may read ONLY the files its catalog lists in
``governance.scope``, which must lie under the clearance's lake prefix:
``public/`` (public), ``masked/`` (masked), ``curated/`` (clear, marts up to CONFIDENTIEL).
Then:
- the connection must be read-only (a read-write handle is refused);
- ``allowed_paths`` = exactly those files, ``allowed_directories`` = none, the temp
  directory disabled (DuckDB would otherwise allow ``<catalog>.tmp/``),
  ``enable_external_access = false`` (nothing else: no other file, no ATTACH of another
  catalog, no URL, no new file anywhere — COPY writes ``tmp_<name>`` first, which is not
  allowed), extensions neither installed nor autoloaded, and the configuration locked;
- on S3, the secret is scoped to the clearance's prefix (and the key is read-only).

What DuckDB does NOT distinguish: ``allowed_directories``/``allowed_paths`` grant writes as
well as reads (DuckDB 1.5.5): ``COPY … TO '<an allowed file>' (USE_TMP_FILE false)`` can
overwrite one of the catalog's own files, and DuckDB always allows the catalog file and its
WAL. Those writes are stopped elsewhere: read-only S3 keys, read-only folders on a local
lake (set by governance; not enforceable for root), and the SQL allowlist of
``superset_config.py`` (only reading statements reach DuckDB).
"""

from __future__ import annotations

import re
from pathlib import Path

ZONES = {"public": "public", "masked": "masked", "clear": "curated"}
_FILE = re.compile(r"^serving_(public|masked|clear)\.duckdb$")


class LockdownError(RuntimeError):
    pass


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def catalog_clearance(path: str | Path | None) -> str | None:
    """Clearance of a serving catalog file from its name, None for any other file."""
    m = _FILE.match(Path(path).name) if path else None
    return m.group(1) if m else None


def zone_prefix(lake_url: str, clearance: str) -> str:
    return lake_url.rstrip("/") + "/" + ZONES[clearance] + "/"


def catalog_scope(con, lake_url: str) -> tuple[str, list[str]]:
    """(clearance, files) of the catalog the connection has open, checked against the lake."""
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    clearance = catalog_clearance(path)
    if clearance is None:
        raise LockdownError(
            f"fichier DuckDB refusé : {path} n'est pas un catalogue de service (serving_<niveau>.duckdb)"
        )
    if not lake_url:
        raise LockdownError("emplacement du lac inconnu (HYPERVISEUR_SUPERSET_LAKE_URL)")
    prefix = zone_prefix(lake_url, clearance)
    files = [r[0] for r in con.execute("SELECT path FROM governance.scope ORDER BY 1").fetchall()]
    for f in files:
        if not f.startswith(prefix) or "/../" in f or "/./" in f or "*" in f or "?" in f:
            raise LockdownError(f"catalogue {clearance} : fichier hors de sa zone {prefix} : {f}")
    return clearance, files


def lock_down(con, lake_url: str, s3: dict | None = None, extension_files: list[str] = ()) -> str | None:
    """Lock one DuckDB connection; returns its clearance (None when the instance was already locked).

    DuckDB shares one database instance per file and process, so settings made by the
    first connection hold for the next ones; a locked instance is left as it is.
    """
    readonly = con.execute(
        "SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()[0]
    if not readonly:
        raise LockdownError("connexion DuckDB en écriture refusée : un catalogue de service s'ouvre en lecture seule")
    if con.execute("SELECT current_setting('lock_configuration')").fetchone()[0]:
        return None
    clearance, files = catalog_scope(con, lake_url)
    for ext in extension_files:
        con.execute(f"LOAD {_sql_str(ext)}")
    if s3:
        # one read-only key per clearance when given ({"keys": {"masked": {"key_id", "secret"}}}),
        # else the single read-only key of Superset
        s3 = {**s3, **s3.get("keys", {}).get(clearance, {})}
        con.execute(
            "CREATE OR REPLACE SECRET hyperviseur_lake (TYPE s3, "
            f"KEY_ID {_sql_str(s3['key_id'])}, SECRET {_sql_str(s3['secret'])}, "
            f"REGION {_sql_str(s3['region'])}, ENDPOINT {_sql_str(s3['endpoint'])}, "
            f"URL_STYLE 'path', USE_SSL {'true' if s3['use_ssl'] else 'false'}, "
            f"SCOPE {_sql_str(zone_prefix(lake_url, clearance))})"
        )
    con.execute("SET temp_directory = ''")
    con.execute("SET allowed_directories = []")
    con.execute(f"SET allowed_paths = [{', '.join(_sql_str(f) for f in files)}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")
    return clearance
