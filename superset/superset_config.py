"""Superset configuration for Hyperviseur (loaded through ``SUPERSET_CONFIG_PATH``).

Runs inside Superset's own virtualenv, so it imports nothing from the platform: every
value arrives through ``HYPERVISEUR_SUPERSET_*`` variables set by ``superset/service.py``
(or by the Helm chart in production).

Security model for the DuckDB serving catalog, in depth:
1. the database is opened read-only (connection extra) and the connect hook refuses a
   read-write handle;
2. the connect hook locks DuckDB down: no file access outside the curated zone, no
   extension loading, configuration frozen;
3. ``DISALLOWED_SQL_FUNCTIONS`` rejects the file-reading table functions in SQL Lab;
4. ``SQL_QUERY_MUTATOR`` rejects non-read statements (COPY, ATTACH, SET, ...) and direct
   file paths used as tables, and caps every result at ``EXPORT_ROW_LIMIT`` rows for
   non-admin users (results shown, charts and CSV downloads alike).
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from pathlib import Path

import sqlglot
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlglot import exp

HOME = Path(os.environ.get("HYPERVISEUR_SUPERSET_HOME", os.environ.get("SUPERSET_HOME", "."))).resolve()


def _secret(name: str) -> str:
    """Secret from the environment, else from the file written by ``service.py init``."""
    value = os.environ.get(f"HYPERVISEUR_SUPERSET_{name.upper()}")
    if value:
        return value
    path = HOME / name
    if not path.is_file():
        raise RuntimeError(
            f"secret Superset absent : définir HYPERVISEUR_SUPERSET_{name.upper()} "
            f"ou lancer « python superset/service.py init » (fichier {path})"
        )
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret("secret_key")
SQLALCHEMY_DATABASE_URI = os.environ.get("HYPERVISEUR_SUPERSET_DATABASE_URI") or f"sqlite:///{HOME / 'superset.db'}"

# French first; English kept for administrators.
BABEL_DEFAULT_LOCALE = "fr"
LANGUAGES = {
    "fr": {"flag": "fr", "name": "Français"},
    "en": {"flag": "us", "name": "English"},
}

FEATURE_FLAGS = {
    "RLS_IN_SQLLAB": True,  # without it SQL Lab ignores row-level security
    "DASHBOARD_RBAC": True,  # dashboards carry the roles allowed to open them
    "ALLOW_FULL_CSV_EXPORT": False,
}
AUTH_ROLE_PUBLIC = "Public"  # anonymous visitors: public dashboards only (provisioned)
PUBLIC_ROLE_LIKE = None
FAB_API_MAX_PAGE_SIZE = 500
SQLLAB_TIMEOUT = 60
SUPERSET_WEBSERVER_TIMEOUT = 60

EXPORT_ROW_LIMIT = int(os.environ.get("HYPERVISEUR_SUPERSET_EXPORT_ROW_LIMIT", "10000"))

# Chart results are cached on disk in the Superset home: a dashboard opened by many agents
# runs each chart's SQL once per timeout. The key includes the query and the user's RLS
# clauses, so roles never share rows. A refreshed mart shows up after at most the timeout
# (or at once with "Forcer l'actualisation"); 0 disables the cache.
_CACHE_TIMEOUT = int(os.environ.get("HYPERVISEUR_SUPERSET_CACHE_TIMEOUT", "600"))
DATA_CACHE_CONFIG = {
    "CACHE_TYPE": "FileSystemCache" if _CACHE_TIMEOUT > 0 else "NullCache",
    "CACHE_DIR": str(HOME / "cache" / "data"),
    "CACHE_DEFAULT_TIMEOUT": _CACHE_TIMEOUT,
    "CACHE_THRESHOLD": 5000,
}

# --- DuckDB lockdown -------------------------------------------------------------------

_LAKE_URL = os.environ.get("HYPERVISEUR_SUPERSET_LAKE_URL", "")
_S3 = json.loads(os.environ.get("HYPERVISEUR_SUPERSET_S3", "null") or "null")
_EXTENSIONS = [n for n in os.environ.get("HYPERVISEUR_SUPERSET_DUCKDB_EXTENSIONS", "").split(",") if n]
_lockdown_guard = threading.Lock()


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _extension_file(name: str) -> str:
    """``<name>.duckdb_extension`` from the ``duckdb-extension-<name>`` pip package (no download)."""
    import duckdb

    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"extension DuckDB « {name} » absente de .venv-superset (duckdb-extension-{name})")
    folder = Path(next(iter(spec.submodule_search_locations)))
    return str(folder / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension")


def _allowed_directories() -> list[str]:
    """Only the curated zone, which the serving views read."""
    if not _LAKE_URL:
        return []
    return [_LAKE_URL.rstrip("/") + "/curated/"]


@event.listens_for(Engine, "connect")
def _lock_down_duckdb(dbapi_connection, _record) -> None:
    """Freeze every DuckDB connection before Superset uses it.

    DuckDB shares one database instance per file and process, so settings made by the
    first connection hold for the next ones; a locked instance is left as it is.
    """
    if not type(dbapi_connection).__module__.startswith("duckdb"):
        return
    with _lockdown_guard:
        readonly = dbapi_connection.execute(
            "SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchone()[0]
        if not readonly:
            raise RuntimeError(
                "connexion DuckDB en écriture refusée : le catalogue de service s'ouvre en lecture seule"
            )
        if dbapi_connection.execute("SELECT current_setting('lock_configuration')").fetchone()[0]:
            return
        for name in _EXTENSIONS:
            dbapi_connection.execute(f"LOAD {_sql_str(_extension_file(name))}")
        if _S3:
            dbapi_connection.execute(
                "CREATE OR REPLACE SECRET hyperviseur_lake (TYPE s3, "
                f"KEY_ID {_sql_str(_S3['key_id'])}, SECRET {_sql_str(_S3['secret'])}, "
                f"REGION {_sql_str(_S3['region'])}, ENDPOINT {_sql_str(_S3['endpoint'])}, "
                f"URL_STYLE 'path', USE_SSL {'true' if _S3['use_ssl'] else 'false'})"
            )
        dirs = ", ".join(_sql_str(d) for d in _allowed_directories())
        dbapi_connection.execute(f"SET allowed_directories = [{dirs}]")
        dbapi_connection.execute("SET enable_external_access = false")
        dbapi_connection.execute("SET autoinstall_known_extensions = false")
        dbapi_connection.execute("SET lock_configuration = true")


# Table functions that read files, remote URLs or other databases.
_FILE_FUNCTIONS = {
    "read_csv",
    "read_csv_auto",
    "read_parquet",
    "parquet_scan",
    "read_json",
    "read_json_auto",
    "read_json_objects",
    "read_ndjson",
    "read_ndjson_auto",
    "read_ndjson_objects",
    "read_text",
    "read_blob",
    "glob",
    "parquet_metadata",
    "parquet_schema",
    "parquet_file_metadata",
    "parquet_kv_metadata",
    "sniff_csv",
    "query",
    "query_table",
    "sqlite_scan",
    "iceberg_scan",
    "delta_scan",
    "st_read",
    "st_read_meta",
    "read_xlsx",
    "duckdb_secrets",
    "duckdb_settings",
}
DISALLOWED_SQL_FUNCTIONS = {"duckdb": {name.upper() for name in _FILE_FUNCTIONS}}

# Statements that only read (everything else — COPY, ATTACH, EXPORT, SET, PRAGMA, LOAD,
# INSTALL, CALL — is refused, for every user).
_READ_STATEMENTS = (exp.Query, exp.Values, exp.Pivot, exp.Summarize, exp.Describe, exp.Show)


class ForbiddenStatement(Exception):
    """Raised by the query mutator; Superset shows the message to the user."""


def _check_statement(tree: exp.Expression) -> None:
    explain = isinstance(tree, exp.Command) and str(tree.this).upper() == "EXPLAIN"
    if not explain and not isinstance(tree, _READ_STATEMENTS):
        raise ForbiddenStatement(f"instruction interdite sur le catalogue de service : {tree.key.upper()}")
    for func in tree.find_all(exp.Func):
        name = (func.name if isinstance(func, exp.Anonymous) else func.sql_name()).lower()
        if name in _FILE_FUNCTIONS:
            raise ForbiddenStatement(f"fonction interdite : {name}")
    for table in tree.find_all(exp.Table):
        name = table.name or ""
        if (
            isinstance(table.this, exp.Literal)
            or "/" in name
            or "://" in name
            or name.lower().endswith((".parquet", ".csv", ".json", ".duckdb", ".db", ".txt", ".gz"))
        ):
            raise ForbiddenStatement(f"lecture directe de fichier interdite : {name}")


def SQL_QUERY_MUTATOR(sql: str, security_manager=None, database=None, **_kwargs) -> str:
    """Refuse anything but reads on DuckDB and cap non-admin results (exfiltration control)."""
    if database is None or database.backend != "duckdb":
        return sql
    try:
        trees = [t for t in sqlglot.parse(sql, read="duckdb") if t is not None]
    except sqlglot.errors.ParseError as exc:
        raise ForbiddenStatement(f"requête illisible : {exc}") from None
    for tree in trees:
        _check_statement(tree)
    if _is_admin(security_manager):
        return sql
    if len(trees) != 1:
        raise ForbiddenStatement("une seule instruction à la fois")
    if isinstance(trees[0], (exp.Describe, exp.Show, exp.Command)):
        return sql
    body = sql.strip().rstrip(";")
    return f"SELECT * FROM (\n{body}\n) AS hv_capped LIMIT {EXPORT_ROW_LIMIT}"


def _is_admin(security_manager) -> bool:
    try:
        return bool(security_manager and security_manager.is_admin())
    except Exception:  # no user in context (CLI, start-up): treat as non-admin
        return False


# Who ran what, when: SQL Lab keeps every query in its `query` table, which
# `hyperviseur superset harvest` copies into the platform audit log.
QUERY_LOGGER = None
