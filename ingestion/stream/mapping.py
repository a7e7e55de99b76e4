"""From an MQTT message (topic + JSON payload) to rows of a canonical raw dataset.

``<root>/<domain>/<entity_id>``: the domain picks the dataset, the entity id fills the
dataset's id column. Values are passed on as text and cast by ``ingestion.validation``
(so a wrong field lands in quarantine with its name and reason); timestamps are parsed
here, to UTC, so the dedup key of a message does not depend on how its offset was written.
Only problems that make a message unreadable as a whole raise :class:`PayloadError`: not
JSON, beyond a limit of the settings (:mod:`ingestion.stream.limits`), or an event time outside
the plausible window (:class:`~ingestion.stream.clock.TimeWindow`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

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
from ingestion.formats.errors import InputRejected
from ingestion.spec import DatasetSpec
from ingestion.stream.clock import TimeWindow
from ingestion.stream.limits import check_cell, load_json
from ingestion.validation import ROW_COLUMN
from lakehouse.settings import LimitsSettings

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


def _timestamp(name: str, value, tz: ZoneInfo, window: TimeWindow | None = None):
    """UTC text of an ISO-8601 value; naive times are read in the source time zone.
    Unparseable values are returned unchanged, for validation to reject with the field name;
    a date no UTC instant holds, or (with ``window``) an implausible event time, raises PayloadError."""
    if not isinstance(value, str):
        return _text(value)
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    try:
        dt = (dt if dt.tzinfo else dt.replace(tzinfo=tz)).astimezone(UTC)
    except (OverflowError, ValueError):
        raise PayloadError(f"{name} = « {value[:40]} » hors des dates représentables en UTC") from None
    if window is not None and (why := window.refusal(name, dt.timestamp())):
        raise PayloadError(why)
    return canonical_ts(dt)


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


def decode(payload: bytes, limits: LimitsSettings) -> dict:
    """The JSON object of a payload read within ``limits``; raises PayloadError otherwise."""
    try:
        body = load_json(payload, limits)
    except InputRejected as exc:
        raise PayloadError(str(exc)) from None
    if not isinstance(body, dict):
        raise PayloadError(f"objet JSON attendu, reçu {type(body).__name__}")
    return body


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def rows_for(
    domain: str, entity: str, body: dict, index: int, source_tz: str, limits: LimitsSettings, window: TimeWindow
) -> list[dict]:
    """Rows (text values, canonical column names, ``_row`` = message index) of one message.

    The event time (the domain's time column, or ``ts``) must lie in ``window``; every value
    must hold in ``limits.max_cell_chars``."""
    spec, entity_col, time_col = DOMAINS[domain]
    tz_name = body["tz"] if isinstance(body.get("tz"), str) and body["tz"] in _zones() else source_tz
    tz = ZoneInfo(tz_name)
    base = {c.name: None for c in spec.columns}
    for name in base:
        if name in body:
            guard = window if name == time_col else None
            base[name] = _timestamp(name, body[name], tz, guard) if name in TIMESTAMP_COLUMNS else _text(body[name])
    if base.get(entity_col) is None:
        base[entity_col] = entity
    if "ts" in body and base.get(time_col) is None:
        base[time_col] = _timestamp("ts", body["ts"], tz, window)
    base["source_tz"] = base.get("source_tz") or tz_name
    if domain != "air":
        rows = [base]
    else:
        found = [p for p in POLLUTANTS if p in body]
        if not found:
            raise PayloadError(f"aucun polluant dans le message (attendus : {', '.join(POLLUTANTS)})")
        rows = [{**base, "pollutant": p, "value": _text(body[p])} for p in found]
    try:
        for name, value in rows[0].items():
            check_cell(name, value, limits)
        for row in rows[1:]:
            check_cell("value", row["value"], limits)
    except InputRejected as exc:
        raise PayloadError(str(exc)) from None
    for row in rows:
        row[ROW_COLUMN] = index
    return rows


def key_digest(spec: DatasetSpec, row: dict) -> bytes:
    """8-byte digest of a row's dataset key (the redelivery identity of a reading)."""
    parts = [spec.qualified_name]
    for k in spec.key:
        v = row.get(k)
        parts.append(canonical_ts(v) if isinstance(v, datetime) else ("" if v is None else str(v)))
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
