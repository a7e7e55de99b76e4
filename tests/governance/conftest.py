"""Fixtures: a small curated zone with the real mart column names, and a dbt manifest."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

FIRST = [
    "Marie",
    "Jean",
    "Sophie",
    "Paul",
    "Camille",
    "Nicolas",
    "Isabelle",
    "Thomas",
    "Nathalie",
    "Julien",
    "Aurélie",
    "Karim",
    "Fatima",
    "Léa",
    "Hugo",
    "Chantal",
    "Bernard",
    "Yasmine",
]
LAST = [
    "Dubois",
    "Martin",
    "Lefèvre",
    "Bernard",
    "Petit",
    "Moreau",
    "Laurent",
    "Garcia",
    "Roux",
    "Fontaine",
    "Benali",
    "Nguyen",
    "Mercier",
    "Girard",
    "Lambert",
    "Faure",
]
STREETS = [
    "rue Victor Hugo",
    "avenue Jean Jaurès",
    "place de la Mairie",
    "rue des Lilas",
    "boulevard Pasteur",
    "allée des Tilleuls",
]
TEXTS = [
    "Lampadaire en panne devant le {n} {s}, la rue est très sombre le soir.",
    "Bonjour, je suis {p}, un dépôt sauvage bloque le trottoir depuis lundi. Rappelez-moi au {tel}.",
    "Nid de poule dangereux au niveau du {n} {s}, plusieurs cyclistes ont failli tomber.",
    "Fuite d'eau importante sur la chaussée, l'eau coule depuis ce matin près de l'école.",
    "Voiture ventouse immatriculée {plate} stationnée depuis trois semaines, merci d'intervenir.",
    "Mme {p} signale des tags sur le mur de la médiathèque ; contact : {mail}.",
]
PLATES = ["AB-123-CD", "FG-456-HJ", "KL-789-MN"]


def citizen_reports(n: int = 240, seed: int = 7) -> pa.Table:
    rnd = random.Random(seed)
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    rows = []
    for i in range(n):
        p = f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"
        tel = f"06 {rnd.randint(10, 99)} {rnd.randint(10, 99)} {rnd.randint(10, 99)} {rnd.randint(10, 99)}"
        mail = f"{p.split()[0].lower()}.{p.split()[1].lower()}{i}@exemple.fr".replace("è", "e").replace("é", "e")
        s = rnd.choice(STREETS)
        desc = rnd.choice(TEXTS).format(n=rnd.randint(1, 120), s=s, p=p, tel=tel, mail=mail, plate=rnd.choice(PLATES))
        rows.append(
            {
                "report_id": f"R{i:06d}",
                "channel": rnd.choice(["open311", "app", "telephone"]),
                "created_at": t0 + timedelta(minutes=37 * i),
                "status": rnd.choice(["open", "closed"]),
                "category": rnd.choice(["voirie", "eclairage", "proprete", "eau"]),
                "service": "voirie",
                "description": desc,
                "address": f"{rnd.randint(1, 120)} {s}",
                "district_id": f"D0{rnd.randint(1, 6)}",
                "lat": 50.6 + rnd.random() / 100,
                "lon": 3.0 + rnd.random() / 100,
                "reporter_name": p,
                "reporter_phone": tel,
                "reporter_email": mail,
            }
        )
    return pa.Table.from_pylist(rows)


def air_quality(n: int = 200) -> pa.Table:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    return pa.table(
        {
            "station_id": [f"AQ0{i % 4 + 1}" for i in range(n)],
            "hour": [t0 + timedelta(hours=i // 4) for i in range(n)],
            "pollutant": ["no2"] * n,
            "value_ugm3": [20.0 + i % 30 for i in range(n)],
            "district_id": [f"D0{i % 6 + 1}" for i in range(n)],
            "lat": [50.6] * n,
            "lon": [3.0] * n,
        }
    )


def reports_daily() -> pa.Table:
    return pa.table(
        {
            "day": ["2026-03-01", "2026-03-02"],
            "district_id": ["D01", "D02"],
            "category": ["voirie", "eau"],
            "reports": [3, 5],
        }
    )


def manifest() -> dict:
    def model(name, deps, meta=None):
        return {
            "resource_type": "model",
            "name": name,
            "unique_id": f"model.hv.{name}",
            "depends_on": {"nodes": deps},
            "meta": meta or {},
            "config": {"meta": meta or {}},
            "columns": {},
        }

    nodes = {
        "model.hv.stg_citizen_reports": model("stg_citizen_reports", ["source.hv.citizen.reports"]),
        "model.hv.mart_citizen_reports": model(
            "mart_citizen_reports", ["model.hv.stg_citizen_reports"], {"owner": "relation_usagers"}
        ),
        "model.hv.mart_citizen_reports_daily": model(
            "mart_citizen_reports_daily",
            ["model.hv.mart_citizen_reports"],
            {"classification": {"level": None, "declassified": True}},
        ),
        "model.hv.mart_air_quality_hourly": model("mart_air_quality_hourly", ["source.hv.iot.air_quality"]),
    }
    sources = {
        "source.hv.citizen.reports": {
            "resource_type": "source",
            "source_name": "citizen",
            "name": "reports",
            "meta": {},
            "columns": {},
        },
        "source.hv.iot.air_quality": {
            "resource_type": "source",
            "source_name": "iot",
            "name": "air_quality",
            "meta": {},
            "columns": {},
        },
    }
    parent_map = {uid: n["depends_on"]["nodes"] for uid, n in nodes.items()}
    return {"nodes": nodes, "sources": sources, "parent_map": parent_map}


@pytest.fixture
def gov_env(tmp_path, monkeypatch):
    """Env for a governed local lake: data dir, dbt manifest, masking key."""
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest()))
    monkeypatch.setenv("HYPERVISEUR_DBT_MANIFEST", str(path))
    monkeypatch.setenv("HYPERVISEUR_MASKING_KEY", "cle-de-test-hors-depot")
    return {"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")}


def write_marts(lh, reports_rows: int = 240) -> None:
    lh.lake.write_table("curated/mart_citizen_reports/data.parquet", citizen_reports(reports_rows))
    lh.lake.write_table("curated/mart_citizen_reports_daily/data.parquet", reports_daily())
    lh.lake.write_table("curated/mart_air_quality_hourly/data.parquet", air_quality())


@pytest.fixture
def gov_lake(gov_env):
    from lakehouse.platform import Lakehouse

    lh = Lakehouse.from_env(gov_env)
    write_marts(lh)
    return lh
