"""A counter of the changes to Superset's metadata database that can change who sees what.

``answer_cache.py`` sends a chart answer straight back to a person who asked for exactly the
same thing before, without running Superset's permission checks again, only while nothing
those checks read has changed since. This module is how it knows: SQLite triggers on every
table of the metadata database add one to a counter at each insert, update or delete, from
whatever writes it (a Superset worker, the ``superset`` command line, the platform's role
and row-level security sync, a hand-made SQL fix), so no writer can forget to say so.

Exempt are only the tables Superset writes while people merely read (its action log, SQL
Lab's query history and tab state, the key-value store of permalinks and filter states) and,
in ``ab_user``, the sign-in bookkeeping columns (written at every login, they say nothing of
what the user may see). Any other table, including one a later Superset version adds,
counts: the triggers are laid on every table found at each start.

Only for a SQLite metadata database (the local install); on any other database
:func:`install` returns False and the answers are never sent back before the checks.
Loaded by path by ``superset_config.py``; runs only inside Superset's virtualenv.
"""

from __future__ import annotations

import hashlib

from flask import g, has_request_context
from sqlalchemy import text

COUNTER = "hyperviseur_metadata_epoch"
_SEEN = "hyperviseur_metadata_epoch_seen"
TRIGGER_PREFIX = "hyperviseur_epoch_"
# One statement object for every read: SQLAlchemy keeps its compiled form's key on it.
_READ = text(f"SELECT value FROM {COUNTER} WHERE id = 1")
# Written while people read dashboards or use SQL Lab; none of them decides an access.
READ_TIME_TABLES = frozenset({"logs", "query", "tab_state", "table_schema", "key_value"})
# Columns a sign-in writes (Flask-AppBuilder's ``update_user_auth_stat``, the audit mixin).
SIGN_IN_COLUMNS = {
    "ab_user": frozenset({"last_login", "login_count", "fail_login_count", "changed_on", "changed_by_fk"})
}


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _triggers(table: str, columns: list[str]) -> dict[str, str]:
    """Trigger name -> CREATE statement for one table (insert, delete, update)."""
    bump = f"BEGIN UPDATE {COUNTER} SET value = value + 1 WHERE id = 1; END"
    on = f"ON {_quoted(table)} FOR EACH ROW {bump}"
    watched = [c for c in columns if c not in SIGN_IN_COLUMNS.get(table, ())]
    update_of = f"UPDATE OF {', '.join(_quoted(c) for c in watched)}" if table in SIGN_IN_COLUMNS else "UPDATE"
    # the watched columns are in the update trigger's name: a new column gets a new trigger
    digest = hashlib.sha256("\n".join(watched).encode()).hexdigest()[:12]
    statements = {
        f"{TRIGGER_PREFIX}{table}_insert": f"AFTER INSERT {on}",
        f"{TRIGGER_PREFIX}{table}_delete": f"AFTER DELETE {on}",
        f"{TRIGGER_PREFIX}{table}_update_{digest}": f"AFTER {update_of} {on}",
    }
    return {name: f"CREATE TRIGGER IF NOT EXISTS {_quoted(name)} {body}" for name, body in statements.items()}


def install(engine) -> bool:
    """Lay the counter and its triggers on every table; True when every table has them."""
    if engine.dialect.name != "sqlite":
        return False
    with engine.begin() as con:
        con.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {COUNTER} (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)"
            )
        )
        con.execute(text(f"INSERT OR IGNORE INTO {COUNTER} (id, value) VALUES (1, 0)"))
        tables = [
            name
            for (name,) in con.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
            if not name.startswith("sqlite_") and name != COUNTER and name not in READ_TIME_TABLES
        ]
        wanted: dict[str, str] = {}
        for table in tables:
            columns = [row[1] for row in con.execute(text(f"PRAGMA table_info({_quoted(table)})"))]
            wanted.update(_triggers(table, columns))
        for stale in _laid(con) - set(wanted):  # an update trigger on a column list since changed
            con.execute(text(f"DROP TRIGGER IF EXISTS {_quoted(stale)}"))
        for statement in wanted.values():
            con.execute(text(statement))
        return set(wanted) <= _laid(con)


def _laid(con) -> set[str]:
    rows = con.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
    return {name for (name,) in rows if name.startswith(TRIGGER_PREFIX)}


def read(session) -> int | None:
    """The counter as this request first saw it (read once, before any check of the request);
    None when it cannot be read (then nothing is answered or decided from memory)."""
    if not has_request_context():
        return None
    if _SEEN not in g:
        try:
            value = session.execute(_READ).scalar()
        except Exception:
            session.rollback()
            value = None
        setattr(g, _SEEN, value)
    return g.get(_SEEN)
