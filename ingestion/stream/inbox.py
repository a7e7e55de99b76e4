"""The bounded queue between an MQTT client's network thread and the worker that evaluates or writes.

Policy when the queue is full (``queue_max_messages`` of the settings, ``HYPERVISEUR_QUEUE_MAX_MESSAGES``):

- QoS ≥ 1: the network thread waits for room. paho then stops reading the socket and
  acknowledging, so the broker stops sending once its in-flight window is full and keeps
  the rest queued for this client: back-pressure, nothing lost. The waits and their total
  duration are counted (``full_waits``, ``full_wait_s``).
- QoS 0: the broker will not resend, and waiting would only move the queue into the TCP
  buffers; the message is dropped, counted (``dropped``) and logged in French (the first
  drop, then at most one line every ``LOG_EVERY_S`` with the running count). Never silent.

Memory is bounded by ``maxsize`` messages, each at most ``max_message_bytes``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

log = logging.getLogger(__name__)
LOG_EVERY_S = 10.0


class Inbox:
    """Bounded FIFO: ``put(item, qos)`` from the network thread, ``take(n, timeout)`` from the worker."""

    def __init__(self, maxsize: int, name: str = "file MQTT"):
        self.maxsize, self.name = maxsize, name
        self.items: deque = deque()
        self.cond = threading.Condition()
        self.closed = False
        self.stats = {"received": 0, "peak": 0, "full_waits": 0, "full_wait_s": 0.0, "dropped": 0, "batches": 0}
        self._logged_at = float("-inf")

    def put(self, item, qos: int = 1) -> bool:
        """Queue ``item``; ``False`` when a QoS 0 message was dropped because the queue is full."""
        with self.cond:
            self.stats["received"] += 1
            if len(self.items) >= self.maxsize:
                if qos == 0:
                    self._drop()
                    return False
                self.stats["full_waits"] += 1
                start = time.perf_counter()
                while len(self.items) >= self.maxsize and not self.closed:
                    self.cond.wait(0.5)
                self.stats["full_wait_s"] += time.perf_counter() - start
            self.items.append(item)
            self.stats["peak"] = max(self.stats["peak"], len(self.items))
            if len(self.items) == 1:
                self.cond.notify_all()
            return True

    def _drop(self) -> None:
        self.stats["dropped"] += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_S:
            self._logged_at = now
            log.warning(
                "%s pleine (%d messages, HYPERVISEUR_QUEUE_MAX_MESSAGES) : message QoS 0 abandonné "
                "(%d abandon(s) depuis le démarrage)",
                self.name,
                self.maxsize,
                self.stats["dropped"],
            )

    def take(self, max_items: int, timeout: float) -> list:
        """Up to ``max_items`` in arrival order; waits up to ``timeout`` s for the first one."""
        with self.cond:
            if not self.items and not self.closed and timeout > 0:
                self.cond.wait(timeout)
            n = min(max_items, len(self.items))
            batch = [self.items.popleft() for _ in range(n)]
            if batch:
                self.stats["batches"] += 1
                self.cond.notify_all()  # wake a producer waiting for room
            return batch

    def close(self) -> None:
        """Release a waiting producer; the worker drains what is left."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def __len__(self) -> int:
        return len(self.items)
