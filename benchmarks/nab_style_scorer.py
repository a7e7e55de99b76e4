"""NAB-style scoring of the alerts a detector raises on labelled series (one score per raise).

Written here from the published description of the Numenta Anomaly Benchmark scoring
(Lavin & Ahmad, 2015); none of NAB's code or data is used. Each series carries labelled
anomaly windows ``[start, end]`` (indices, inclusive) and a list of raise indices:

* the first raise inside a window scores ``A_TP × σ(y)`` with ``y = (t − end) / (end − start + 1)``
  in [−1, 0] and the scaled sigmoid ``σ(y) = 2 / (1 + e^{5y}) − 1``: ≈ +0.99 at the
  window's start, 0 at its end — earlier is better; later raises in the same window count
  nothing (one alert per episode is enough);
* a raise outside every window is a false positive: ``A_FP × σ(y)`` where ``y`` is its
  distance after the end of the previous window in window lengths (a raise just after a
  window costs little, a far one ≈ −A_FP), or ``−A_FP`` before the first window;
* a window without any raise costs ``−A_FN``;
* raises inside the probationary period (the first ``probation`` points, for learning)
  are ignored, as are windows that end inside it.

The normalised score maps the null detector (no raise at all) to 0 and the perfect one
(one raise at each window's first point) to 100; a detector raising everywhere can go
far below 0. Profiles weigh false positives and false negatives differently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    tp: float
    fp: float
    fn: float


PROFILES = {
    "standard": Profile(tp=1.0, fp=0.11, fn=1.0),
    "reward_low_fp": Profile(tp=1.0, fp=0.22, fn=1.0),
    "reward_low_fn": Profile(tp=1.0, fp=0.11, fn=2.0),
}


def sigma(y: float) -> float:
    """Scaled sigmoid: +1 well before, 0 at, −1 well after the reference point (y in window lengths)."""
    return 2.0 / (1.0 + math.exp(min(50.0, 5.0 * y))) - 1.0


def windows_from_labels(labels, min_len: int = 1) -> list[tuple[int, int]]:
    """Contiguous runs of truthy labels as inclusive (start, end) windows, widened
    symmetrically to at least ``min_len`` points (clipped to the series)."""
    out, start = [], None
    n = len(labels)
    for i, v in enumerate(labels):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append((start, i - 1))
            start = None
    if start is not None:
        out.append((start, n - 1))
    widened = []
    for s, e in out:
        extra = max(0, min_len - (e - s + 1))
        s, e = max(0, s - extra // 2), min(n - 1, e + extra - extra // 2)
        if widened and s <= widened[-1][1] + 1:  # widened windows that touch merge
            s = widened[-1][0]
            widened.pop()
        widened.append((s, e))
    return widened


def score_series(windows, raises, profile: Profile, probation: int = 0) -> tuple[float, dict]:
    """Raw score of one series and its counts (tp, fp, fn)."""
    windows = sorted(w for w in windows if w[1] >= probation)
    hit = [False] * len(windows)
    total, fp = 0.0, 0
    for t in sorted(r for r in raises if r >= probation):
        inside = next((i for i, (s, e) in enumerate(windows) if s <= t <= e), None)
        if inside is not None:
            if not hit[inside]:
                s, e = windows[inside]
                hit[inside] = True
                total += profile.tp * sigma((t - e) / (e - s + 1))
            continue
        fp += 1
        before = [w for w in windows if w[1] < t]
        if before:
            s, e = before[-1]
            total += profile.fp * sigma((t - e) / (e - s + 1))
        else:
            total -= profile.fp
    missed = hit.count(False)
    total -= profile.fn * missed
    return total, {"tp": len(windows) - missed, "fp": fp, "fn": missed}


def score_corpus(corpus, profile: Profile) -> dict:
    """``corpus``: iterable of (windows, raises, probation). Normalised score and totals."""
    raw = null = perfect = 0.0
    counts = {"tp": 0, "fp": 0, "fn": 0}
    for windows, raises, probation in corpus:
        r, c = score_series(windows, raises, profile, probation)
        raw += r
        null += score_series(windows, [], profile, probation)[0]
        perfect += score_series(windows, [max(s, probation) for s, _ in windows], profile, probation)[0]
        for k in counts:
            counts[k] += c[k]
    norm = 100.0 * (raw - null) / (perfect - null) if perfect != null else 0.0
    return {"score": norm, "raw": raw, **counts}
