"""OGC SensorThings API 1.0 payloads: Observations, Datastreams (with embedded Observations),
collections (``{"value": [...]}``) and the dataArray extension.

Observations whose Datastream observes an air pollutant in µg/m³ go to ``iot.air_quality``;
every other Observation goes to ``sensorthings.observations``. Datastreams are kept in
``sensorthings.datastreams``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from ingestion.datasets import AIR_QUALITY, POLLUTANTS, SENSORTHINGS_DATASTREAMS, SENSORTHINGS_OBSERVATIONS
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
    mapping_reject,
    merge,
)
from ingestion.sources.jsondoc import fingerprint, load_json, point

ROW_UNIT = "objet JSON n° (ordre dans le fichier)"
OBSERVATIONS = SENSORTHINGS_OBSERVATIONS.name  # key of its batch in ``out``
MICROGRAMS = {"µg/m³", "µg/m3", "ug/m3", "ug/m³", "μg/m³", "μg/m3"}


def _pollutant(name: str | None) -> str | None:
    key = re.sub(r"[^a-z0-9]", "", (name or "").lower())
    return key if key in POLLUTANTS else None


class _Stream:
    """What an Observation needs to know about its Datastream."""

    def __init__(self, ds: dict | None):
        ds = ds or {}
        prop = ds.get("ObservedProperty") or {}
        unit = ds.get("unitOfMeasurement") or {}
        thing = ds.get("Thing") or {}
        self.id = _id(ds) if ds else None
        self.property = prop.get("name")
        self.unit = unit.get("symbol")
        self.thing = _id(thing) if thing.get("@iot.id") is not None or thing.get("id") is not None else None
        pollutant = _pollutant(self.property)
        self.canonical = AIR_QUALITY.qualified_name if pollutant and self.unit in MICROGRAMS else None
        self.pollutant = pollutant


def _id(entity: dict) -> str:
    for key in ("@iot.id", "id"):
        if entity.get(key) is not None:
            return str(entity[key])
    return fingerprint(entity)


@register
class SensorThingsSource(Source):
    name = "sensorthings"
    label = "OGC SensorThings API : Observations et Datastreams (JSON)"
    suffixes = (".json",)
    datasets = (SENSORTHINGS_OBSERVATIONS, SENSORTHINGS_DATASTREAMS)

    def read(self, path: Path, ctx: Context) -> Iterator[Batch]:
        doc = load_json(path, ctx.limits)
        items = doc.get("value") if isinstance(doc, dict) and isinstance(doc.get("value"), list) else doc
        items = items if isinstance(items, list) else [items]
        check_count(len(items), "objets", path.name, ctx.limits)
        out: dict[str, Batch] = {}
        understood = False
        for n, item in enumerate(items, start=1):
            staged: dict[str, Batch] = {}
            try:
                understood |= self._item(item, n, ctx, staged)
            except MAPPING_ERRORS as exc:  # the object as a whole, whatever it already produced
                understood = True
                staged = {
                    OBSERVATIONS: Batch(SENSORTHINGS_OBSERVATIONS, [], [], ROW_UNIT, [mapping_reject(n, exc, item)])
                }
            merge(out, staged)
        if not understood:
            raise FileRejected(
                f"{path.name} : ni Observation (champ « result »), ni Datastream "
                "(« unitOfMeasurement »), ni dataArray : entité SensorThings non ingérée"
            )
        yield from out.values()

    def _item(self, item, n: int, ctx: Context, out: dict[str, Batch]) -> bool:
        if not isinstance(item, dict):
            return False
        if "dataArray" in item:
            stream = _Stream(item.get("Datastream"))
            components = item.get("components") or []
            for values in item.get("dataArray") or []:
                obs = dict(zip(components, values))
                if "FeatureOfInterest/id" in obs:
                    obs["FeatureOfInterest"] = {"@iot.id": obs.pop("FeatureOfInterest/id")}
                self._observation(obs, stream, n, ctx, out)
            return True
        if "result" in item:
            self._observation(item, _Stream(item.get("Datastream")), n, ctx, out)
            return True
        if "unitOfMeasurement" in item or "observationType" in item:
            stream = _Stream(item)
            self._datastream(item, stream, n, out)
            for obs in item.get("Observations") or []:
                self._observation(obs, stream, n, ctx, out)
            return True
        return False

    def _datastream(self, ds: dict, stream: _Stream, n: int, out) -> None:
        batch = out.setdefault(SENSORTHINGS_DATASTREAMS.name, Batch(SENSORTHINGS_DATASTREAMS, [], [], ROW_UNIT))
        unit, prop, sensor = ds.get("unitOfMeasurement") or {}, ds.get("ObservedProperty") or {}, ds.get("Sensor") or {}
        batch.records.append(
            {
                "datastream_id": stream.id,
                "name": ds.get("name"),
                "description": ds.get("description"),
                "observation_type": ds.get("observationType"),
                "unit_name": unit.get("name"),
                "unit_symbol": unit.get("symbol"),
                "unit_definition": unit.get("definition"),
                "observed_property": prop.get("name"),
                "observed_property_definition": prop.get("definition"),
                "sensor": sensor.get("description") or sensor.get("name") or (str(_id(sensor)) if sensor else None),
                "thing_id": stream.thing,
                "canonical_dataset": stream.canonical,
            }
        )
        batch.numbers.append(n)

    def _observation(self, obs: dict, stream: _Stream, n: int, ctx: Context, out) -> None:
        foi = obs.get("FeatureOfInterest") or {}
        lat, lon = point(foi.get("feature"))
        if stream.canonical == AIR_QUALITY.qualified_name:
            batch = out.setdefault(AIR_QUALITY.name, Batch(AIR_QUALITY, [], [], ROW_UNIT))
            record = {
                "station_id": stream.thing or stream.id,
                "pollutant": stream.pollutant,
                "value": obs.get("result"),
                "lat": lat,
                "lon": lon,
            }
            try:
                record["observed_at"], record["source_tz"], _ = (
                    parse_interval_start(obs["phenomenonTime"], ctx.tz)
                    if obs.get("phenomenonTime")
                    else (None, None, None)
                )
            except ValueError as exc:
                batch.rejects.append(RowReject(n, "observed_at", str(exc), record))
                return
            batch.records.append(record)
            batch.numbers.append(n)
            return
        batch = out.setdefault(OBSERVATIONS, Batch(SENSORTHINGS_OBSERVATIONS, [], [], ROW_UNIT))
        result = obs.get("result")
        numeric = isinstance(result, (int, float)) and not isinstance(result, bool)
        record = {
            "observation_id": _id(obs) if ("@iot.id" in obs or "id" in obs) else fingerprint({"ds": stream.id, **obs}),
            "datastream_id": stream.id,
            "observed_property": stream.property,
            "unit_symbol": stream.unit,
            "result_number": result if numeric else None,
            "result_text": None if numeric or result is None else json.dumps(result, ensure_ascii=False),
            "result_quality": None if obs.get("resultQuality") is None else str(obs.get("resultQuality")),
            "feature_of_interest": (str(_id(foi)) if ("@iot.id" in foi or "id" in foi) else foi.get("description"))
            if foi
            else None,
            "lat": lat,
            "lon": lon,
            "parameters": json.dumps(obs["parameters"], ensure_ascii=False) if obs.get("parameters") else None,
        }
        try:
            if obs.get("phenomenonTime"):
                start, tz, duration = parse_interval_start(obs["phenomenonTime"], ctx.tz)
                record["phenomenon_time"], record["source_tz"] = start, tz
                if duration is not None:
                    from datetime import timedelta

                    record["phenomenon_end"] = start + timedelta(seconds=duration)
            if obs.get("resultTime"):
                record["result_time"] = parse_interval_start(obs["resultTime"], ctx.tz)[0]
        except ValueError as exc:
            batch.rejects.append(RowReject(n, "phenomenon_time", str(exc), record))
            return
        batch.records.append(record)
        batch.numbers.append(n)
