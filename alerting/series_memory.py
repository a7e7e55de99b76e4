"""Per-series state of an online detector, with a bound on how many series it remembers."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

MAX_SERIES = 200_000  # series a detector remembers (a few hundred bytes each); the least recently seen go first


class SeriesMemory(OrderedDict):
    """``state(key)``: the series' state, created by ``new_state`` on first sight; beyond ``limit``
    series the least recently seen one is forgotten (it starts again from nothing if it comes back)."""

    def __init__(self, limit: int, new_state: Callable[[], object]):
        super().__init__()
        self.limit, self.new_state = limit, new_state

    def state(self, key):
        st = self.get(key)
        if st is None:
            if len(self) >= self.limit:
                self.popitem(last=False)
            st = self[key] = self.new_state()
        else:
            self.move_to_end(key)
        return st
