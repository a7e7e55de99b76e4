"""Stored incidents for the tests of the operators' incident page (tests/alerting, tests/sso)."""

from __future__ import annotations

from alerting.incidents import Incident

SIGNAL = {"origin": "regle", "confidence": 0.9, "active": True, "headline_fr": "Débit anormal", "severity": "Severe"}


def incident(n: int, **fields) -> dict:
    """Incident ``INC-<n>`` (water, sector SEC01 of district D1, one active signal) as stored;
    ``fields`` replace or add to its fields."""
    base = {
        "family": "eau",
        "district_id": "D1",
        "entity_type": "sector",
        "entity_id": "SEC01",
        "title": f"Fuite probable {n}",
        "opened_at": 1.7e9,
        "updated_at": 1.7e9,
        "signals": {"k": SIGNAL},
    }
    return Incident(incident_id=f"INC-{n}", **{**base, **fields}).to_dict()
