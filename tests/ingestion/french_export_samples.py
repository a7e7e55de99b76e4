"""Invented Paris road-counter exports, written at test time in the layouts OpenDataSoft serves.

The opendata.paris.fr dataset « comptages routiers permanents » (one line per road arc and hour)
as its ``;`` CSV export, and the same records as the portal's JSON: API v1 ``records``, API v2.1
``/records`` and v2.1 ``exports/json``. The values are made up (seeded, so every run writes the
same bytes) but keep the real export's quirks: French headers with accents and apostrophes,
local timestamps with ``+01:00``/``+02:00`` offsets (the rows straddle the October clock
change), empty flow/occupancy cells on the hours a loop was down, ``geo_point_2d`` as
``"lat,lon"`` and ``geo_shape`` as quoted GeoJSON text with doubled quotes.

Folder names are the dataset names the ``opendatasoft`` connector derives, as with files
dropped by an operator: ``paris_comptages_routiers/`` and ``opendatasoft_records/``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

DATASET = "comptages-routiers-permanents"
CSV_HEADER = (
    "Identifiant arc",
    "Libelle",
    "Date et heure de comptage",
    "Débit horaire",
    "Taux d'occupation",
    "Etat trafic",
    "Identifiant noeud amont",
    "Libelle noeud amont",
    "Identifiant noeud aval",
    "Libelle noeud aval",
    "Etat arc",
    "Date debut dispo data",
    "Date fin dispo data",
    "geo_point_2d",
    "geo_shape",
)
FIELDS = (  # the portal's field names, same order as CSV_HEADER
    "iu_ac",
    "libelle",
    "t_1h",
    "q",
    "k",
    "etat_trafic",
    "iu_nd_amont",
    "libelle_nd_amont",
    "iu_nd_aval",
    "libelle_nd_aval",
    "etat_barre",
    "date_debut",
    "date_fin",
    "geo_point_2d",
    "geo_shape",
)
CSV_ROWS = 300
V1_RECORDS = 60  # API v1 response and v2.1 exports/json: the first 60 rows
V2_PAGE = 20  # API v2.1 /records: the first page of 20
PARIS = ZoneInfo("Europe/Paris")
FIRST_HOUR = datetime(2023, 10, 22, tzinfo=UTC)  # two weeks centred on the 29 October clock change
HOURS = 14 * 24
RECORD_TIMESTAMP = "2023-11-06T03:12:47.518Z"


@dataclass(frozen=True)
class Arc:
    ident: int
    label: str
    upstream: tuple[int, str]
    downstream: tuple[int, str]
    state: str
    line: tuple[tuple[float, float], ...]  # (lon, lat) vertices
    capacity: int  # vehicles per hour at saturation

    @property
    def point(self) -> tuple[float, float]:
        """(lat, lon) of the middle of the arc, as the portal's ``geo_point_2d``."""
        lons, lats = zip(*self.line)
        return round(sum(lats) / len(lats), 10), round(sum(lons) / len(lons), 10)


ARCS = (
    Arc(
        7311,
        "Bd_Voltaire",
        (3518, "Bd_Voltaire-Parmentier"),
        (3521, "Bd_Voltaire-St_Ambroise"),
        "Ouvert",
        ((2.3741803301, 48.8610265514), (2.3755129847, 48.8602713387), (2.3768921145, 48.8594930227)),
        1400,
    ),
    Arc(
        6025,
        "Quai_de_la_Rapee",
        (2764, "Quai_Rapee-Pont_Austerlitz"),
        (2770, "Quai_Rapee-Bercy"),
        "Invalide",
        ((2.3662481934, 48.8443615209), (2.3690254071, 48.8421862553)),
        2600,
    ),
)


def _flow_share(local: datetime) -> float:
    """Share of the arc's capacity used at that local hour: night trough, two rush hours."""
    h = local.hour
    base = 0.12 if h < 6 else 0.55 if h < 7 else 0.85 if h < 10 else 0.6 if h < 16 else 0.9 if h < 20 else 0.35
    return base * (0.8 if local.weekday() >= 5 else 1.0)


def _traffic_state(occupancy: float) -> str:
    return "Fluide" if occupancy < 15 else "Pré-saturé" if occupancy < 30 else "Saturé"


def generated_rows(seed: int = 2023) -> list[dict]:
    """The CSV_ROWS hourly records (portal field names, Python values; missing ones ``None``),
    in the shuffled order exports come in. Distinct (arc, hour) pairs, so distinct records."""
    rng = random.Random(seed)
    slots = rng.sample([(arc, h) for arc in ARCS for h in range(HOURS)], CSV_ROWS)
    rows = []
    for i, (arc, h) in enumerate(slots):
        utc = FIRST_HOUR + timedelta(hours=h)
        down = i % 37 == 11  # the loop sent nothing that hour
        share = _flow_share(utc.astimezone(PARIS)) * rng.uniform(0.85, 1.1)
        flow = None if down else float(round(arc.capacity * share))
        occupancy = None if down else round(max(0.4, 42 * share**1.6 * rng.uniform(0.9, 1.1)), 5)
        rows.append(
            {
                "iu_ac": str(arc.ident),
                "libelle": arc.label,
                "t_1h": utc,
                "q": flow,
                "k": occupancy,
                "etat_trafic": "Inconnu" if down else _traffic_state(occupancy),
                "iu_nd_amont": str(arc.upstream[0]),
                "libelle_nd_amont": arc.upstream[1],
                "iu_nd_aval": str(arc.downstream[0]),
                "libelle_nd_aval": arc.downstream[1],
                "etat_barre": arc.state,
                "date_debut": "2005-01-01",
                "date_fin": "2019-06-01",
                "geo_point_2d": arc.point,
                "geo_shape": {"type": "LineString", "coordinates": [list(p) for p in arc.line]},
            }
        )
    return rows


def _csv_cell(field: str, value) -> str:
    if value is None:
        return ""
    if field == "t_1h":
        return value.astimezone(PARIS).isoformat()
    if field == "geo_point_2d":
        return f"{value[0]},{value[1]}"
    if field == "geo_shape":
        return json.dumps(value)
    return str(value)


def write_csv(path: Path, rows: list[dict]) -> Path:
    """The portal's CSV export: ``;``, UTF-8 without BOM, ``\\n`` line ends, quotes only where a
    cell needs them (the GeoJSON, whose quotes are doubled)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=";", lineterminator="\n")
        writer.writerow(CSV_HEADER)
        writer.writerows([_csv_cell(k, row[k]) for k in FIELDS] for row in rows)
    return path


def _json_fields(row: dict) -> dict:
    """Field values as the JSON APIs give them: UTC timestamps, numbers, objects."""
    return {k: v.isoformat() if k == "t_1h" else v for k, v in row.items()}


def _v2(row: dict) -> dict:
    out = _json_fields(row)
    lat, lon = row["geo_point_2d"]
    out["geo_point_2d"] = {"lon": lon, "lat": lat}
    out["geo_shape"] = {"type": "Feature", "geometry": row["geo_shape"], "properties": {}}
    return out


def _v1(row: dict) -> dict:
    fields = {k: list(v) if k == "geo_point_2d" else v for k, v in _json_fields(row).items() if v is not None}
    lat, lon = row["geo_point_2d"]
    return {
        "datasetid": DATASET,
        "recordid": hashlib.sha1(json.dumps(fields, sort_keys=True).encode()).hexdigest(),
        "fields": fields,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "record_timestamp": RECORD_TIMESTAMP,
    }


def _dump(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def write_json_exports(folder: Path, rows: list[dict]) -> dict[str, int]:
    """The three JSON layouts of the first rows; returns file name → number of records."""
    folder.mkdir(parents=True, exist_ok=True)
    head = rows[:V1_RECORDS]
    params = {"dataset": DATASET, "rows": V1_RECORDS, "format": "json", "timezone": "UTC"}
    v1 = {"nhits": len(rows), "parameters": params, "records": [_v1(r) for r in head]}
    files = {
        f"{DATASET}_api_v1.json": (v1, V1_RECORDS),
        f"{DATASET}_exports_v2.1.json": ([_v2(r) for r in head], V1_RECORDS),
        f"{DATASET}_records_v2.1.json": (
            {"total_count": len(rows), "results": [_v2(r) for r in head[:V2_PAGE]]},
            V2_PAGE,
        ),
    }
    for name, (doc, _) in files.items():
        _dump(folder / name, doc)
    return {name: n for name, (_, n) in files.items()}


@dataclass(frozen=True)
class FrenchExports:
    csv: Path  # .../paris_comptages_routiers/comptages-routiers-permanents.csv
    json_folder: Path  # .../opendatasoft_records/
    json_counts: dict[str, int]  # file name → records in it
    rows: list[dict]

    @property
    def files(self) -> dict[str, Path]:
        """Every generated data file by a stable name (folder/file), for parametrized tests."""
        paths = [self.csv, *(self.json_folder / n for n in self.json_counts)]
        return {f"{p.parent.name}/{p.name}": p for p in paths}


SAMPLE_NAMES = (
    f"paris_comptages_routiers/{DATASET}.csv",
    f"opendatasoft_records/{DATASET}_api_v1.json",
    f"opendatasoft_records/{DATASET}_exports_v2.1.json",
    f"opendatasoft_records/{DATASET}_records_v2.1.json",
)


def write_french_exports(root: Path) -> FrenchExports:
    rows = generated_rows()
    csv_path = write_csv(root / "paris_comptages_routiers" / f"{DATASET}.csv", rows)
    counts = write_json_exports(root / "opendatasoft_records", rows)
    return FrenchExports(csv_path, root / "opendatasoft_records", counts, rows)
