"""Chart results cache shared by every Superset worker, without a way around the row cap.

Superset's data cache key holds the query and the user's row-level security clauses, not
whether the row cap of ``SQL_QUERY_MUTATOR`` applied (administrators: uncapped, everyone
else: ``EXPORT_ROW_LIMIT`` rows). A result with FEWER rows than the cap is the same either
way, so it is shared by all: the administrator's cache warm-up (``warm.py``) serves the
agents. A result AT the cap or above (or whose size is unknown) depends on who asked: it is
kept under the key plus its audience (``admin`` or ``plafond``) and never shared across.

Files in one folder of the Superset home (``FileSystemCache``): every gunicorn worker
reads what any other wrote, and no extra service runs. ``DATA_CACHE_CONFIG`` of
``superset_config.py`` names this class; runs only inside Superset's virtualenv.
"""

from __future__ import annotations

import time

from hyperviseur_file_cache import BatchPrunedFileCache, entry_head


def result_rows(value) -> int | None:
    """Rows the SQL returned for a cached chart result (Superset's ``sql_rowcount``, else the frame's)."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("sql_rowcount"), int):
        return value["sql_rowcount"]
    df = value.get("df")
    return len(df.index) if hasattr(df, "index") else None


def audience() -> str:
    """Who the row cap treats how: ``admin`` (uncapped) or ``plafond`` (anyone else, no user included)."""
    try:
        from superset import security_manager

        return "admin" if security_manager.is_admin() else "plafond"
    except Exception:  # no request or no user (CLI, start-up): capped, as SQL_QUERY_MUTATOR does
        return "plafond"


class CappedResultsCache(BatchPrunedFileCache):
    """``FileSystemCache`` (pruned in batches, ``file_cache.py``) whose results at or above
    ``row_cap`` rows stay with their audience."""

    def __init__(self, cache_dir, row_cap: int, **kwargs):
        super().__init__(cache_dir, **kwargs)
        self.row_cap = row_cap

    def _own(self, key: str) -> str:
        return f"{key}:{audience()}"

    def get(self, key: str):
        value = super().get(key)
        if value is not None:
            return value
        return super().get(self._own(key))

    def has(self, key: str) -> bool:
        return super().has(key) or super().has(self._own(key))

    def set(self, key: str, value, timeout: int | None = None, mgmt_element: bool = False) -> bool:
        rows = result_rows(value)
        if rows is not None and rows < self.row_cap:  # a shared answer
            return super().set(key, value, timeout, mgmt_element)
        super().delete(key)  # an older shared answer must not outlive this one
        return super().set(self._own(key), value, timeout)

    def stamp(self, key: str) -> tuple | None:
        """Which file ``get(key)`` would read, as (name, inode, modification time, expiry); None if none.

        ``answer_cache.py`` reuses a JSON answer only while the entries it was made from are
        these same files: a replaced, deleted or expired entry changes or loses its stamp. The
        audience is asked only when no shared entry is found (it reads the user's roles)."""
        return self._stamp(key) or self._stamp(self._own(key))

    def _stamp(self, name: str) -> tuple | None:
        if (head := entry_head(self._get_filename(name))) is None:
            return None
        expires, status = head
        if expires == 0 or expires >= time.time():
            return (name, status.st_ino, status.st_mtime_ns, expires)
        return None

    def add(self, key: str, value, timeout: int | None = None) -> bool:
        return False if self.has(key) else self.set(key, value, timeout)

    def delete(self, key: str, mgmt_element: bool = False) -> bool:
        if mgmt_element:
            return super().delete(key, mgmt_element)
        shared, own = super().delete(key), super().delete(self._own(key))
        return shared and own
