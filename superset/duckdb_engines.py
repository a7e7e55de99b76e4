"""One SQLAlchemy engine per DuckDB serving catalog and worker, not one per query.

Superset builds a new SQLAlchemy engine for every query it runs (``Database._get_sqla_engine``):
for DuckDB that is a new dialect, whose first connection runs the dialect's start-up queries,
≈ 10 ms of a chart computed in ≈ 60 ms (``benchmarks/bench_superset.py``, 10 M readings).
Here an engine made with the very same URL and arguments as an earlier one is that earlier
engine. Nothing about the connections changes: Superset asks for ``NullPool``, so each query
still opens its own DuckDB connection and closes it, and every connection still passes the
connect hook of ``superset_config.py`` (read-only check and lockdown, ``lockdown.py``); a
catalog replaced by the nightly refresh is opened anew as before. Other databases (the
metadata database, any non-DuckDB source): untouched.

Loaded by path by ``superset_config.py``; runs only inside Superset's virtualenv.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict

from sqlalchemy.pool import NullPool

ENGINES_KEPT = 16  # per worker: 3 catalogs, a few SQL Lab schema variants


def install() -> None:
    """Wrap the ``create_engine`` Superset's ``Database`` model calls (``FLASK_APP_MUTATOR``)."""
    from superset.models import core

    original = core.create_engine
    kept: OrderedDict[str, object] = OrderedDict()
    lock = threading.Lock()

    @functools.wraps(original)
    def create_engine(url, **kwargs):
        if not url.drivername.startswith("duckdb") or kwargs.get("poolclass") is not NullPool:
            return original(url, **kwargs)
        key = repr((url.render_as_string(hide_password=False), sorted(kwargs.items(), key=lambda kv: kv[0])))
        with lock:
            if (engine := kept.get(key)) is not None:
                kept.move_to_end(key)
                return engine
        engine = original(url, **kwargs)
        with lock:
            engine = kept.setdefault(key, engine)
            while len(kept) > ENGINES_KEPT:
                kept.popitem(last=False)
        return engine

    core.create_engine = create_engine
