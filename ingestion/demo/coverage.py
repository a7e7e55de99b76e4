"""What of the demo territory has already been landed, so that nothing is simulated twice.

``make run`` backfills the 14 days before midnight today, then the live simulator publishes
from there on. Run again on another day, the new window overlaps the days the lake already
holds (the previous backfill, the hours the live simulator published): the backfill simulates
only the missing parts, and the simulator resumes after the last instant covered, so each
reading lands exactly once.

The covered periods are disjoint ``[start, end)`` intervals of epoch seconds in
``<data_dir>/demo/couverture.json``; a read-modify-write holds an exclusive lock (the backfill
and a simulator left running may record at the same time). The live simulator records what it
published: a message the broker then lost (broker stopped before the consumer read it) is a
gap the next backfill does not fill.
"""

from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from pathlib import Path

Interval = tuple[int, int]


def coverage_file(data_dir: Path) -> Path:
    return Path(data_dir) / "demo" / "couverture.json"


def merged(intervals: list[Interval]) -> list[Interval]:
    """Sorted, disjoint union of ``intervals`` (touching ones joined, empty ones dropped)."""
    out: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def missing(held: list[Interval], start: int, end: int) -> list[Interval]:
    """The parts of ``[start, end)`` outside ``held``."""
    out, cursor = [], start
    for h0, h1 in merged(held):
        if h1 <= cursor or h0 >= end:
            continue
        if h0 > cursor:
            out.append((cursor, h0))
        cursor = max(cursor, h1)
    if cursor < end:
        out.append((cursor, end))
    return out


@contextmanager
def _locked(data_dir: Path):
    path = coverage_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield path


def _read(path: Path) -> list[Interval]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except ValueError as exc:
        raise ValueError(f"{path} : couverture illisible ({exc}) ; supprimez-la pour tout re-simuler") from exc
    return [(int(a), int(b)) for a, b in doc["periodes"]]


def held(data_dir: Path) -> list[Interval]:
    """The covered periods, sorted and disjoint."""
    with _locked(data_dir) as path:
        return _read(path)


def record(data_dir: Path, start: int, end: int) -> None:
    """Add ``[start, end)`` to the covered periods."""
    with _locked(data_dir) as path:
        periods = merged([*_read(path), (int(start), int(end))])
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"periodes": periods}), encoding="utf-8")
        tmp.replace(path)
