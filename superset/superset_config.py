"""Superset configuration for Hyperviseur (loaded through ``SUPERSET_CONFIG_PATH``).

Runs inside Superset's own virtualenv, so it imports nothing from the platform: every
value arrives through ``HYPERVISEUR_SUPERSET_*`` / ``HYPERVISEUR_SSO_*`` variables set by
``superset/service.py`` (or by the Helm chart in production).

Sign-on (``sign_on.py``): OpenID Connect only for the web UI, roles from the directory's
groups at each login, the password database for the break-glass administrator's API calls
only; without the provider's issuer and client secret Superset refuses to start.

Security model for the DuckDB serving catalog, in depth:
1. one Superset database per serving catalog FILE (public, masked, clear: one clearance
   each, see ``governance/serving.py``), opened read-only (connection extra); the connect
   hook refuses a read-write handle and any file that is not a serving catalog;
2. the connect hook (``lockdown.py``) locks DuckDB down: file access only to the
   files its catalog's views read, all under the catalog's own lake prefix (``public/``,
   ``masked/``, or ``curated/`` for the clear marts), no temp directory, no extension
   loading, configuration frozen; on S3 the key is read-only and scoped to that prefix;
3. ``SQL_QUERY_MUTATOR`` (``sql_guard.py``) accepts only ALLOWLISTED statements: one
   plain read query over schema.table names Superset itself extracts (so permissions and
   RLS apply), allowlisted functions only; and caps every result at ``EXPORT_ROW_LIMIT``
   rows for non-admin users (results shown, charts and CSV downloads alike);
4. every DuckDB instance has a memory and thread limit, every statement a timeout.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import threading
from pathlib import Path

import yaml
from flask_appbuilder.security.manager import AUTH_OAUTH
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

HOME = Path(os.environ.get("HYPERVISEUR_SUPERSET_HOME", os.environ.get("SUPERSET_HOME", "."))).resolve()


def _secret(name: str) -> str:
    """Secret from the environment (``HYPERVISEUR_SUPERSET_<NAME>``, else the official image's
    ``SUPERSET_<NAME>``, which the Kubernetes secret sets), else from the file written by
    ``service.py init``."""
    value = os.environ.get(f"HYPERVISEUR_SUPERSET_{name.upper()}") or os.environ.get(f"SUPERSET_{name.upper()}")
    if value:
        return value
    path = HOME / name
    if not path.is_file():
        raise RuntimeError(
            f"secret Superset absent : définir HYPERVISEUR_SUPERSET_{name.upper()} (ou SUPERSET_{name.upper()}) "
            f"ou lancer « python superset/service.py init » (fichier {path})"
        )
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret("secret_key")
SQLALCHEMY_DATABASE_URI = os.environ.get("HYPERVISEUR_SUPERSET_DATABASE_URI") or f"sqlite:///{HOME / 'superset.db'}"
_METADATA_FILE = Path(SQLALCHEMY_DATABASE_URI.removeprefix("sqlite:///")).resolve()
if SQLALCHEMY_DATABASE_URI.startswith("sqlite:///"):
    # Local installs: connections to the SQLite metadata database are kept (SQLAlchemy 1.4 opens
    # and closes one per use, and each close of a write-ahead-logged file checkpoints it), each
    # usable by any of the worker's threads (one at a time, the pool's rule).
    SQLALCHEMY_ENGINE_OPTIONS = {"poolclass": QueuePool, "connect_args": {"check_same_thread": False}}

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

# Chart results are cached on disk in the Superset home, one folder read and written by every
# gunicorn worker (``results_cache.py``): a dashboard opened by many agents runs each chart's
# SQL once. The key includes the query and the user's RLS clauses, so roles never share rows; a
# result at the row cap stays with its audience (administrators uncapped, everyone else capped).
# The warm-up after each mart refresh (``warm.py``: the hourly and daily jobs, provisioning)
# replaces the starter charts' answers, so they are kept longer than an hour (75 min): the
# agents never find them expired between two refreshes. Any other chart shows a refreshed mart
# after at most that, or at once with "Forcer l'actualisation"; 0 disables the cache.
_CACHE_TIMEOUT = int(os.environ.get("HYPERVISEUR_SUPERSET_CACHE_TIMEOUT", "4500"))
DATA_CACHE_CONFIG = {
    "CACHE_TYPE": "hyperviseur_results_cache.CappedResultsCache" if _CACHE_TIMEOUT > 0 else "NullCache",
    "CACHE_DIR": str(HOME / "cache" / "data"),
    "CACHE_DEFAULT_TIMEOUT": _CACHE_TIMEOUT,
    "CACHE_THRESHOLD": 5000,
    "CACHE_OPTIONS": {"row_cap": EXPORT_ROW_LIMIT} if _CACHE_TIMEOUT > 0 else {},
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


def _load(name: str):
    """``superset/<name>.py`` by path: Superset's own ``superset`` package shadows this folder."""
    spec = importlib.util.spec_from_file_location(f"hyperviseur_{name}", Path(__file__).resolve().parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_lockdown = _load("lockdown")
_duckdb_engines = _load("duckdb_engines")
sys.modules["hyperviseur_file_cache"] = _load("file_cache")  # imported by results_cache, answer_cache, single_flight
sys.modules["hyperviseur_results_cache"] = _load("results_cache")  # DATA_CACHE_CONFIG imports it by name

# --- Sign-on (issue 14, sign_on.py) -------------------------------------------------------
# The web UI signs on only through the OpenID Connect provider (the authority's LemonLDAP::NG,
# or locally infra/sso/idp.py); roles follow the directory groups at every login. The password
# database serves only the break-glass administrator, through the REST API.


def _setting(name: str, required: str | None = None) -> str | None:
    """``HYPERVISEUR_<name>``, or the content of the file named by ``HYPERVISEUR_<name>_FILE``;
    missing and ``required``: refused (no fallback to password login)."""
    value = os.environ.get(f"HYPERVISEUR_{name}")
    path = os.environ.get(f"HYPERVISEUR_{name}_FILE")
    if not value and path:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise RuntimeError(f"HYPERVISEUR_{name}_FILE : fichier illisible {path} ({exc.strerror})") from None
    if not value and required:
        raise RuntimeError(
            f"authentification unique de Superset non configurée : {required} absent "
            f"(définir HYPERVISEUR_{name} ou HYPERVISEUR_{name}_FILE) ; Superset ne démarre pas "
            "sans son fournisseur d'identité"
        )
    return value or None


_ISSUER = _setting("SSO_ISSUER", "l'adresse (issuer) du fournisseur OpenID Connect")
_CLIENT_SECRET = _setting("SUPERSET_OIDC_CLIENT_SECRET", "le secret du client OpenID Connect de Superset")
_sign_on = _load("sign_on")
_remembered = _load("remembered_checks")
AUTH_TYPE = AUTH_OAUTH


class _SecurityManager(_remembered.RememberedChecks, _sign_on.HyperviseurSecurityManager):
    """Sign-on rules (``sign_on.py``), permission checks kept while the metadata is unchanged."""


CUSTOM_SECURITY_MANAGER = _SecurityManager
OAUTH_PROVIDERS = _sign_on.oauth_providers(_ISSUER, _setting("SUPERSET_OIDC_CLIENT_ID") or "superset", _CLIENT_SECRET)
AUTH_USER_REGISTRATION = True  # a directory user with a mapped group gets a Superset account at first login
AUTH_USER_REGISTRATION_ROLE = None  # ...with the roles of its groups only
AUTH_ROLES_SYNC_AT_LOGIN = True
AUTH_ROLES_MAPPING = _sign_on.roles_mapping(
    list(yaml.safe_load((Path(__file__).resolve().parent / "access.yaml").read_text(encoding="utf-8"))["services"])
)
BREAK_GLASS_ADMIN = _setting("SUPERSET_ADMIN_USER")  # none: no password login at all
AUTH_API_LOGIN_ALLOW_MULTIPLE_PROVIDERS = True  # /api/v1/security/login "db": the break-glass admin only
# Logging out of Superset also ends the sign-on session (LemonLDAP::NG's portal logout).
LOGOUT_REDIRECT_URL = _setting("SSO_LOGOUT_URL") or _ISSUER.rstrip("/") + "/?logout=1"


@event.listens_for(Engine, "connect")
def _lock_down_duckdb(dbapi_connection, _record) -> None:
    """Freeze every DuckDB connection before Superset uses it (see ``lockdown.py``).

    Each Superset database is one serving catalog (``serving_<clearance>.duckdb``); its
    connection may read only its clearance's lake prefix, opened read-only, configuration
    locked. Any other DuckDB file, or a read-write handle, is refused.
    """
    if not type(dbapi_connection).__module__.startswith("duckdb"):
        return
    with _lockdown_guard:
        _sql_guard.apply_limits(dbapi_connection, DUCKDB_MEMORY_LIMIT, DUCKDB_THREADS, STATEMENT_TIMEOUT_S)
        locked = _lockdown.lock_down(dbapi_connection, _LAKE_URL, _S3, [_extension_file(name) for name in _EXTENSIONS])
        # a new instance, on the file now at the catalog's path: the one duckdb_engines.py keeps open
        setattr(dbapi_connection, _duckdb_engines.NEW_INSTANCE, locked is not None)


# --- SQL allowlist and resource limits (sql_guard.py) ---------------------------------

# Per DuckDB instance (one per serving catalog file): memory and threads of its queries;
# per statement: wall-clock limit after which the connection is interrupted (DuckDB has
# no statement timeout of its own). Set by service.py (or the Helm chart).
DUCKDB_MEMORY_LIMIT = os.environ.get("HYPERVISEUR_SUPERSET_MEMORY_LIMIT", "1GB")
DUCKDB_THREADS = int(os.environ.get("HYPERVISEUR_SUPERSET_THREADS_PER_QUERY", "2"))
STATEMENT_TIMEOUT_S = float(os.environ.get("HYPERVISEUR_SUPERSET_STATEMENT_TIMEOUT_S", "30"))


_sql_guard = _load("sql_guard")
ForbiddenStatement = _sql_guard.ForbiddenStatement


def SQL_QUERY_MUTATOR(sql: str, security_manager=None, database=None, **_kwargs) -> str:
    """Every SQL Lab statement, chart query and virtual dataset on DuckDB passes the allowlist.

    Admins too; only the row cap (``EXPORT_ROW_LIMIT``, exfiltration control) spares them.
    Superset's own metadata queries (schemas, tables, columns) go through SQLAlchemy
    inspection, not through this hook. ``MUTATE_AFTER_SPLIT`` stays False: SQL Lab calls
    the hook once per statement, charts once per query.
    """
    if database is None or database.backend != "duckdb":
        return sql
    row_cap = None if _is_admin(security_manager) else EXPORT_ROW_LIMIT
    return _sql_guard.guard(sql, row_cap=row_cap)


def _is_admin(security_manager) -> bool:
    try:
        return bool(security_manager and security_manager.is_admin())
    except Exception:  # no user in context (CLI, start-up): treat as non-admin
        return False


# Who ran what, when: SQL Lab keeps every query in its `query` table, and the action log
# (`logs` table) every chart data request and CSV export, with the row count of the answer
# (`access_log.py`); `hyperviseur superset harvest` copies both into the platform audit log.
QUERY_LOGGER = None
_access_log = _load("access_log")
EVENT_LOGGER = _access_log.RowCountEventLogger()


def FLASK_APP_MUTATOR(app) -> None:
    _access_log.install(app, EVENT_LOGGER)
    _index_action_log()
    _load("time_columns").install()
    _duckdb_engines.install()
    read_epoch = _count_metadata_changes()
    _SecurityManager.read_epoch = staticmethod(read_epoch) if read_epoch else None
    _load("done_once").install(_remembered.remembered_dataset if read_epoch else None)
    if read_epoch:
        _remembered.remember_rule_free_virtual_sql()
    if _CACHE_TIMEOUT > 0:
        store = _answer_cache.AnswerStore(str(HOME / "cache" / "answers"), _CACHE_TIMEOUT)
        setup = _answer_cache.setup_fingerprint(Path(__file__).resolve().parent)
        grants = _answer_cache.Grants(str(HOME / "cache" / "grants"), setup, read_epoch) if read_epoch else None
        _answer_cache.install(store, grants, _access_log.note_rowcounts)
        _load("single_flight").install(app, HOME / "cache" / "locks", STATEMENT_TIMEOUT_S)


def _index_action_log() -> None:
    from superset import db

    try:
        _access_log.index_chart_requests(db.engine)
    except Exception:  # a start is never refused for an index: the warm-up is only slower
        logging.getLogger(__name__).exception("index du journal des actions non créé")


def _count_metadata_changes():
    """``metadata_epoch.read`` once the metadata database counts its access-relevant changes
    (SQLite: triggers laid at each start); None elsewhere: then answers are sent after the
    checks only and no check is answered from memory."""
    from superset import db

    epoch = _load("metadata_epoch")
    try:
        counted = epoch.install(db.engine)
    except Exception:  # no metadata database yet, or not writable
        logging.getLogger(__name__).exception("compteur de modifications des métadonnées non installé")
        counted = False
    return epoch.read if counted else None


# --- Per-request overhead (issue 20: many agents on the dashboards at once) -----------------

# A cached chart's JSON answer is sent again as it was to the next request Superset would give
# the same bytes, after Superset's own checks (answer_cache.py); kept beside the data cache.
sys.modules["hyperviseur_time_windows"] = _load("time_windows")  # imported by answer_cache
_answer_cache = _load("answer_cache")


@event.listens_for(Engine, "connect")
def _sqlite_write_ahead_log(dbapi_connection, _record) -> None:
    """A SQLite metadata database (local installs) in WAL mode: readers never wait for the writer.

    Every chart data request writes its access-log entry (``access_log.py``); in SQLite's
    default rollback journal each such commit locks the whole file and syncs it twice, which
    serialises all the workers' requests. ``synchronous=NORMAL``: the log is synced at each
    checkpoint, not at each commit; an entry survives a crash of Superset, the last ones may
    not survive a power cut (production runs on PostgreSQL, ``HYPERVISEUR_SUPERSET_DATABASE_URI``).
    """
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    cursor = dbapi_connection.cursor()
    files = {Path(row[2]).resolve() for row in cursor.execute("PRAGMA database_list") if row[2]}
    if _METADATA_FILE not in files:  # a SQLite file registered as a data source: left alone
        cursor.close()
        return
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
