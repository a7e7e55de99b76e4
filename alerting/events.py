"""Turn one MQTT message (topic + JSON payload) into an :class:`Event` the detectors read.

Topic contract: ``<root>/<kind>/<entity_id>`` (see the brief); the payload's time field
is ``ts`` except for citizen reports (``created_at``) and social posts (``posted_at``).
The payload is read within the limits of the settings (size, nesting, numbers: see
:mod:`ingestion.stream.limits`); the time must be an ISO-8601 text with an offset or a finite
epoch number that a calendar date holds. Whether it is plausible *now* is the engine's call.
"""

from __future__ import annotations

import math
import sys
from datetime import UTC, datetime

from ingestion.formats.errors import InputRejected
from ingestion.stream.limits import load_json
from lakehouse.settings import LimitsSettings

MAX_FLOAT_INT = int(sys.float_info.max)
MIN_EPOCH, MAX_EPOCH = datetime(1, 1, 2, tzinfo=UTC).timestamp(), datetime(9999, 12, 30, tzinfo=UTC).timestamp()

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
    """ISO-8601 with offset (or ``Z``), or epoch seconds → epoch seconds a calendar date holds; EventError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise EventError(f"horodatage de type {type(value).__name__} (texte ISO 8601 ou nombre attendu)")
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            raise EventError(f"horodatage illisible : {value[:40]!r}") from None
        if dt.tzinfo is None:
            raise EventError(f"horodatage sans fuseau : {value[:40]!r}")
        ts = dt.timestamp()
    else:
        try:
            ts = float(value)
        except OverflowError:
            ts = math.inf
    if not MIN_EPOCH <= ts <= MAX_EPOCH:  # also refuses NaN
        raise EventError(f"horodatage hors des dates représentables : {str(value)[:40]}")
    return ts


def parse(topic: str, payload: bytes | str, root_depth: int = 1, limits: LimitsSettings | None = None) -> Event:
    """Parse a message; ``root_depth`` is the number of levels in the topic root."""
    parts = topic.split("/")
    if len(parts) < root_depth + 2:
        raise EventError(f"sujet inattendu : {topic}")
    kind, entity_id = parts[root_depth], "/".join(parts[root_depth + 1 :])
    spec = KINDS.get(kind)
    if spec is None:
        raise EventError(f"type de flux inconnu « {kind} » ({topic})")
    try:
        data = load_json(payload, limits or LimitsSettings())
    except InputRejected as exc:
        raise EventError(f"charge utile refusée sur {topic} : {exc}") from None
    if not isinstance(data, dict):
        raise EventError(f"charge utile non objet sur {topic}")
    raw_ts = data.get(spec[1]) or data.get("ts")
    if raw_ts is None:
        raise EventError(f"champ {spec[1]} manquant sur {topic}")
    try:
        ts = parse_ts(raw_ts)
    except EventError as exc:
        raise EventError(f"{spec[1]} sur {topic} : {exc}") from None
    for name, value in data.items():  # the detectors read numbers as floats: an integer beyond them is refused
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_FLOAT_INT:
            raise EventError(f"valeur « {name[:40]} » sur {topic} hors de l'intervalle des nombres finis")
    return Event(kind, spec[0], entity_id, ts, data)
