"""Rules (hysteresis, minimum duration, counts, rates), the seasonal detector and bursts, on synthetic streams."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from alerting.anomaly import DetectorParams, SeasonalDetector
from alerting.engine import Engine
from alerting.errors import ConfigError
from alerting.referential import Referential
from alerting.rules import load_constants, load_rules
from alerting.windows import LOCAL_TZ
from ingestion.stream.clock import SimulatedClock

T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


def msg(kind, entity, when, **fields):
    return f"city/{kind}/{entity}", json.dumps({"ts": when.isoformat(), **fields}).encode()


@pytest.fixture
def engine(lh, channels_file):
    return Engine(lh, channels=channels_file, persist=False, clock=SimulatedClock(T0 + timedelta(days=1)))


def test_threshold_needs_duration_and_has_hysteresis(engine):
    seg = "SEG001"
    raised = []
    values = [20] * 4 + [60, 70, 65] + [45, 40] + [65] * 3 + [30] * 3  # 15-min samples
    for i, v in enumerate(values):
        raised += [
            (i, d.action) for d in engine.process(*msg("traffic", seg, T0 + timedelta(minutes=15 * i), occupancy_pct=v))
        ]
    rule_signals = [s for s in engine.signals if s.source == "bouchon_occupation"]
    # armed at i=4 (60 %), 15 min later (i=5) raised; 45/40 stay above the 35 % release level: no flapping
    assert [(s.state, round(s.value)) for s in rule_signals][:1] == [("raise", 70)]
    assert [s.state for s in rule_signals] == ["raise", "clear"]
    assert raised[0] == (5, "new")


def test_short_spike_does_not_raise(engine):
    for i, v in enumerate([20, 90, 20, 20]):
        engine.process(*msg("traffic", "SEG002", T0 + timedelta(minutes=5 * i), occupancy_pct=v))
    assert not [s for s in engine.signals if s.source == "bouchon_occupation"]


def test_lamp_cluster_and_report_burst(engine):
    for i in range(6):
        engine.process(*msg("lighting", f"L00{i + 1:02d}", T0, circuit_id="LC01", status="fault", power_w=0))
    lamps = [s for s in engine.signals if s.source == "grappe_pannes_eclairage"]
    assert [(s.state, s.entity_id, s.value) for s in lamps] == [("raise", "LC01", 5.0)]
    for i in range(9):
        body = {
            "report_id": f"R{i}",
            "created_at": (T0 + timedelta(minutes=10 * i)).isoformat(),
            "district_id": "D03",
            "category": "bruit",
            "description": "musique très forte",
        }
        engine.process(f"city/reports/R{i}", json.dumps(body).encode())
    burst = [s for s in engine.signals if s.source == "rafale_signalements_quartier"]
    assert burst and burst[0].entity_id == "D03" and burst[0].value == 8
    engine.tick((T0 + timedelta(hours=5)).timestamp())  # the window empties: the burst clears
    assert [s.state for s in engine.signals if s.source == "rafale_signalements_quartier"] == ["raise", "clear"]


def test_atmo_index(engine):
    decisions = engine.process(*msg("air", "AQ01", T0, no2=250.0, pm10=15.0))
    sig = next(s for s in engine.signals if s.source == "atmo_mauvais")
    assert "mauvais" in sig.headline_fr and "NO2" in sig.headline_fr
    assert any(d.incident.family == "air" for d in decisions)
    assert any(s.source == "no2_horaire_200" for s in engine.signals)


def test_bad_rule_files_name_file_and_rule(tmp_path):
    ref = Referential.load()
    bad = tmp_path / "r.yaml"
    bad.write_text("rules:\n  - {id: x, type: threshold, stream: air, field: no2}\n")
    with pytest.raises(ConfigError, match=r"r\.yaml.*« x ».*above"):
        load_rules(bad, ref)
    bad.write_text("rules:\n  - {id: y, type: threshold, stream: eau, field: no2, above: 1}\n")
    with pytest.raises(ConfigError, match="flux « eau » inconnu"):
        load_rules(bad, ref)
    bad.write_text("rules:\n  - {id: z, type: threshold, stream: air, field: no2, above: 1, clear_below: 5}\n")
    with pytest.raises(ConfigError, match="clear_below"):
        load_rules(bad, ref)


def test_rules_read_the_business_constants_shared_with_dbt(tmp_path):
    """Limit values, ATMO classes and bounds, congestion and leak thresholds come from the dbt
    project's vars (defined once); a changed value changes the rule, an unknown name is an error."""
    ref = Referential.load()
    constants = load_constants()
    rules = {r.id: r for r in load_rules(None, ref)}
    assert rules["no2_horaire_200"].on == constants["eu_limit_values_ugm3"]["no2"]["horaire"]
    assert rules["bouchon_occupation"].on == constants["congestion_occupancy_pct_max"]["sature"]
    leak = rules["fuite_debit_nuit"]
    assert (leak.min_excess, leak.min_ratio) == (constants["leak_min_excess_m3h"], constants["leak_min_excess_ratio"])
    assert (leak.start_h, leak.end_h) == (constants["night_window_start_hour"], constants["night_window_end_hour"])
    atmo = rules["atmo_mauvais"]
    assert atmo.labels == constants["atmo_classes"]
    assert atmo.labels[atmo.min_class] == constants["atmo_episode_min_class"]
    assert {p: list(b) for p, (b, _) in atmo.bounds.items()} == {
        p: v["upper_bounds"] for p, v in constants["atmo_bounds_ugm3"].items()
    }
    changed = {**constants, "eu_limit_values_ugm3": {"no2": {"horaire": 250}}}
    assert {r.id: r for r in load_rules(None, ref, changed)}["no2_horaire_200"].on == 250
    bad = tmp_path / "r.yaml"
    bad.write_text("rules:\n  - {id: w, type: threshold, stream: air, field: no2, above: {constant: nope}}\n")
    with pytest.raises(ConfigError, match=r"r\.yaml.*« w ».*constante métier « nope »"):
        load_rules(bad, ref)


def seasonal(t: datetime) -> float:
    t = t.astimezone(LOCAL_TZ)  # people live by local time (and daylight saving)
    hour = t.hour + t.minute / 60
    return 50 + 30 * math.sin((hour - 6) / 24 * 2 * math.pi) + (10 if t.weekday() < 5 else -10)


def run_detector(days, step_at=None, step=0.0, seed=1):
    det = SeasonalDetector(DetectorParams(slack=1.5, threshold=8.0))
    rng = random.Random(seed)
    events = []
    t = T0
    while t < T0 + timedelta(days=days):
        x = seasonal(t) * rng.gauss(1, 0.04) + (step if step_at and t >= step_at else 0.0)
        score, conf, z, transition = det.update("s", t.timestamp(), x)
        if transition:
            events.append((t, transition, score, conf))
        t += timedelta(minutes=15)
    return det, events


def test_detector_quiet_on_seasonal_series_and_bounded():
    """Once its weekend slots are warm (two weekends), a normal seasonal series raises nothing."""
    det, events = run_detector(28)
    assert [e for e in events if e[0] >= T0 + timedelta(days=15)] == []
    assert len(det.series) == 1
    assert len(det.series["s"].prof) == 73 * 3  # fixed memory per series, whatever the length


def test_detector_finds_a_level_shift_quickly_with_confidence():
    start = T0 + timedelta(days=16, hours=3)
    _, events = run_detector(18, step_at=start, step=25.0)
    assert [e for e in events if T0 + timedelta(days=15) <= e[0] < start] == []
    raises = [e for e in events if e[1] == "raise" and e[0] >= start]
    assert raises, "le décalage de niveau n'a pas été détecté"
    delay = raises[0][0] - start
    assert timedelta(0) <= delay <= timedelta(hours=2)
    assert 0.3 <= raises[0][3] <= 1.0


def test_detector_series_cap():
    det = SeasonalDetector(DetectorParams(max_series=10))
    for i in range(50):
        det.update(("x", i), T0.timestamp(), 1.0)
    assert len(det.series) == 10


def test_detector_explains_common_mode_by_peers_but_keeps_local_faults():
    """Five series share a driver (e.g. a cold night for every building): a shift common to all is
    not an anomaly; the same shift on one series only is."""
    det = SeasonalDetector(DetectorParams(slack=1.5, threshold=8.0))
    rng = random.Random(3)
    common_from, local_from = T0 + timedelta(days=9), T0 + timedelta(days=11)
    raised = []
    t = T0
    while t < T0 + timedelta(days=12):
        for s in range(5):
            x = seasonal(t) * rng.gauss(1, 0.04)
            if common_from <= t < common_from + timedelta(hours=6):
                x += 25.0  # all peers at once
            if s == 0 and t >= local_from:
                x += 25.0  # this one only
            if det.update(("energy", f"B{s}", "kwh"), t.timestamp(), x, "up", ("energy", "kwh"))[3] == "raise":
                raised.append((s, t))
        t += timedelta(minutes=15)
    assert [r for r in raised if r[1] >= T0 + timedelta(days=8)] and all(
        s == 0 and t >= local_from for s, t in raised if t >= T0 + timedelta(days=8)
    ), raised
