"""Météo-France hourly observation files (RADOME "pack étendu horaire") → ``weather.observations``.

Dates are ``YYYYMMDDHHMMSS`` in UTC; temperatures in Kelvin (→ °C), pressure in Pa (→ hPa),
rain in kg/m² (= mm), where ``-0.1`` means a trace of rain (< 0.1 mm) and becomes 0;
``mq`` (manquant) is null. The files end with an ``EOF`` line, which is
a terminator, not a record. Station coordinates come from a ``weather_stations.csv`` next to
the files (or in a parent folder), in degrees-minutes-seconds.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from ingestion.datasets import WEATHER
from ingestion.formats.limits import check_size
from ingestion.formats.tabular import ReadOptions, read_csv
from ingestion.formats.values import is_null, parse_datetime, parse_dms, parse_number
from ingestion.sources import register
from ingestion.sources.base import Batch, Context, FileRejected, RowReject, Source

KELVIN = 273.15
TRACE = -0.1
# canonical column → (RADOME column, conversion)
FIELDS = {
    "temperature_c": ("t", lambda k: round(k - KELVIN, 2)),
    "humidity_pct": ("u", float),
    "wind_speed_ms": ("ff", float),
    "wind_direction_deg": ("dd", float),
    "precipitation_mm": ("rr1", lambda mm: 0.0 if mm == TRACE else mm),
    "pressure_hpa": ("pmer", lambda pa: pa / 100),
}
END_MARKER = "EOF"


@register
class MeteoFranceSource(Source):
    name = "meteofrance"
    label = "Observations horaires Météo-France (RADOME, CSV)"
    suffixes = (".txt", ".csv")
    datasets = (WEATHER,)

    def files(self, path: Path):
        files, docs = super().files(path)
        return [f for f in files if f.name != "weather_stations.csv"], docs

    def read(self, path: Path, ctx: Context) -> Iterator[Batch]:
        stations_file = _stations_file(path, ctx.options.get("stations"))
        if stations_file is not None:  # read whole below: held to the document limit
            check_size(stations_file, ctx.limits, "max_document_bytes")
        stations = _stations(stations_file)
        for chunk in read_csv(path, ReadOptions(delimiter=",", limits=ctx.limits), ctx.tick):
            names = [c.name for c in chunk.columns]
            if not {"numer_sta", "date"} <= set(names):
                raise FileRejected(
                    f"{path.name} : en-tête RADOME attendu (numer_sta,date,…), trouvé : {', '.join(names[:4])}…"
                )
            batch = Batch(WEATHER, [], [], chunk.row_unit)
            for number, message, raw in chunk.broken:
                if raw.strip() != END_MARKER:
                    batch.rejects.append(RowReject(number, None, message, raw))
            for number, cells in zip(chunk.numbers, chunk.rows):
                row = dict(zip(names, cells))
                record = {"station_id": row["numer_sta"].strip(), "source_tz": "UTC"}
                record["lat"], record["lon"] = stations.get(record["station_id"], (None, None))
                try:
                    column = "date"
                    record["observed_at"] = parse_datetime(row["date"], fmt="%Y%m%d%H%M%S", tz="UTC")[0]
                    for target, (column, convert) in FIELDS.items():
                        raw = row.get(column)
                        record[target] = None if is_null(raw) else convert(parse_number(raw, "."))
                except ValueError as exc:
                    batch.rejects.append(RowReject(number, column, f"{column} : {exc}", row))
                    continue
                batch.records.append(record)
                batch.numbers.append(number)
            yield batch


def _stations_file(path: Path, explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit)
    for folder in (path.parent, *path.parents[:3]):
        candidate = folder / "weather_stations.csv"
        if candidate.exists():
            return candidate
    return None


@lru_cache(maxsize=4)
def _stations(path: Path | None) -> dict[str, tuple[float, float]]:
    if path is None:
        return {}
    out = {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            try:
                out[row["Numéro"].strip()] = (parse_dms(row["Latitude"]), parse_dms(row["Longitude"]))
            except (KeyError, ValueError):
                continue  # a station without usable coordinates keeps lat/lon null
    return out
