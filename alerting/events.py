"""Turn one MQTT message (topic + JSON payload) into an :class:`Event` the detectors read.

Topic contract: ``<root>/<kind>/<entity_id>`` (see the brief); the payload's time field
is ``ts`` except for citizen reports (``created_at``) and social posts (``posted_at``).
"""

from __future__ import annotations

import json
from datetime import datetime

# topic kind -> (entity type in the referential, time field)
KINDS = {
    "air": ("station", "ts"),
    "traffic": ("segment", "ts"),
    "water": ("meter", "ts"),
    "lighting": ("lamp", "ts"),
    "energy": ("building", "ts"),
    "weather": ("weather_station", "ts"),
    "reports": ("report", "created_at"),
    "social": ("post", "posted_at"),
    "cctv": ("camera", "ts"),
}


class EventError(ValueError):
    """The message does not follow the topic/payload contract."""


class Event:
    __slots__ = ("kind", "entity_type", "entity_id", "ts", "data")

    def __init__(self, kind: str, entity_type: str, entity_id: str, ts: float, data: dict):
        self.kind, self.entity_type, self.entity_id, self.ts, self.data = kind, entity_type, entity_id, ts, data

    def __repr__(self) -> str:
        return f"Event({self.kind}/{self.entity_id} @ {self.ts})"


def parse_ts(value) -> float:
    """ISO-8601 with offset (or ``Z``) → epoch seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        raise EventError(f"horodatage sans fuseau : {value!r}")
    return dt.timestamp()


def parse(topic: str, payload: bytes | str, root_depth: int = 1) -> Event:
    """Parse a message; ``root_depth`` is the number of levels in the topic root."""
    parts = topic.split("/")
    if len(parts) < root_depth + 2:
        raise EventError(f"sujet inattendu : {topic}")
    kind, entity_id = parts[root_depth], "/".join(parts[root_depth + 1 :])
    spec = KINDS.get(kind)
    if spec is None:
        raise EventError(f"type de flux inconnu « {kind} » ({topic})")
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EventError(f"charge utile JSON illisible sur {topic} : {exc}") from None
    if not isinstance(data, dict):
        raise EventError(f"charge utile non objet sur {topic}")
    raw_ts = data.get(spec[1]) or data.get("ts")
    if raw_ts is None:
        raise EventError(f"champ {spec[1]} manquant sur {topic}")
    try:
        ts = parse_ts(raw_ts)
    except (TypeError, ValueError) as exc:
        raise EventError(f"horodatage illisible sur {topic} : {exc}") from None
    return Event(kind, spec[0], entity_id, ts, data)
