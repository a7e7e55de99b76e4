"""Builders of the lake state that open-data publication reads.

Marts are real Parquet objects in ``curated/``; governance state is written through the
governance package itself (scanner proposal + steward decisions); quality results through
``quality.results``; metadata is a dbt manifest shaped like dbt's own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from governance import proposals
from governance.decisions import DecisionStore
from quality.results import BLOCKING, CheckOutcome, QualityResult, save

START = datetime(2026, 3, 1, tzinfo=UTC)
STATIONS = [("ST01", 50.659, 2.875), ("ST02", 50.662, 2.903), ("ST03", 50.671, 2.931)]


def air_table(hours: int = 72) -> pa.Table:
    rows = [
        (sid, START + timedelta(hours=h), 20 + (h % 24) + i * 3.5, lat, lon)
        for h in range(hours)
        for i, (sid, lat, lon) in enumerate(STATIONS)
    ]
    sid, ts, val, lat, lon = zip(*rows)
    return pa.table(
        {
            "station_id": pa.array(sid),
            "observed_at": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "no2_ugm3": pa.array(val, pa.float64()),
            "lat": pa.array(lat),
            "lon": pa.array(lon),
        }
    )


def districts_table() -> pa.Table:
    polys = [f"POLYGON(({x} 50.65, {x + 0.03} 50.65, {x + 0.03} 50.67, {x} 50.67, {x} 50.65))" for x in (2.86, 2.89)]
    return pa.table(
        {
            "district_id": ["D01", "D02"],
            "day": pa.array([START.date(), START.date()], pa.date32()),
            "reports": [12, 7],
            "polygon_wkt": polys,
        }
    )


def reports_table() -> pa.Table:
    return pa.table(
        {
            "report_id": ["R1", "R2"],
            "created_at": pa.array([START, START + timedelta(hours=5)], pa.timestamp("us", tz="UTC")),
            "category": ["voirie", "eclairage"],
            "reporter_email": ["jeanne.martin@example.fr", "paul.durand@example.fr"],
        }
    )


def opendata_meta(title: str, themes=("ENVI",), licence="etalab-2.0", publish=True, frequency="hourly") -> dict:
    return {
        "publish": publish,
        "title_fr": title,
        "description_fr": f"{title} — jeu de données de démonstration de Val-de-Lys.",
        "licence": licence,
        "themes": list(themes),
        "keywords": ["val-de-lys", "démonstration"],
        "frequency": frequency,
        "spatial": "Val-de-Lys",
        "producer": "Commune de Val-de-Lys",
        "contact_point": "opendata@val-de-lys.example.fr",
    }


def dbt_manifest(models: dict[str, tuple[dict | None, dict[str, str]]], project: str = "hyperviseur") -> dict:
    """``models``: name -> (meta.opendata or None, {column: description})."""
    nodes = {}
    for name, (od, cols) in models.items():
        meta = {"opendata": od} if od is not None else {}
        nodes[f"model.{project}.{name}"] = {
            "name": name,
            "resource_type": "model",
            "meta": meta,
            "config": {"meta": meta},
            "columns": {c: {"name": c, "description": d, "meta": {}} for c, d in cols.items()},
        }
    return {"metadata": {"dbt_version": "1.11.0"}, "nodes": nodes, "sources": {}, "parent_map": {}}


def put_mart(lh, name: str, table: pa.Table) -> None:
    lh.lake.write_table(f"curated/{name}/data.parquet", table)


def classify(lh, name: str, table: pa.Table, pii: dict[str, list[str]] | None = None) -> None:
    """A scanner proposal for every column (tags only on ``pii`` columns) and the steward's acceptance."""
    pii = pii or {}
    proposals.save(
        lh,
        {
            "dataset": name,
            "scanned_at": datetime.now(UTC).isoformat(),
            "columns": {
                f.name: {"type": str(f.type), "kind": "text", "tags": pii.get(f.name, []), "evidence": {}}
                for f in table.schema
            },
        },
    )
    store = DecisionStore(lh)
    for col, tags in pii.items():
        store.record(name, "accept", "steward@val-de-lys", "proposition vérifiée", column=col, tags=tags)


def approve(lh, name: str) -> None:
    DecisionStore(lh).record(name, "approve-publication", "steward@val-de-lys", "agrégats sans donnée personnelle")


def quality(lh, name: str, passed: bool = True, rows: int | None = None) -> None:
    outcomes = [CheckOutcome("valeurs_non_nulles:station_id", BLOCKING, True, "aucune valeur nulle")]
    if not passed:
        outcomes.append(CheckOutcome("plage:no2_ugm3", BLOCKING, False, "12 valeurs hors de [0, 1000]"))
    save(lh, QualityResult.from_outcomes(name, outcomes, rows=rows))


def ready(lh, name: str, table: pa.Table) -> None:
    """A mart that passes every gate."""
    put_mart(lh, name, table)
    classify(lh, name, table)
    approve(lh, name)
    quality(lh, name, rows=table.num_rows)


@pytest.fixture
def portal_env(monkeypatch):
    monkeypatch.setenv("HYPERVISEUR_OPENDATA_BASE_URL", "http://127.0.0.1:8080/")
