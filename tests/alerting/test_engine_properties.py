"""Property: the alert engine reads any message as an event or refuses it with its own error; Engine.process
never raises, never lets one message move its clock beyond ``now + max_clock_skew_s``, and counts what it
ignores."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from alerting.engine import Engine
from alerting.events import EventError, parse
from ingestion.stream.clock import SimulatedClock
from lakehouse.platform import Lakehouse
from lakehouse.settings import LimitsSettings
from tests.stream.strategies import json_values, payloads, topics

LIMITS = LimitsSettings()
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
FAST = settings(max_examples=300, deadline=None, database=None)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path_factory.mktemp("engine") / "data")})
    return Engine(lh, channels=False, persist=False, clock=SimulatedClock(NOW))


@FAST
@given(topic=topics, payload=payloads)
@example(topic="city/water/M1", payload=b'{"ts": Infinity}')
@example(topic="city/water/M1", payload=b'{"ts": 1e18}')
@example(topic="city/water/M1", payload=b'{"ts": "0001-01-01T00:00:00+01:00"}')
def test_event_parsing_gives_a_finite_event_or_an_event_error(topic, payload):
    try:
        ev = parse(topic, payload, 1, LIMITS)
    except EventError as exc:
        assert str(exc).strip()
        return
    assert math.isfinite(ev.ts) and datetime.fromtimestamp(ev.ts, UTC)  # a calendar date holds it
    assert isinstance(ev.data, dict) and len(payload) <= LIMITS.max_message_bytes


def _in_window(seconds_from_now: float, value) -> bytes:
    """A plausible time (mostly inside the window) with any value where the detectors read numbers."""
    when = (NOW + timedelta(seconds=seconds_from_now)).isoformat()
    return json.dumps({"ts": when, "flow_m3h": value, "occupancy_pct": value, "no2": value, "power_w": value}).encode()


@FAST
@given(
    messages=st.lists(
        st.tuples(topics, payloads | st.builds(_in_window, st.floats(-3e6, 1e3), json_values)), max_size=5
    )
)
def test_process_never_raises_counts_what_it_ignores_and_keeps_its_clock(engine, messages):
    before = dict(engine.stats)
    for topic, payload in messages:
        assert isinstance(engine.process(topic, payload), list)
        assert engine.clock <= NOW.timestamp() + LIMITS.max_clock_skew_s
    engine.tick()
    done = {k: engine.stats[k] - before[k] for k in ("messages", "rejected", "out_of_window")}
    assert done["messages"] == len(messages) and done["rejected"] + done["out_of_window"] <= len(messages)


def test_one_future_or_infinite_timestamp_neither_moves_the_clock_nor_escalates(tmp_path):
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")})
    engine = Engine(lh, channels=False, persist=False, clock=SimulatedClock(NOW))
    for minute in range(0, 40, 5):  # a traffic jam opens an incident
        body = {"ts": (NOW - timedelta(minutes=40 - minute)).isoformat(), "occupancy_pct": 90}
        engine.process("city/traffic/SEG001", json.dumps(body).encode())
    assert engine.manager.open_incidents()
    clock = engine.clock
    for ts in ('"2026-03-10T13:00:00+00:00"', "1e11", '"2027-01-01T00:00:00Z"', "1e18", "Infinity"):
        assert engine.process("city/traffic/SEG001", f'{{"ts": {ts}, "occupancy_pct": 90}}'.encode()) == []
    # plausible dates but not now: counted as out of the window; no calendar date, or not JSON: rejected
    assert engine.stats["out_of_window"] == 3 and engine.stats["rejected"] == 2
    assert engine.clock == clock and engine.tick() == []  # no escalation from a message of the future
