"""Expectation suites as code, for every raw dataset and every mart.

Raw suites are derived from the canonical :class:`~ingestion.spec.DatasetSpec` (schema,
required columns, bounds, allowed values) plus referential checks against the territory's
seeds; mart suites list their key, ranges and references below. Severity: Great
Expectations' ``critical`` is a *blocking* check (stops downstream assets), ``warning``
is recorded only.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import great_expectations.expectations as gxe
import yaml

from ingestion.datasets import CANONICAL
from ingestion.spec import DatasetSpec

SEEDS_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"
# Business constants (ATMO classes, limit values…): the dbt project's vars, defined once there.
DBT_PROJECT_FILE = SEEDS_DIR.parent / "dbt_project.yml"
CRITICAL, WARNING = "critical", "warning"
FRESHNESS = timedelta(days=2)  # a raw feed with no new batch for longer is stale
ROW_DROP_TOLERANCE = 0.5  # fewer than half the rows of the previous check: warn

# (dataset, column) -> (seed, seed column, severity): values must exist in the referential.
RAW_REFERENCES = {
    ("iot.air_quality", "station_id"): ("air_stations", "station_id", CRITICAL),
    ("iot.traffic_flow", "segment_id"): ("road_segments", "segment_id", CRITICAL),
    ("iot.water_flow", "meter_id"): ("water_meters", "meter_id", CRITICAL),
    ("iot.water_flow", "sector_id"): ("water_sectors", "sector_id", CRITICAL),
    ("iot.streetlight", "lamp_id"): ("lamps", "lamp_id", CRITICAL),
    ("iot.streetlight", "circuit_id"): ("lighting_circuits", "circuit_id", CRITICAL),
    ("iot.building_energy", "building_id"): ("buildings", "building_id", CRITICAL),
    ("weather.observations", "station_id"): ("weather_stations", "station_id", CRITICAL),
    ("citizen.reports", "district_id"): ("districts", "district_id", WARNING),
    ("citizen.reports", "category"): ("report_categories", "category", WARNING),
    ("cctv.events", "camera_id"): ("cameras", "camera_id", WARNING),
}

RAW_DATASETS = (
    "iot.air_quality",
    "iot.traffic_flow",
    "iot.water_flow",
    "iot.streetlight",
    "iot.building_energy",
    "weather.observations",
    "citizen.reports",
    "social.posts",
    "cctv.events",
)


@dataclass(frozen=True)
class Suite:
    dataset: str  # "iot.air_quality" or a mart name
    kind: str  # "raw" or "mart"
    expectations: tuple = field(default_factory=tuple)
    key: tuple[str, ...] = ()
    # on the dataset's file, not its rows (a mart without rows was still written): checked on
    # one row of the file's facts (BUILT_AT)
    file_expectations: tuple = field(default_factory=tuple)

    @property
    def columns(self) -> list[str]:
        """Columns the expectations read (loaded from the lake, nothing else)."""
        cols: list[str] = []
        for e in self.expectations:
            for c in [getattr(e, "column", None), *(getattr(e, "column_list", None) or [])]:
                if c and c not in cols:
                    cols.append(c)
        return cols


@cache
def seed_values(seed: str, column: str) -> tuple[str, ...]:
    path = SEEDS_DIR / f"{seed}.csv"
    if not path.is_file():
        return ()
    with open(path, newline="", encoding="utf-8") as f:
        return tuple(sorted({row[column] for row in csv.DictReader(f) if row.get(column)}))


@cache
def dbt_var(name: str):
    """A business constant of the dbt project (``vars`` of dbt_project.yml), None if absent."""
    if not DBT_PROJECT_FILE.is_file():
        return None
    with open(DBT_PROJECT_FILE, encoding="utf-8") as f:
        return ((yaml.safe_load(f) or {}).get("vars") or {}).get(name)


def atmo_index_max() -> int | None:
    """Highest ATMO index: the number of classes of the arrêté du 10 juillet 2020 (var atmo_classes)."""
    classes = dbt_var("atmo_classes")
    return len(classes) if classes else None


def _ref(column: str, seed: str, seed_col: str, severity: str):
    values = seed_values(seed, seed_col)
    if not values:
        return None
    return gxe.ExpectColumnValuesToBeInSet(
        column=column,
        value_set=list(values),
        severity=severity,
        meta={"label": f"{column} existe dans le référentiel {seed}"},
    )


def _row_count(previous_rows: int | None):
    yield gxe.ExpectTableRowCountToBeBetween(min_value=1, severity=CRITICAL, meta={"label": "jeu de données non vide"})
    if previous_rows:
        yield gxe.ExpectTableRowCountToBeBetween(
            min_value=int(previous_rows * ROW_DROP_TOLERANCE),
            severity=WARNING,
            meta={"label": f"pas de chute du nombre de lignes (précédent : {previous_rows})"},
        )


def raw_suite(spec: DatasetSpec, previous_rows: int | None = None, now: datetime | None = None) -> Suite:
    now = now or datetime.now(UTC)
    exps: list = []
    for col in spec.columns:
        if col.required:
            exps.append(
                gxe.ExpectColumnToExist(
                    column=col.name, severity=CRITICAL, meta={"label": f"colonne {col.name} présente"}
                )
            )
            exps.append(
                gxe.ExpectColumnValuesToNotBeNull(
                    column=col.name, severity=CRITICAL, meta={"label": f"{col.name} renseigné"}
                )
            )
        if col.min is not None or col.max is not None:
            exps.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=col.name,
                    min_value=col.min,
                    max_value=col.max,
                    severity=CRITICAL,
                    meta={"label": f"{col.name} dans [{col.min}, {col.max}]" + (f" {col.unit}" if col.unit else "")},
                )
            )
        if col.allowed:
            exps.append(
                gxe.ExpectColumnValuesToBeInSet(
                    column=col.name,
                    value_set=list(col.allowed),
                    severity=CRITICAL,
                    meta={"label": f"{col.name} dans la liste autorisée"},
                )
            )
        ref = RAW_REFERENCES.get((spec.qualified_name, col.name))
        if ref:
            e = _ref(col.name, *ref)
            if e is not None:
                exps.append(e)
    exps.append(
        gxe.ExpectColumnMaxToBeBetween(
            column="_ingested_at",
            min_value=(now - FRESHNESS).isoformat(),
            severity=WARNING,
            meta={"label": f"dernier lot reçu il y a moins de {FRESHNESS.days} jours"},
        )
    )
    exps.extend(_row_count(previous_rows))
    return Suite(spec.qualified_name, "raw", tuple(exps), key=spec.key)


# Marts: key columns (not null, unique together) and value ranges; district references.
MARTS: dict[str, dict] = {
    "mart_air_quality_hourly": {"key": ("station_id", "hour_start", "pollutant"), "ranges": {"value_ugm3": (0, 10000)}},
    "mart_air_quality_atmo_daily": {
        "key": ("station_id", "local_date"),
        "ranges": {"atmo_index": (1, atmo_index_max())},
    },
    "mart_air_quality_atmo_district_daily": {
        "key": ("district_id", "local_date"),
        "ranges": {"atmo_index": (1, atmo_index_max())},
    },
    "mart_air_quality_exceedances": {
        "key": ("station_id", "pollutant", "averaging_period", "period_start"),
        "ranges": {"excess_ugm3": (0, None)},
        "may_be_empty": True,
    },
    "mart_traffic_hourly": {
        "key": ("segment_id", "hour_start"),
        "ranges": {"occupancy_pct": (0, 100), "flow_veh_h": (0, None)},
    },
    "mart_traffic_daily": {
        "key": ("segment_id", "local_date"),
        "ranges": {"mean_flow_veh_h": (0, None), "congested_hours": (0, 25), "hours_measured": (1, 25)},
    },
    "mart_water_night_flow": {
        "key": ("sector_id", "night_date"),
        "ranges": {"min_night_flow_m3h": (0, None), "night_leakage_m3h": (0, None)},
    },
    "mart_water_leak_candidates": {
        "key": ("sector_id",),
        "ranges": {"excess_volume_m3": (0, None), "leak_rank": (1, None)},
        "may_be_empty": True,
    },
    "mart_lighting_circuits_daily": {
        "key": ("circuit_id", "night_date"),
        "ranges": {"energy_kwh": (0, None), "lamps_in_fault": (0, None)},
    },
    "mart_lighting_faults": {
        "key": ("lamp_id", "night_date"),
        "ranges": {"fault_readings": (1, None)},
        "may_be_empty": True,
    },
    "mart_building_energy_daily": {
        "key": ("building_id", "local_date"),
        "ranges": {"energy_kwh": (0, None), "dju": (0, None)},
    },
    "mart_citizen_reports": {"key": ("report_id",), "ranges": {"resolution_hours": (0, None)}},
    "mart_citizen_reports_daily": {
        "key": ("district_id", "category", "local_date"),
        "ranges": {"reports_created": (1, None)},
    },
    "mart_incident_timeline": {"key": ("event_id",), "ranges": {}, "may_be_empty": True},
}


BUILT_AT = "_built_at"  # a fact of the mart's file given by the runner: when it was written


def mart_suite(
    name: str, previous_rows: int | None = None, now: datetime | None = None, *, empty_allowed: bool = False
) -> Suite:
    """The mart's checks; ``empty_allowed``: no row is no failure (a mart of a raw dataset the
    territory has not delivered yet, see ``orchestration/undelivered.py``)."""
    now = now or datetime.now(UTC)
    spec = MARTS[name]
    built = gxe.ExpectColumnMaxToBeBetween(
        column=BUILT_AT,
        min_value=(now - FRESHNESS).isoformat(),
        severity=WARNING,
        meta={"label": f"mart reconstruit il y a moins de {FRESHNESS.days} jours"},
    )
    exps: list = []
    for col in spec["key"]:
        exps.append(gxe.ExpectColumnToExist(column=col, severity=CRITICAL, meta={"label": f"colonne {col} présente"}))
        exps.append(
            gxe.ExpectColumnValuesToNotBeNull(column=col, severity=CRITICAL, meta={"label": f"{col} renseigné"})
        )
    if len(spec["key"]) == 1:
        exps.append(
            gxe.ExpectColumnValuesToBeUnique(
                column=spec["key"][0], severity=CRITICAL, meta={"label": f"{spec['key'][0]} unique"}
            )
        )
    else:
        exps.append(
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=list(spec["key"]),
                severity=CRITICAL,
                meta={"label": "clé unique (" + ", ".join(spec["key"]) + ")"},
            )
        )
    for col, (lo, hi) in spec["ranges"].items():
        exps.append(
            gxe.ExpectColumnValuesToBeBetween(
                column=col,
                min_value=lo,
                max_value=hi,
                severity=CRITICAL,
                meta={"label": f"{col} dans [{lo}, {hi if hi is not None else '∞'}]"},
            )
        )
    districts = seed_values("districts", "district_id")
    if districts and name != "mart_citizen_reports_daily":  # that mart files unknown districts as « inconnu »
        exps.append(
            gxe.ExpectColumnValuesToBeInSet(
                column="district_id",
                value_set=list(districts),
                severity=WARNING,
                meta={"label": "district_id existe dans le référentiel des quartiers"},
            )
        )
    if spec.get("may_be_empty") or empty_allowed:
        if previous_rows:
            exps.append(
                gxe.ExpectTableRowCountToBeBetween(
                    min_value=int(previous_rows * ROW_DROP_TOLERANCE),
                    severity=WARNING,
                    meta={"label": f"pas de chute du nombre de lignes (précédent : {previous_rows})"},
                )
            )
    else:
        exps.extend(_row_count(previous_rows))
    return Suite(name, "mart", tuple(exps), key=spec["key"], file_expectations=(built,))


def suite_for(dataset: str, previous_rows: int | None = None, *, empty_allowed: bool = False) -> Suite:
    if dataset in CANONICAL:
        return raw_suite(CANONICAL[dataset], previous_rows)
    return mart_suite(dataset, previous_rows, empty_allowed=empty_allowed)
