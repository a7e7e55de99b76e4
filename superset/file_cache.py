"""cachelib's ``FileSystemCache``, pruned in batches by one thread of one process at a time.

Past its threshold, cachelib prunes at EVERY write: it reads the head of every file of the
folder (expired ones first, then the oldest), removes just enough to fall back to the
threshold, and so does it again at the next write; every thread of every worker that writes
meanwhile does the same. With 10,000 kept requests (``answer_cache.py``) that stalled every
chart request for tens of seconds. Here, past the threshold, the one writer that takes the
folder's prune lock removes the expired files, then the ones closest to expiry down to
:data:`PRUNE_TO` of the threshold, and resets the count; the others write without waiting.

Also the two things every user of these folders needs: the head of an entry
(:func:`entry_head`: its expiry, and which file it is) and a lock shared by the workers and
their threads (:class:`FileLock`, ``flock``).

Loaded by path by ``superset_config.py`` (as ``hyperviseur_file_cache``, imported by
``results_cache.py``, ``answer_cache.py`` and ``single_flight.py``); runs only inside
Superset's virtualenv.
"""

from __future__ import annotations

import fcntl
import os
import struct
import time

from flask_caching.backends.filesystemcache import FileSystemCache

PRUNE_TO = 0.8  # a prune leaves 80 % of the threshold: the next one comes 20 % of it later
COUNT_EVERY = 100  # new entries a process writes between two counts of the folder (sooner when it may be full)
POLL_S = 0.01  # a lock's waiter tries again every 10 ms (a growing pause measured slower)


def entry_head(filename: str) -> tuple[int, os.stat_result] | None:
    """(expiry, 0 for none; the file's status) of a cache entry; None if it cannot be read
    (gone meanwhile, or being written)."""
    try:
        with open(filename, "rb") as f:
            return struct.unpack("I", f.read(4))[0], os.fstat(f.fileno())
    except (OSError, struct.error):
        return None


class FileLock:
    """An exclusive ``flock`` on one file: between the gunicorn processes and their threads
    (each lock opens the file anew); closing the file releases it."""

    def __init__(self, path: str | os.PathLike):
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def acquire(self, wait_s: float) -> bool:
        """Taken within ``wait_s`` seconds (0: only if free now); else released and False."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self.release()
                    return False
                time.sleep(POLL_S)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class BatchPrunedFileCache(FileSystemCache):
    """``FileSystemCache`` whose prune runs in batches, one writer at a time, and whose entries
    are counted in the folder itself.

    cachelib kept the count in a file of the folder, read and rewritten (through a temporary
    file) at every new entry: a third of the cost of noting a chart request
    (``answer_cache.Grants``), and a count that the workers' concurrent writes made drift.
    Here each process adds up its own new entries and counts the folder's files again every
    :data:`COUNT_EVERY` of them, or as soon as its figure reaches the threshold; a prune sets
    the figure to what it left. Another process's entries are seen at the next count, so the
    folder may pass its threshold by at most that many entries per process before a prune."""

    _counted = 0  # entries at this process's last count of the folder
    _written = 0  # new entries this process wrote since

    def _update_count(self, delta: int | None = None, value: int | None = None) -> None:
        if value is not None:
            self._counted, self._written = value, 0
        elif delta and delta > 0:
            self._written += delta
        # an entry removed is seen at the next count

    @property
    def _file_count(self) -> int:
        return self._counted + self._written

    def _over_threshold(self) -> bool:
        if self._threshold == 0:
            return False
        if self._file_count >= self._threshold or self._written >= COUNT_EVERY:
            self._update_count(value=sum(1 for _ in self._list_dir()))  # cachelib's listing: entries only
        return self._counted > self._threshold

    def _prune(self) -> None:
        if not self._over_threshold():
            return
        lock = FileLock(f"{os.path.normpath(self._path)}.prune.lock")
        if not lock.acquire(0):  # another writer is pruning
            return
        try:
            self._prune_batch()
        finally:
            lock.release()

    def _prune_batch(self) -> None:
        now, kept = time.time(), []
        for name in self._list_dir():
            if (head := entry_head(name)) is None:
                continue
            expires = head[0]
            if expires != 0 and expires < now:
                self._remove(name)
            else:
                kept.append((expires or float("inf"), name))
        kept.sort()
        excess = max(0, len(kept) - int(self._threshold * PRUNE_TO))
        for _expires, name in kept[:excess]:
            self._remove(name)
        self._update_count(value=len(kept) - excess)

    @staticmethod
    def _remove(name: str) -> None:
        try:
            os.remove(name)
        except FileNotFoundError:
            pass
