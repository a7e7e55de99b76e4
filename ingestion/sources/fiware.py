"""FIWARE Smart Data Models (NGSI-v2 key-values / normalized, NGSI-LD, GeoJSON features).

Every entity lands verbatim in ``fiware.entities``; entities of a known model are also
projected onto canonical datasets: AirQualityObserved → ``iot.air_quality`` (one row per
pollutant, lowercase or legacy uppercase names, ``unitCode`` GQ = µg/m³, GP = mg/m³),
TrafficFlowObserved → ``iot.traffic_flow``, Streetlight → ``iot.streetlight``,
WaterConsumptionObserved → ``iot.water_meter_readings`` (a cumulative index, not a flow).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ingestion.datasets import AIR_QUALITY, FIWARE_ENTITIES, POLLUTANTS, STREETLIGHT, TRAFFIC_FLOW, WATER_METER_READINGS
from ingestion.formats.limits import check_count
from ingestion.formats.values import parse_interval_start
from ingestion.sources import register
from ingestion.sources.base import (
    MAPPING_ERRORS,
    Batch,
    Context,
    FileRejected,
    RowReject,
    Source,
    chunked,
    mapping_reject,
    merge,
)
from ingestion.sources.jsondoc import load_json, point

ROW_UNIT = "entité n° (ordre dans le fichier)"
NGSI_LD_TYPES = ("Property", "GeoProperty", "Relationship", "LanguageProperty")
# unitCode (UN/CEFACT) → factor to µg/m³
UNIT_FACTORS = {"GQ": 1.0, "GP": 1000.0, "GR": 1000.0 * 1000.0}
POLLUTANT_ALIASES = {p: p for p in POLLUTANTS} | {"pm2_5": "pm25", "pm2.5": "pm25"}
META_KEYS = ("id", "type", "@context")


class Entity:
    """An entity flattened to ``name → (value, unitCode, observedAt)`` whatever its form."""

    def __init__(self, raw: dict):
        self.raw = raw
        if raw.get("type") == "Feature":  # GeoJSON representation of NGSI-LD
            body = dict(raw.get("properties") or {})
            self.id, self.type, self.format = raw.get("id"), body.pop("type", None), "geojson"
            if "location" not in body and raw.get("geometry"):
                body["location"] = raw["geometry"]
        else:
            body = {k: v for k, v in raw.items() if k not in META_KEYS}
            self.id, self.type, self.format = raw.get("id"), raw.get("type"), _form(body)
        self.attrs = {k: _unwrap(v, self.format) for k, v in body.items() if k != "@context"}

    def value(self, *names):
        for n in names:
            if n in self.attrs and self.attrs[n][0] is not None:
                return self.attrs[n][0]
        return None

    def observed_at(self, *names):
        """First of the named date attributes, else the latest ``observedAt`` of any attribute."""
        for n in names:
            v = self.value(n)
            if v is not None:
                return v
        stamps = [a[2] for a in self.attrs.values() if a[2]]
        return max(stamps) if stamps else None

    @property
    def short_id(self) -> str:
        return strip_urn(self.id)


def strip_urn(value) -> str | None:
    """``urn:ngsi-ld:Streetlight:abc:1`` → ``abc:1`` (the id without the URN prefix)."""
    if value is None:
        return None
    text = str(value)
    if text.startswith("urn:ngsi-ld:"):
        parts = text.split(":", 3)
        return parts[3] if len(parts) == 4 else text
    return text


def _form(body: dict) -> str:
    values = [v for v in body.values() if isinstance(v, dict)]
    if any(v.get("type") in NGSI_LD_TYPES or "observedAt" in v for v in values):
        return "ngsi-ld"
    if any("type" in v and "value" in v for v in values):
        return "ngsi-v2"
    return "keyvalues"


def _unwrap(v, form: str):
    """(value, unitCode, observedAt) of one attribute in any form."""
    if form == "keyvalues" or not isinstance(v, dict):
        return v, None, None
    if v.get("type") == "Relationship":
        return v.get("object"), None, v.get("observedAt")
    if "value" not in v:  # a GeoJSON geometry written bare
        return v, None, None
    value = v.get("value")
    if isinstance(value, dict) and "@value" in value:
        value = value["@value"]
    unit = v.get("unitCode") or ((v.get("metadata") or {}).get("unitCode") or {}).get("value")
    observed = v.get("observedAt") or ((v.get("metadata") or {}).get("timestamp") or {}).get("value")
    return value, unit, observed


def entities_of(doc) -> list[dict]:
    """Entities of a document: one entity, a list, an NGSI notification or a FeatureCollection."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        if isinstance(doc.get("data"), list):
            return doc["data"]
        if doc.get("type") == "FeatureCollection":
            return doc.get("features") or []
        if "$schema" in doc or "allOf" in doc:
            raise FileRejected("schéma JSON d'un modèle de données, pas une entité")
        if "@context" in doc and "id" not in doc:
            raise FileRejected("contexte JSON-LD, pas une entité")
        return [doc]
    raise FileRejected("le document n'est ni une entité, ni une liste d'entités, ni une notification NGSI")


@register
class FiwareSource(Source):
    name = "fiware"
    label = "Entités FIWARE Smart Data Models (NGSI-v2, NGSI-LD, key-values)"
    suffixes = (".json", ".jsonld", ".geojson")
    datasets = (FIWARE_ENTITIES,)
    chunk_entities = 10_000

    def read(self, path: Path, ctx: Context) -> Iterator[Batch]:
        try:
            raw_entities = entities_of(load_json(path, ctx.limits))
        except FileRejected as exc:
            if str(exc).startswith(path.name):
                raise
            raise FileRejected(f"{path.name} : {exc}") from None
        check_count(len(raw_entities), "entités", path.name, ctx.limits)
        for offset, part in chunked(raw_entities, self.chunk_entities):
            out: dict[str, Batch] = {}
            for n, raw in enumerate(part, start=offset + 1):
                staged: dict[str, Batch] = {}
                try:
                    self._one(raw, n, ctx, staged)
                except MAPPING_ERRORS as exc:  # the entity as a whole, in no dataset but quarantine
                    staged = {
                        FIWARE_ENTITIES.name: Batch(FIWARE_ENTITIES, [], [], ROW_UNIT, [mapping_reject(n, exc, raw)])
                    }
                merge(out, staged)
            ctx.tick(path.stat().st_size * (offset + len(part)) // max(len(raw_entities), 1))
            yield from out.values()

    def _one(self, raw, n: int, ctx: Context, out: dict[str, Batch]) -> None:
        entities = out.setdefault(FIWARE_ENTITIES.name, Batch(FIWARE_ENTITIES, [], [], ROW_UNIT))
        if (
            not isinstance(raw, dict)
            or not raw.get("id")
            or not (raw.get("type") or (raw.get("properties") or {}).get("type"))
        ):
            entities.rejects.append(RowReject(n, "id", "entité sans « id » ou sans « type »", raw))
            return
        e = Entity(raw)
        when = e.observed_at("dateObserved", "dateObservedFrom", "observationDateTime", "dateModified")
        record = {
            "entity_id": str(e.id),
            "entity_type": str(e.type),
            "payload_format": e.format,
            "payload": json.dumps(raw, ensure_ascii=False, sort_keys=True),
        }
        try:
            if when is not None:
                record["observed_at"], record["source_tz"], _ = parse_interval_start(when, ctx.tz)
        except ValueError as exc:
            entities.rejects.append(RowReject(n, "observed_at", str(exc), record))
            return
        entities.records.append(record)
        entities.numbers.append(n)
        mapper = MAPPERS.get(e.type)
        if mapper:
            mapper(e, n, ctx, out)


def _batch(out: dict[str, Batch], spec) -> Batch:
    return out.setdefault(spec.qualified_name, Batch(spec, [], [], ROW_UNIT))


def _time(e: Entity, ctx: Context, *names):
    when = e.observed_at(*names)
    if when is None:
        return None, None, None
    return parse_interval_start(when, ctx.tz)


def _air(e: Entity, n: int, ctx: Context, out) -> None:
    batch = _batch(out, AIR_QUALITY)
    station = strip_urn(e.value("refDevice", "refPointOfInterest")) or e.short_id
    lat, lon = point(e.value("location"))
    for attr, (value, unit, observed) in e.attrs.items():
        pollutant = POLLUTANT_ALIASES.get(attr.lower())
        if pollutant is None or isinstance(value, (dict, list, bool)):
            continue
        base = {"station_id": station, "pollutant": pollutant, "lat": lat, "lon": lon}
        try:
            at, tz, _ = (
                parse_interval_start(observed, ctx.tz)
                if observed
                else _time(e, ctx, "dateObserved", "dateObservedFrom")
            )
        except ValueError as exc:
            batch.rejects.append(RowReject(n, "observed_at", str(exc), base))
            continue
        if unit is not None and unit not in UNIT_FACTORS:
            batch.rejects.append(
                RowReject(
                    n,
                    "value",
                    f"unité « {unit} » de {attr} non convertible en µg/m³ (attendu GQ = µg/m³ ou GP = mg/m³)",
                    {**base, "value": value},
                )
            )
            continue
        factor = UNIT_FACTORS.get(unit or "GQ")
        number = value * factor if isinstance(value, (int, float)) else value
        batch.records.append({**base, "observed_at": at, "source_tz": tz, "value": number})
        batch.numbers.append(n)


def _traffic(e: Entity, n: int, ctx: Context, out) -> None:
    batch = _batch(out, TRAFFIC_FLOW)
    segment = strip_urn(e.value("refRoadSegment")) or e.short_id
    lane = e.value("laneId")
    if lane is not None:
        segment = f"{segment}:voie{lane}"
    lat, lon = point(e.value("location"))
    try:
        at, tz, duration = _time(e, ctx, "dateObservedFrom", "dateObserved")
        end = e.value("dateObservedTo")
        if end is not None and at is not None:
            duration = (parse_interval_start(end, ctx.tz)[0] - at).total_seconds()
    except ValueError as exc:
        batch.rejects.append(RowReject(n, "observed_at", str(exc), {"segment_id": segment}))
        return
    occupancy = e.value("occupancy")
    if isinstance(occupancy, (int, float)) and occupancy <= 1:
        occupancy = occupancy * 100  # FIWARE occupancy is a ratio in [0, 1]
    intensity = e.value("intensity")
    batch.records.append(
        {
            "segment_id": segment,
            "observed_at": at,
            "source_tz": tz,
            "vehicle_count": int(intensity) if isinstance(intensity, (int, float)) else intensity,
            "occupancy_pct": occupancy,
            "average_speed_kmh": e.value("averageVehicleSpeed"),
            "period_s": int(duration) if duration else None,
            "lat": lat,
            "lon": lon,
        }
    )
    batch.numbers.append(n)


def _streetlight(e: Entity, n: int, ctx: Context, out) -> None:
    batch = _batch(out, STREETLIGHT)
    status, power_state = e.value("status"), e.value("powerState")
    if status is not None and status != "ok":
        state = "fault"  # defectiveLamp, columnIssue, brokenLantern
    elif power_state in ("off", "low"):
        state = "off" if power_state == "off" else "ok"
    else:
        state = "ok" if status == "ok" or power_state == "on" else None
    lat, lon = point(e.value("location"))
    record = {
        "lamp_id": e.short_id,
        "lat": lat,
        "lon": lon,
        "status": state,
        "circuit_id": strip_urn(e.value("circuit", "refStreetlightControlCabinet", "refStreetlightGroup")),
        "power_w": e.value("powerConsumption"),
    }
    level = e.value("illuminanceLevel")
    record["dimming_pct"] = level * 100 if isinstance(level, (int, float)) and level <= 1 else level
    try:
        record["observed_at"], record["source_tz"], _ = _time(
            e, ctx, "observationDateTime", "dateObserved", "dateModified"
        )
    except ValueError as exc:
        batch.rejects.append(RowReject(n, "observed_at", str(exc), record))
        return
    batch.records.append(record)
    batch.numbers.append(n)


def _water(e: Entity, n: int, ctx: Context, out) -> None:
    batch = _batch(out, WATER_METER_READINGS)
    lat, lon = point(e.value("location"))

    def m3h(litres_per_hour):
        return litres_per_hour / 1000 if isinstance(litres_per_hour, (int, float)) else litres_per_hour

    record = {
        "meter_id": e.short_id,
        "volume_m3": e.value("waterConsumption"),
        "min_flow_m3h": m3h(e.value("minFlow")),
        "max_flow_m3h": m3h(e.value("maxFlow")),
        "alarm_in_progress": e.value("alarmInProgress"),
        "lat": lat,
        "lon": lon,
    }
    try:
        at, tz, _ = _time(e, ctx, "dateObserved", "dateObservedTo")
    except ValueError as exc:
        batch.rejects.append(RowReject(n, "observed_at", str(exc), record))
        return
    if at is None:
        batch.rejects.append(
            RowReject(
                n,
                "observed_at",
                "relevé sans horodatage (ni dateObserved, ni observedAt) : l'entité est conservée dans fiware.entities",
                record,
            )
        )
        return
    batch.records.append({**record, "observed_at": at, "source_tz": tz})
    batch.numbers.append(n)


MAPPERS = {
    "AirQualityObserved": _air,
    "TrafficFlowObserved": _traffic,
    "Streetlight": _streetlight,
    "WaterConsumptionObserved": _water,
}
