"""cachelib's ``FileSystemCache``, pruned in batches by one thread of one process at a time.

Past its threshold, cachelib prunes at EVERY write: it reads the head of every file of the
folder (expired ones first, then the oldest), removes just enough to fall back to the
threshold, and so does it again at the next write; every thread of every worker that writes
meanwhile does the same. With 10,000 kept requests (``answer_cache.py``) that stalled every
chart request for tens of seconds. Here, past the threshold, the one writer that takes the
folder's prune lock removes the expired files, then the ones closest to expiry down to
:data:`PRUNE_TO` of the threshold, and resets the count; the others write without waiting.

Loaded by path by ``superset_config.py`` (as ``hyperviseur_file_cache``, imported by
``results_cache.py`` and ``answer_cache.py``); runs only inside Superset's virtualenv.
"""

from __future__ import annotations

import fcntl
import os
import struct
import time

from flask_caching.backends.filesystemcache import FileSystemCache

PRUNE_TO = 0.8  # a prune leaves 80 % of the threshold: the next one comes 20 % of it later


class BatchPrunedFileCache(FileSystemCache):
    """``FileSystemCache`` whose prune runs in batches, one writer at a time."""

    def _prune(self) -> None:
        if not self._over_threshold():
            return
        lock = os.open(f"{os.path.normpath(self._path)}.prune.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another writer is pruning
                return
            self._prune_batch()
        finally:
            os.close(lock)

    def _prune_batch(self) -> None:
        now, kept = time.time(), []
        for name in self._list_dir():
            try:
                with open(name, "rb") as f:
                    expires = struct.unpack("I", f.read(4))[0]
            except (OSError, struct.error):  # gone meanwhile, or being written
                continue
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
