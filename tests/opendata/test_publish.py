"""Publication gates, streaming exports, versions and withdrawals, on real lakes (local and S3)."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pyarrow.parquet as pq
import pytest

from governance.decisions import DecisionStore
from lakehouse.audit import AuditLog
from opendata.gate import NO_QUALITY_RUN
from opendata.publish import publish
from tests.opendata.conftest import (
    air_table,
    approve,
    classify,
    dbt_manifest,
    districts_table,
    opendata_meta,
    put_mart,
    quality,
    ready,
    reports_table,
)

AIR = "od_air_hourly"
DISTRICTS = "od_reports_by_district"


def _manifest(**extra):
    models = {
        AIR: (
            opendata_meta("Qualité de l'air horaire"),
            {"station_id": "Identifiant de la station", "no2_ugm3": "Dioxyde d'azote (µg/m³)"},
        ),
        DISTRICTS: (
            opendata_meta("Signalements par quartier", themes=("SOCI", "REGI"), licence="odbl", frequency="daily"),
            {},
        ),
    }
    models.update(extra)
    return dbt_manifest(models)


def _events(lh, dataset):
    return [
        r["payload"]
        for r in AuditLog(lh).records()
        if r["event_type"] == "export" and r["payload"]["dataset"] == dataset
    ]


@pytest.mark.usefixtures("portal_env")
def test_public_dataset_is_published_in_every_format_with_checksums(lakehouse):
    air = air_table()
    ready(lakehouse, AIR, air)
    ready(lakehouse, DISTRICTS, districts_table())

    report = publish(lakehouse, manifest=_manifest())

    assert set(report.published) == {AIR, DISTRICTS} and not report.refused
    doc = lakehouse.lake.read_json(f"opendata/{AIR}/latest/manifest.json")
    assert doc["version"] == report.published[AIR] and doc["rows"] == air.num_rows
    assert {f["format"] for f in doc["files"]} == {"csv", "parquet", "json", "geojson"}
    for f in doc["files"]:
        latest = lakehouse.storage.read_bytes(f["latest_key"])
        assert latest == lakehouse.storage.read_bytes(f["key"])  # versioned copy == stable copy
        assert len(latest) == f["bytes"] and hashlib.sha256(latest).hexdigest() == f["sha256"]
    body = {f["format"]: lakehouse.storage.read_bytes(f["latest_key"]) for f in doc["files"]}
    rows = list(csv.DictReader(io.StringIO(body["csv"].decode("utf-8"))))
    assert len(rows) == air.num_rows and rows[0]["observed_at"] == "2026-03-01T00:00:00Z"
    assert pq.read_table(io.BytesIO(body["parquet"])).num_rows == air.num_rows
    assert len(json.loads(body["json"])) == air.num_rows
    features = json.loads(body["geojson"])["features"]
    assert len(features) == air.num_rows
    assert features[0]["geometry"] == {"type": "Point", "coordinates": [2.875, 50.659]}
    assert "lat" not in features[0]["properties"] and features[0]["properties"]["station_id"] == "ST01"
    # Temporal coverage computed from the data; column descriptions come from dbt.
    assert doc["temporal"]["start"].startswith("2026-03-01T00:00") and doc["temporal"]["end"].startswith(
        "2026-03-03T23:00"
    )
    assert {c["name"]: c["description"] for c in doc["columns"]}["no2_ugm3"] == "Dioxyde d'azote (µg/m³)"
    # WKT polygons give GeoJSON polygons.
    poly = json.loads(lakehouse.storage.read_bytes(f"opendata/{DISTRICTS}/latest/{DISTRICTS}.geojson"))["features"][0]
    assert poly["geometry"]["type"] == "Polygon" and poly["properties"]["reports"] == 12
    for key in (
        "opendata/catalog.jsonld",
        "opendata/catalog.ttl",
        "opendata/index.html",
        f"opendata/datasets/{AIR}.html",
    ):
        assert lakehouse.storage.exists(key), key
    assert [e["decision"] for e in _events(lakehouse, AIR)] == ["published"]


@pytest.mark.usefixtures("portal_env")
def test_refusals_name_every_reason_and_are_audited(local_lakehouse):
    lh = local_lakehouse
    lh.storage.check()
    reports = reports_table()
    put_mart(lh, "od_reports", reports)  # personal data
    classify(lh, "od_reports", reports, {"reporter_email": ["PII.Sensitive", "PersonalData.Email"]})
    approve(lh, "od_reports")
    quality(lh, "od_reports")
    air = air_table(24)
    ready(lh, "od_air_bad", air)
    quality(lh, "od_air_bad", passed=False)  # a blocking check failed
    put_mart(lh, "od_air_unchecked", air)  # no quality run
    classify(lh, "od_air_unchecked", air)
    approve(lh, "od_air_unchecked")
    put_mart(lh, "od_air_unapproved", air)  # no steward approval
    classify(lh, "od_air_unapproved", air)
    quality(lh, "od_air_unapproved")
    ready(lh, "od_air_badmeta", air)
    manifest = dbt_manifest(
        {
            "od_reports": (opendata_meta("Signalements"), {}),
            "od_air_bad": (opendata_meta("Air (contrôle en échec)"), {}),
            "od_air_unchecked": (opendata_meta("Air (non contrôlé)"), {}),
            "od_air_unapproved": (opendata_meta("Air (non approuvé)"), {}),
            "od_air_badmeta": ({**opendata_meta("Air"), "licence": "cc-by-nc"}, {}),
        }
    )

    report = publish(lh, manifest=manifest)

    assert report.published == {} and report.online == []
    r = report.refused
    assert any("reporter_email" in x and "PII.Sensitive" in x for x in r["od_reports"])
    assert any("CONFIDENTIEL" in x for x in r["od_reports"])
    assert r["od_air_bad"] == [
        "contrôle(s) qualité bloquant(s) en échec : plage:no2_ugm3 (12 valeurs hors de [0, 1000])"
    ]
    assert r["od_air_unchecked"] == [NO_QUALITY_RUN]
    assert len(r["od_air_unapproved"]) == 1 and "approbation de publication" in r["od_air_unapproved"][0]
    assert "licence" in r["od_air_badmeta"][0] and "cc-by-nc" in r["od_air_badmeta"][0]
    for name, reasons in r.items():
        assert _events(lh, name) == [{"dataset": name, "decision": "refused", "reasons": reasons}]
        assert lh.storage.list(f"opendata/{name}/") == []
    assert AuditLog(lh).verify().ok
    index = lh.storage.read_bytes("opendata/index.html").decode()
    assert "Signalements" not in index and "Aucun jeu de données publié" in index


@pytest.mark.usefixtures("portal_env")
def test_unchanged_is_not_reexported_and_revoked_is_withdrawn(local_lakehouse):
    lh = local_lakehouse
    lh.storage.check()
    ready(lh, AIR, air_table(24))
    ready(lh, DISTRICTS, districts_table())
    first = publish(lh, manifest=_manifest())
    second = publish(lh, manifest=_manifest())
    assert second.unchanged == first.published and second.published == {}

    DecisionStore(lh).record(AIR, "revoke-publication", "steward@val-de-lys", "erreur de capteur à corriger")
    third = publish(lh, manifest=_manifest())

    assert AIR in third.refused and third.withdrawn == [AIR] and third.online == [DISTRICTS]
    assert lh.storage.list(f"opendata/{AIR}/") == [] and not lh.storage.exists(f"opendata/datasets/{AIR}.html")
    assert f"datasets/{AIR}" not in lh.storage.read_bytes("opendata/catalog.ttl").decode()
    assert [e["decision"] for e in _events(lh, AIR)] == ["published", "unchanged", "refused", "withdrawn"]


def test_a_new_version_keeps_the_previous_one_and_the_latest_path(local_lakehouse, portal_env):
    lh = local_lakehouse
    lh.storage.check()
    ready(lh, AIR, air_table(24))
    v1 = publish(lh, [AIR], manifest=_manifest()).published[AIR]
    put_mart(lh, AIR, air_table(48))
    v2 = publish(lh, [AIR], manifest=_manifest()).published[AIR]
    assert v1 < v2
    assert lh.lake.read_json(f"opendata/{AIR}/{v1}/manifest.json")["rows"] == 72
    assert lh.lake.read_json(f"opendata/{AIR}/latest/manifest.json")["rows"] == 144
