"""One computation of a chart query at a time, across every Superset worker (issue 20).

When many agents open dashboards on an empty data cache (a restart, an expiry before the
warm-up), every request for the same chart misses the cache at once and each runs the same
SQL: 50 dashboard loads, 28 distinct charts, ≈ 200 DuckDB queries competing for 2 cores.
Here the first request to miss a query's cache entry takes a lock on it (``file_cache.FileLock``
on one of :data:`STRIPES` files beside the data cache, shared by the gunicorn processes and
their threads), looks in the cache once more, and computes only if the entry is still
missing; the others wait for the lock, then find the entry written. The lock is released
when the entry is written, else at the end of the request; a waiter gives up after the
statement timeout of the queries and computes on its own. Forced requests ("Forcer
l'actualisation") compute as before.

Loaded by path by ``superset_config.py``; runs only inside Superset's virtualenv.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import g, has_request_context
from hyperviseur_file_cache import FileLock

STRIPES = 1024  # lock files: two distinct queries share one 1 time in 1,024 (then one waits)
_HELD = "hyperviseur_single_flight_locks"


def _release(key: str | None = None) -> None:
    held = getattr(g, _HELD, {})
    for name in [key] if key is not None else list(held):
        if (lock := held.pop(name, None)) is not None:
            lock.release()


def install(app, folder: Path, wait_s: float) -> None:
    """Wrap Superset's query cache look-up and write (``FLASK_APP_MUTATOR``)."""
    from superset.common.utils.query_cache_manager import QueryCacheManager
    from superset.constants import CacheRegion

    folder.mkdir(parents=True, exist_ok=True)
    original_get = QueryCacheManager.get.__func__
    original_set = QueryCacheManager.set_query_result

    def get(cls, key, region=CacheRegion.DEFAULT, force_query=False, force_cached=False):
        found = original_get(cls, key, region, force_query, force_cached)
        if found.is_loaded or force_query or force_cached or not key or region != CacheRegion.DATA:
            return found
        if not has_request_context() or getattr(g, _HELD, None):  # one lock per request: no lock order to keep
            return found
        stripe = int(hashlib.sha256(key.encode()).hexdigest(), 16) % STRIPES
        lock = FileLock(folder / f"{stripe:04d}.lock")
        if not lock.acquire(wait_s):
            return found
        found = original_get(cls, key, region, force_query, force_cached)  # written while we waited?
        if found.is_loaded:
            lock.release()
        else:
            if not hasattr(g, _HELD):
                setattr(g, _HELD, {})
            getattr(g, _HELD)[key] = lock
        return found

    def set_query_result(self, key, *args, **kwargs):
        try:
            return original_set(self, key, *args, **kwargs)
        finally:
            _release(key)

    QueryCacheManager.get = classmethod(get)
    QueryCacheManager.set_query_result = set_query_result
    app.teardown_request(lambda _exc: _release())
