"""The NAB-style scorer on hand-checked cases, and the episode detector: one raise per episode,
no look-ahead, bounded state, a confidence in (0, 1), reachable from the engine's declaration."""

from __future__ import annotations

import json
import math
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerting.detectors import EpisodeDetector, EpisodeParams, EpisodeState
from alerting.engine import Engine
from alerting.errors import ConfigError
from ingestion.stream.clock import SimulatedClock

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from nab_style_scorer import PROFILES, score_corpus, score_series, sigma, windows_from_labels

STD = PROFILES["standard"]
T0 = datetime(2026, 3, 2, tzinfo=UTC)


# -- scorer ---------------------------------------------------------------------------------
def test_sigmoid_is_scaled_to_plus_minus_one_and_zero_at_the_reference():
    assert sigma(0.0) == 0.0
    assert sigma(-1.0) == pytest.approx(2 / (1 + math.exp(-5)) - 1) == pytest.approx(0.98661, abs=1e-5)
    assert sigma(1.0) == pytest.approx(-0.98661, abs=1e-5)


def test_earliest_raise_in_a_window_counts_once_later_ones_nothing():
    w = [(10, 19)]
    early, _ = score_series(w, [10], STD)
    assert early == pytest.approx(2 / (1 + math.exp(5 * -0.9)) - 1)  # y = (10 − 19) / 10
    assert score_series(w, [19], STD)[0] == pytest.approx(0.0)  # at the window's end: worth nothing
    assert score_series(w, [10, 12, 15], STD) == (pytest.approx(early), {"tp": 1, "fp": 0, "fn": 0})


def test_false_positives_missed_windows_and_profiles():
    w = [(10, 19)]
    assert score_series(w, [5], STD) == (pytest.approx(-0.11 - 1.0), {"tp": 0, "fp": 1, "fn": 1})
    after, counts = score_series(w, [10, 29], STD)  # 29: one window length after its end
    assert after == pytest.approx(sigma(-0.9) + 0.11 * sigma(1.0)) and counts["fp"] == 1
    assert score_series(w, [5], PROFILES["reward_low_fp"])[0] == pytest.approx(-0.22 - 1.0)
    assert score_series(w, [], PROFILES["reward_low_fn"])[0] == pytest.approx(-2.0)


def test_normalised_score_null_zero_perfect_hundred_probation_ignored():
    corpus = [([(10, 19), (40, 49)], [], 0)]
    assert score_corpus(corpus, STD)["score"] == pytest.approx(0.0)
    assert score_corpus([([(10, 19), (40, 49)], [10, 40], 0)], STD)["score"] == pytest.approx(100.0)
    half = score_corpus([([(10, 19), (40, 49)], [10], 0)], STD)["score"]
    assert half == pytest.approx(50.0)
    # a raise in the probationary period is neither rewarded nor penalised
    assert score_corpus([([(40, 49)], [3, 40], 20)], STD)["score"] == pytest.approx(100.0)


def test_windows_from_labels_runs_and_widening():
    labels = [0, 1, 1, 0, 0, 0, 0, 0, 1, 0]
    assert windows_from_labels(labels) == [(1, 2), (8, 8)]
    assert windows_from_labels(labels, min_len=4) == [(0, 3), (7, 9)]
    assert windows_from_labels([1, 0, 1], min_len=3) == [(0, 2)]  # widened windows that touch merge


# -- detector -------------------------------------------------------------------------------
def series(n=1500, shifts=((600, 700),), size=8.0, seed=2):
    rng = random.Random(seed)
    return [10 + rng.gauss(0, 1) + (size if any(a <= i < b for a, b in shifts) else 0.0) for i in range(n)]


def run(det, xs, key="s"):
    return [det.update(key, x) for x in xs]


def test_one_raise_per_episode_and_a_new_one_for_a_later_episode():
    xs = series(shifts=((600, 700), (1100, 1180)))
    out = run(EpisodeDetector(), xs)
    raises = [i for i, r in enumerate(out) if r[3] == "raise"]
    assert len(raises) == 2, raises
    assert 600 <= raises[0] < 610 and 1100 <= raises[1] < 1110
    assert [i for i, r in enumerate(out) if r[3] == "clear"][0] > raises[0]
    conf = out[raises[0]][1]
    assert 0.0 < conf < 1.0


def test_quiet_noise_raises_nothing():
    out = run(EpisodeDetector(), series(n=3000, shifts=()))
    assert [i for i, r in enumerate(out) if r[3] == "raise"] == []


def test_recurring_lone_spikes_stop_raising_but_a_lasting_jump_still_raises():
    xs = series(n=3000, shifts=((2200, 2260),), size=40.0)
    for i in (500, 900, 1300, 1700):  # one-point jumps, back at once
        xs[i] += 40.0
    out = run(EpisodeDetector(), xs)
    raises = [i for i, r in enumerate(out) if r[3] == "raise"]
    # the first two spikes of a calm series raise at once; from then on a lone spike is no news,
    # and a jump that lasts raises one point late
    assert raises == [500, 900, 2201], raises


def wander(n=5000, rho=0.9, seed=3):
    """A fault-free series that wanders: AR(1) around 20, unit innovations."""
    rng, x, out = random.Random(seed), 0.0, []
    for _ in range(n):
        x = rho * x + rng.gauss(0, 1)
        out.append(20 + x)
    return out


def test_a_wandering_series_is_not_an_anomaly_but_a_jump_in_it_still_is():
    def raises(det, values):
        return [i for i, r in enumerate(run(det, values)) if r[3] == "raise"]

    xs = wander()
    assert raises(EpisodeDetector(), xs) == []
    # without the autocorrelation correction the same series raises again and again
    assert len(raises(EpisodeDetector(EpisodeParams(max_rho=0.0)), xs)) >= 10
    jumped = xs[:3000] + [x + 40.0 for x in xs[3000:3100]] + xs[3100:]
    assert raises(EpisodeDetector(), jumped) == [3000]


def test_no_look_ahead_prefix_scores_do_not_change_when_points_are_appended():
    xs = series()
    full = run(EpisodeDetector(), xs)
    prefix = run(EpisodeDetector(), xs[:650])
    assert full[:650] == prefix


def test_state_is_bounded_per_series_and_in_number_of_series():
    det = EpisodeDetector(EpisodeParams(max_series=10))
    run(det, series(n=5000))
    st = det.series["s"]
    assert isinstance(st, EpisodeState) and not hasattr(st, "__dict__")  # fixed slots, whatever the length
    assert all(isinstance(getattr(st, k), (int, float, bool)) for k in EpisodeState.__slots__)
    for i in range(50):
        det.update(("x", i), 1.0)
    assert len(det.series) == 10


def test_confidence_is_a_share_that_never_falls_as_the_score_grows():
    det = EpisodeDetector()
    assert 0.0 < det.confidence(1.0) <= det.confidence(2.0) <= det.confidence(10.0) < 1.0
    steep = EpisodeDetector(EpisodeParams(calib_b=0.5))
    assert steep.confidence(1.0) < steep.confidence(10.0)


# -- engine declaration ---------------------------------------------------------------------
def test_engine_routes_an_episode_series_and_rejects_an_unknown_detector(lh, channels_file, tmp_path):
    path = tmp_path / "detectors.yaml"
    path.write_text(
        "series:\n  - {stream: energy, field: energy_kwh, direction: up, hazard: energy, "
        "event_fr: Anomalie, detector: episode}\n"
    )
    engine = Engine(lh, channels=channels_file, persist=False, detectors=path, clock=SimulatedClock(T0))
    for i, x in enumerate(series(n=700)):
        when = T0 - timedelta(days=1) + timedelta(minutes=i)
        engine.process("city/energy/B001", json.dumps({"ts": when.isoformat(), "energy_kwh": x}).encode())
    raised = [s for s in engine.signals if s.origin == "anomalie" and s.state == "raise"]
    assert len(raised) == 1 and raised[0].details["z"] > 0 and 0 < raised[0].confidence < 1
    path.write_text(
        "series:\n  - {stream: energy, field: energy_kwh, direction: up, hazard: energy, event_fr: A, detector: x}\n"
    )
    with pytest.raises(ConfigError, match="détecteur « x » inconnu"):
        Engine(lh, channels=channels_file, persist=False, detectors=path, clock=SimulatedClock(T0))
