"""One SQLAlchemy engine per DuckDB serving catalog and worker, and the catalog kept open.

Superset builds a new SQLAlchemy engine for every query it runs (``Database._get_sqla_engine``):
for DuckDB that is a new dialect, whose first connection runs the dialect's start-up queries,
≈ 10 ms of a chart computed in ≈ 60 ms (``benchmarks/bench_superset.py``, 10 M readings).
Here an engine made with the very same URL and arguments as an earlier one is that earlier
engine. Superset asks for ``NullPool``, so each query still opens its own DuckDB connection and
closes it, and every connection still passes the connect hook of ``superset_config.py``
(read-only check and lockdown, ``lockdown.py``). Other databases (the metadata database, any
non-DuckDB source): untouched.

DuckDB shares one database instance per file and process while a connection to it is open,
and drops it with the last one: a query alone on its catalog then opens the file again, and
the connect hook locks the new instance down again (≈ 20 ms of CPU per chart query against
≈ 4 ms on an open instance, measured at 10 M readings). So each worker keeps one connection
per catalog file (:class:`OpenCatalogs`), made through the same engine and connect hook as
any other, that runs no query; a query's own connection then joins that locked instance.
When the nightly refresh replaces the file (``governance.serving``: a new file renamed over
the old one), the next query finds another file behind the name and closes the kept connection:
the old instance ends with the queries still running on it. A connection is kept only when it
opened a new instance (the connect hook marks it, :data:`NEW_INSTANCE`), never one that joined
an instance other queries hold open, which may still be the replaced file's.
"""

from __future__ import annotations

import functools
import os
import threading
from collections import OrderedDict

from sqlalchemy.pool import NullPool

ENGINES_KEPT = 16  # per worker: 3 catalogs, a few SQL Lab schema variants
# set True on a DuckDB connection by the connect hook when it opened (and locked) a new instance
NEW_INSTANCE = "hyperviseur_new_instance"


def _identity(path: str) -> tuple | None:
    """Which file is behind ``path`` now (a renamed-over file is another inode); None if none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size


class OpenCatalogs:
    """One idle connection per DuckDB catalog file, reopened when the file is replaced."""

    def __init__(self):
        self._kept: dict[str, tuple[tuple, object]] = {}
        self._lock = threading.Lock()

    def keep(self, engine) -> None:
        """Before a query on ``engine``: its catalog's instance open, on the file now at its path."""
        path = engine.url.database
        if not path or path == ":memory:":
            return
        path = os.path.realpath(path)
        identity = _identity(path)
        with self._lock:
            kept = self._kept.get(path)
            if kept is not None and kept[0] == identity:
                return
            if kept is not None:
                del self._kept[path]
                kept[1].close()
            if identity is None:  # no file: the query's own connection reports it
                return
            # through the pool and the connect hook, as any query's connection: locked down
            connection = engine.raw_connection()
            if getattr(connection.dbapi_connection, NEW_INSTANCE, False):
                self._kept[path] = (identity, connection)
            else:  # joined an instance still open for a running query, maybe on the replaced file
                connection.close()


def install() -> None:
    """Wrap the ``create_engine`` Superset's ``Database`` model calls (``FLASK_APP_MUTATOR``)."""
    from superset.models import core

    original = core.create_engine
    kept: OrderedDict[str, object] = OrderedDict()
    lock = threading.Lock()
    catalogs = OpenCatalogs()

    @functools.wraps(original)
    def create_engine(url, **kwargs):
        if not url.drivername.startswith("duckdb") or kwargs.get("poolclass") is not NullPool:
            return original(url, **kwargs)
        key = repr((url.render_as_string(hide_password=False), sorted(kwargs.items(), key=lambda kv: kv[0])))
        with lock:
            engine = kept.get(key)
            if engine is not None:
                kept.move_to_end(key)
        if engine is None:
            engine = original(url, **kwargs)
            with lock:
                engine = kept.setdefault(key, engine)
                while len(kept) > ENGINES_KEPT:
                    kept.popitem(last=False)
        catalogs.keep(engine)
        return engine

    core.create_engine = create_engine
