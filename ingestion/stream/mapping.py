"""From an MQTT message (topic + JSON payload) to rows of a canonical raw dataset.

``<root>/<domain>/<entity_id>``: the domain picks the dataset, the entity id fills the
dataset's id column. Values are passed on as text and cast by ``ingestion.validation``
(so a wrong field lands in quarantine with its name and reason); timestamps are parsed
here, to UTC, so the dedup key of a message does not depend on how its offset was written.
Only problems that make a message unreadable as a whole raise :class:`PayloadError`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ingestion.datasets import (
    AIR_QUALITY,
    BUILDING_ENERGY,
    CCTV_EVENTS,
    CITIZEN_REPORTS,
    POLLUTANTS,
    SOCIAL_POSTS,
    STREETLIGHT,
    TRAFFIC_FLOW,
    WATER_FLOW,
    WEATHER,
)
from ingestion.spec import DatasetSpec
from ingestion.validation import ROW_COLUMN

DOMAINS: dict[str, tuple[DatasetSpec, str, str]] = {  # domain -> (spec, entity column, time column)
    "air": (AIR_QUALITY, "station_id", "observed_at"),
    "traffic": (TRAFFIC_FLOW, "segment_id", "observed_at"),
    "water": (WATER_FLOW, "meter_id", "observed_at"),
    "lighting": (STREETLIGHT, "lamp_id", "observed_at"),
    "energy": (BUILDING_ENERGY, "building_id", "observed_at"),
    "weather": (WEATHER, "station_id", "observed_at"),
    "reports": (CITIZEN_REPORTS, "report_id", "created_at"),
    "social": (SOCIAL_POSTS, "post_id", "posted_at"),
    "cctv": (CCTV_EVENTS, "camera_id", "occurred_at"),
}
TIMESTAMP_COLUMNS = {"observed_at", "created_at", "updated_at", "closed_at", "posted_at", "occurred_at"}


class PayloadError(ValueError):
    """The message cannot be read at all (not JSON, not an object, no measurement)."""


def canonical_ts(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _timestamp(value, tz: ZoneInfo):
    """UTC text of an ISO-8601 value; naive times are read in the source time zone.
    Unparseable values are returned unchanged, for validation to reject with the field name."""
    if not isinstance(value, str):
        return _text(value)
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    return canonical_ts(dt if dt.tzinfo else dt.replace(tzinfo=tz))


def _text(value):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()  # never a number: the cast rejects it
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def parse_topic(topic: str, root: str) -> tuple[str, str]:
    """(domain, entity id) of ``<root>/<domain>/<entity>``; raises PayloadError otherwise."""
    prefix = root.rstrip("/") + "/"
    if not topic.startswith(prefix):
        raise PayloadError(f"sujet hors de la racine « {root} »")
    parts = topic[len(prefix) :].split("/", 1)
    if len(parts) != 2 or not parts[1]:
        raise PayloadError("sujet incomplet : attendu <racine>/<domaine>/<identifiant>")
    if parts[0] not in DOMAINS:
        raise PayloadError(f"domaine inconnu « {parts[0]} » (connus : {', '.join(DOMAINS)})")
    return parts[0], parts[1]


def decode(payload: bytes) -> dict:
    try:
        body = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PayloadError(f"charge utile non UTF-8 : {exc}") from exc
    except json.JSONDecodeError as exc:
        raise PayloadError(f"JSON invalide : {exc.msg} (position {exc.pos})") from exc
    if not isinstance(body, dict):
        raise PayloadError(f"objet JSON attendu, reçu {type(body).__name__}")
    return body


def rows_for(domain: str, entity: str, body: dict, index: int, source_tz: str) -> list[dict]:
    """Rows (text values, canonical column names, ``_row`` = message index) of one message."""
    spec, entity_col, time_col = DOMAINS[domain]
    tz_name = body.get("tz") if isinstance(body.get("tz"), str) else source_tz
    try:
        tz = ZoneInfo(tz_name)
    except (ValueError, KeyError):  # unknown zone name: read naive times in the default zone
        tz_name, tz = source_tz, ZoneInfo(source_tz)
    base = {c.name: None for c in spec.columns}
    for name in base:
        if name in body:
            base[name] = _timestamp(body[name], tz) if name in TIMESTAMP_COLUMNS else _text(body[name])
    if base.get(entity_col) is None:
        base[entity_col] = entity
    if "ts" in body and base.get(time_col) is None:
        base[time_col] = _timestamp(body["ts"], tz)
    base["source_tz"] = base.get("source_tz") or tz_name
    base[ROW_COLUMN] = index
    if domain != "air":
        return [base]
    found = [p for p in POLLUTANTS if p in body]
    if not found:
        raise PayloadError(f"aucun polluant dans le message (attendus : {', '.join(POLLUTANTS)})")
    return [{**base, "pollutant": p, "value": _text(body[p])} for p in found]


def key_digest(spec: DatasetSpec, row: dict) -> bytes:
    """8-byte digest of a row's dataset key (the redelivery identity of a reading)."""
    parts = [spec.qualified_name]
    for k in spec.key:
        v = row.get(k)
        parts.append(canonical_ts(v) if isinstance(v, datetime) else ("" if v is None else str(v)))
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
