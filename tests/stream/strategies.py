"""Hypothesis strategies of hostile MQTT messages, shared by the stream and the alert-engine properties."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from hypothesis import strategies as st

DOMAINS = ["air", "traffic", "water", "lighting", "energy", "weather", "reports", "social", "cctv"]
TIME_FIELDS = ["ts", "observed_at", "created_at", "posted_at", "occurred_at", "updated_at", "closed_at"]
FIELDS = TIME_FIELDS + ["tz", "no2", "pm10", "flow_m3h", "occupancy_pct", "energy_kwh", "status", "sector_id"]

offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
extreme_dates = st.datetimes(min_value=datetime.min, max_value=datetime.max, timezones=st.none() | offsets)
iso_times = extreme_dates.map(lambda d: d.isoformat()) | st.sampled_from(
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-02-30T00:00:00Z", "", "now", "2026"]
)
extreme_numbers = st.sampled_from(["1e999", "-1e999", "NaN", "Infinity", "-Infinity", "1e18", "-1e18", "1e308", "-0"])
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities included: json.dumps writes them, the reader must refuse them
    | st.text(max_size=50)
    | iso_times
)
json_values = st.recursive(
    scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4), max_leaves=12
)


@st.composite
def objects(draw) -> bytes:
    """A JSON object with the contract's field names holding any value (wrong types included)."""
    body = draw(st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), json_values, max_size=8))
    return json.dumps(body, ensure_ascii=draw(st.booleans())).encode()


def _deep(n: int, closed: bool) -> bytes:
    return b'{"ts":' + b"[" * n + (b"1" + b"]" * n if closed else b"") + b"}"


payloads = st.one_of(
    objects(),
    st.binary(max_size=200),  # invalid UTF-8, control bytes
    json_values.map(lambda v: json.dumps(v).encode()),  # arrays, scalars: not objects
    st.builds(_deep, st.integers(1, 100_000), st.booleans()),  # deep nesting, closed or not
    st.integers(1, 400_000).map(lambda n: b'{"ts": "2026-03-10T08:00:00Z", "status": "' + b"x" * n + b'"}'),
    st.integers(1, 6000).map(lambda n: b'{"ts": "2026-03-10T08:00:00Z", "energy_kwh": ' + b"9" * n + b"}"),
    st.integers(1, 6000).map(lambda n: b'{"ts": ' + b"9" * n + b"}"),
    st.builds(lambda f, v: f'{{"{f}": {v}}}'.encode(), st.sampled_from(TIME_FIELDS), extreme_numbers),
    st.builds(lambda f, v: json.dumps({f: v, "no2": 1.5}).encode(), st.sampled_from(TIME_FIELDS), iso_times),
)
topics = st.one_of(
    st.builds(lambda d, e: f"city/{d}/{e}", st.sampled_from(DOMAINS), st.text(max_size=30)),
    st.builds(lambda e: f"city/water/{e}", st.integers(1, 200_000).map(lambda n: "M" * n)),
    st.text(max_size=60),
)
