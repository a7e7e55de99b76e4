"""Property: whatever a client publishes, the stream mapping gives rows within the limits or a PayloadError
with a reason, never another exception (which would stop the consumer before it acknowledges)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings

from ingestion.stream.clock import SimulatedClock, TimeWindow
from ingestion.stream.mapping import DOMAINS, PayloadError, decode, parse_topic, rows_for
from lakehouse.settings import LimitsSettings
from tests.stream.strategies import payloads, topics

LIMITS = LimitsSettings()
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
WINDOW = TimeWindow(LIMITS, SimulatedClock(NOW))
FAST = settings(max_examples=300, deadline=None, database=None)


def ingest(topic: str, payload: bytes) -> list[dict]:
    domain, entity = parse_topic(topic, "city")
    return rows_for(domain, entity, decode(payload, LIMITS), 7, "Europe/Paris", LIMITS, WINDOW)


@FAST
@given(topic=topics, payload=payloads)
@example(topic="city/air/AQ1", payload=b'{"ts":"2026-03-10T12:00:00+01:00","no2":1.5,"pm10":"x"}')
@example(topic="city/energy/B1", payload=b'{"ts":"0001-01-01T00:00:00+01:00"}')
@example(topic="city/energy/B1", payload=b'{"ts":"2026-03-10T08:00:00Z","energy_kwh":' + b"7" * 5000 + b"}")
@example(topic="city/energy/B1", payload=b"[" * 100_000)
def test_any_message_gives_rows_within_limits_or_a_payload_error(topic, payload):
    try:
        rows = ingest(topic, payload)
    except PayloadError as exc:
        assert str(exc).strip()
        return
    assert rows and len(payload) <= LIMITS.max_message_bytes
    domain = topic.split("/")[1]
    time_col = DOMAINS[domain][2]
    for row in rows:
        assert row["_row"] == 7
        for name, value in row.items():
            assert name == "_row" or value is None or (isinstance(value, str) and len(value) <= LIMITS.max_cell_chars)
        ts = row[time_col]
        if ts and ts.endswith("Z") and len(ts) == 27:  # parsed by the mapping: inside the window
            assert WINDOW.refusal(time_col, datetime.fromisoformat(ts).timestamp()) is None


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"ts":"0001-01-01T00:00:00+01:00"}', "ts = « 0001-01-01T00:00:00+01:00 » hors des dates représentables"),
        (
            b'{"ts":"2026-03-10T08:00:00Z","energy_kwh":' + b"7" * 5000 + b"}",
            "chiffres, au-delà des 4300 chiffres que Python convertit",
        ),
        (b"[" * 100_000, "au-delà de la limite de 32 niveaux (HYPERVISEUR_MAX_NESTING_DEPTH)"),
        (b'{"ts":"2026-03-10T08:00:00Z","energy_kwh":NaN}', "valeur « NaN » interdite en JSON"),
        (b'{"ts":"2026-03-10T08:00:00Z","energy_kwh":1e999}', "hors de la plage des nombres à virgule"),
        (b'{"ts":"2026-03-10T08:00:00Z","status":"' + b"x" * 300_000 + b'"}', "octets (HYPERVISEUR_MAX_MESSAGE_BYTES)"),
        (
            b'{"ts":"2026-03-10T08:00:00Z","status":"' + b"x" * 100_001 + b'"}',
            "champ « status » de 100 001 caractères, au-delà de la limite de 100 000 caractères",
        ),
        (b'{"ts":"2026-03-10T08:00:00Z"}\xff', "n'est pas en utf-8"),
        (b'{"ts":"2026-03-10T12:06:00Z"}', "ts = 2026-03-10T12:06:00Z postérieur à la borne 2026-03-10T12:05:00Z"),
        (b'{"ts":"2026-02-08T11:59:59Z"}', "ts = 2026-02-08T11:59:59Z plus ancien que la borne 2026-02-08T12:00:00Z"),
        (b'{"observed_at":"2099-01-01T00:00:00Z"}', "observed_at = 2099-01-01T00:00:00Z postérieur"),
    ],
)
def test_issue_payloads_are_refused_with_a_precise_french_reason(payload, reason):
    with pytest.raises(PayloadError) as err:
        ingest("city/lighting/L1", payload)
    assert reason in str(err.value), str(err.value)


def test_window_bounds_are_inclusive_and_read_the_injected_clock():
    clock = SimulatedClock(NOW)
    window = TimeWindow(LIMITS, clock)
    edge = NOW.timestamp() + LIMITS.max_clock_skew_s
    assert window.refusal("ts", edge) is None and window.refusal("ts", edge + 1)
    clock.set(edge + 1)  # the clock moved on: the same time is now plausible
    assert window.refusal("ts", edge + 1) is None
    assert "non fini" in window.refusal("ts", float("nan"))
