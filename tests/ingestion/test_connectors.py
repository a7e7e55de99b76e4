"""Connectors on the real files and standard examples: counts in = raw + quarantine + duplicates."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from ingestion.config import FileDataset, load
from ingestion.sources import available
from ingestion.sources.base import Context
from ingestion.sources.runner import ingest_path
from lakehouse.lake import Zone

FIXTURES = Path(__file__).parent / "fixtures"


def counts(run) -> dict[str, tuple[int, int, int, int]]:
    return {k: (c.rows_in, c.rows_raw, c.rows_quarantined, c.duplicates) for k, c in run.report.datasets.items()}


def rows(lh, zone, source, dataset, where="true", columns="*"):
    """Rows read by DuckDB; personal raw columns are encrypted, so name clear ``columns`` for them."""
    con = duckdb.connect()
    return (
        con.execute(
            f"select {columns} from read_parquet('{lh.lake.dataset_glob(zone, source, dataset)}', union_by_name=true) "
            f"where {where}"
        )
        .to_arrow_table()
        .to_pylist()
    )


def errors(lh, source, dataset):
    return [json.loads(r["_error"]) for r in rows(lh, Zone.QUARANTINE, source, dataset)]


def test_registry_lists_every_connector():
    assert set(available()) == {
        "fiware",
        "sensorthings",
        "open311",
        "dansmarue",
        "fichiers",
        "meteofrance",
        "social",
        "cctv",
        "opendatasoft",
        "datagouv",
        "enedis",
    }
    assert {d.name for d in load()} >= {"traffic_counts", "lighting_supports", "bike_counts", "stations"}


def test_montpellier_every_file(local_lakehouse, fixtures_dir):
    lh = local_lakehouse
    run = ingest_path(lh, "fichiers", fixtures_dir / "data/real/montpellier_opendata_2014")
    assert run.balanced and not run.report.file_errors
    c = counts(run)
    assert c["montpellier.traffic_counts"] == (3314, 3314, 0, 0)
    assert c["montpellier.lighting_supports"] == (29969, 29969, 0, 0)
    assert c["montpellier.parking_meters"] == (823, 823, 0, 0)
    assert c["montpellier.car_parks"] == (22, 22, 0, 0)
    assert c["montpellier.defibrillators"] == (334, 334, 0, 0)  # CSV (multi-line addresses) + GeoJSON
    assert c["montpellier.cameras"] == (282, 282, 0, 0)
    assert c["montpellier.traffic_signals"] == (746, 746, 0, 0)
    assert c["montpellier.fountains"] == (178, 178, 0, 0)
    assert c["montpellier.air_stations"] == (20, 20, 0, 0)
    assert {Path(f.path).name for f in run.files if f.status == "ignoré"} == {"README.txt"}
    # cp1252 + typed dBase header + dd/mm/yy + #N/A
    count = rows(lh, Zone.RAW, "montpellier", "traffic_counts", "objectid = 2220")[0]
    assert count["nom"] == "Voie non dénommée" and str(count["period_start"]) == "2011-01-08"
    assert count["commentair"] is None and count["daily_traffic"] == 47.0
    # Lambert-93 (decimal comma) projected to WGS84, in Montpellier
    for dataset in ("traffic_signals", "lighting_supports", "fountains"):
        pts = rows(lh, Zone.RAW, "montpellier", dataset, "lat is not null")
        assert pts and all(43.5 < p["lat"] < 43.7 and 3.7 < p["lon"] < 4.0 for p in pts), dataset
    # multi-line quoted field kept whole, physical line of the next record correct
    defib = rows(lh, Zone.RAW, "montpellier", "defibrillators", "nom = 'Zoo de Lunaret' and _source like '%.csv'")[0]
    assert "\n" in defib["adresse"] and abs(defib["lat"] - 43.6396) < 1e-3
    meter = rows(lh, Zone.RAW, "montpellier", "parking_meters", "numero = '201'")[0]
    assert str(meter["surveyed_at"]).startswith("2010-05-26 11:45") and meter["source_tz"] == "Europe/Paris"


def test_meteofrance_radome(local_lakehouse, fixtures_dir):
    lh = local_lakehouse
    folder = fixtures_dir / "data/real/meteofrance_molene_radome_2014"
    run = ingest_path(lh, "meteofrance", folder)
    stations = ingest_path(lh, "fichiers", folder / "weather_stations.csv")
    assert run.balanced and stations.balanced
    # trimmed copy: 6 of the 55 stations (see tests/fixtures/README.md), the full stations list
    assert counts(run)["weather.observations"] == (4416, 4416, 0, 0)
    assert counts(stations)["meteofrance.stations"] == (49, 49, 0, 0)
    obs = rows(
        lh,
        Zone.RAW,
        "weather",
        "observations",
        "station_id = '29158001' and observed_at = TIMESTAMPTZ '2014-01-01 15:00:00+00'",
    )[0]
    assert obs["temperature_c"] == pytest.approx(285.75 - 273.15) and obs["pressure_hpa"] == pytest.approx(989.6)
    assert obs["precipitation_mm"] == 0.0 and obs["source_tz"] == "UTC"  # -0.1 = trace of rain
    assert 47 < obs["lat"] < 49 and -6 < obs["lon"] < -2
    empty = rows(lh, Zone.RAW, "weather", "observations", "station_id = '29082001'")[0]
    assert empty["temperature_c"] is None  # mq


def test_paris_reports_and_bike_counts(local_lakehouse, fixtures_dir):
    lh = local_lakehouse
    reports = ingest_path(lh, "dansmarue", fixtures_dir / "data/real/paris_dans_ma_rue")
    bikes = ingest_path(lh, "fichiers", fixtures_dir / "data/real/paris_comptage_velo")
    assert counts(reports)["citizen.reports"] == (1001, 1001, 0, 0)  # trimmed copy: one report in six
    assert counts(bikes)["paris.bike_counts"] == (21, 21, 0, 0)
    r = rows(lh, Zone.RAW, "citizen", "reports", "report_id = 'A2024C016447'", "channel, created_at")[0]
    assert r["channel"] == "dansmarue" and str(r["created_at"]).startswith("2024-03-05 23:00")
    b = rows(lh, Zone.RAW, "paris", "bike_counts")[0]
    assert 48.8 < b["lat"] < 48.9 and b["source_tz"] == "+02:00"


def test_fiware_examples_every_form(local_lakehouse, fixtures_dir):
    lh = local_lakehouse
    root = fixtures_dir / "standards/fiware_smart_data_models"
    models = [
        "dataModel.Environment/AirQualityObserved",
        "dataModel.Transportation/TrafficFlowObserved",
        "dataModel.Streetlighting/Streetlight",
        "dataModel.WaterConsumption/WaterConsumptionObserved",
    ]
    total = {}
    for m in models:
        run = ingest_path(lh, "fiware", root / m / "examples")
        assert run.balanced and not run.report.file_errors, m
        for k, v in counts(run).items():
            total[k] = tuple(a + b for a, b in zip(total.get(k, (0, 0, 0, 0)), v))
    assert total["fiware.entities"][0] == 17 and total["fiware.entities"][2] == 0
    air = rows(lh, Zone.RAW, "iot", "air_quality")
    # uppercase (GeoJSON feature) and lowercase names give the same station and pollutants
    assert {a["pollutant"] for a in air} == {"no", "no2", "nox", "so2", "co"}
    assert {a["station_id"] for a in air} == {"28079004-Pza.deEspanya"}
    # CO 500 with unitCode GP (mg/m³) is 500 000 µg/m³: above the bound, quarantined with the reason
    assert any(e["errors"][0]["field"] == "value" for e in errors(lh, "iot", "air_quality"))
    traffic = rows(lh, Zone.RAW, "iot", "traffic_flow")[0]
    assert (
        traffic["vehicle_count"] == 197 and traffic["occupancy_pct"] == pytest.approx(76) and traffic["period_s"] == 300
    )
    light = rows(lh, Zone.RAW, "iot", "streetlight")[0]
    assert light["status"] == "off" and light["source_tz"] == "+05:30"
    water = rows(lh, Zone.RAW, "iot", "water_meter_readings")
    assert len(water) == 1 and water[0]["volume_m3"] == 191051  # only the NGSI-LD form has observedAt
    assert all("horodatage" in e["errors"][0]["message"] for e in errors(lh, "iot", "water_meter_readings"))


def test_sensorthings_payloads(local_lakehouse, fixtures_dir):
    lh = local_lakehouse
    root = fixtures_dir / "standards/ogc_sensorthings/ets-sta10/src/main/resources/JSON_entities"
    run = ingest_path(lh, "sensorthings", root / "observations")
    ds = ingest_path(lh, "sensorthings", root / "datastreams")
    assert run.balanced and ds.balanced
    assert counts(run)["sensorthings.observations"] == (7, 6, 1, 0)  # observationWithoutPTime.json quarantined
    templates = [f for f in run.files if f.status == "rejeté"]
    assert len(templates) == 15 and all("marqueur non substitué" in f.message for f in templates)
    assert counts(ds)["sensorthings.datastreams"][1] >= 1
    mapped = ingest_path(lh, "sensorthings", FIXTURES / "datastream_no2.json")
    assert counts(mapped)["iot.air_quality"] == (2, 2, 0, 0)
    assert {r["station_id"] for r in rows(lh, Zone.RAW, "iot", "air_quality")} == {"ST-CENTRE"}


def test_open311_examples_and_chicago(local_lakehouse, fixtures_dir):
    lh = local_lakehouse
    root = fixtures_dir / "standards/open311_georeport_v2"
    chicago = ingest_path(lh, "open311", root / "chicago_real_requests")
    assert counts(chicago)["citizen.reports"] == (50, 50, 0, 0)
    first = rows(
        lh, Zone.RAW, "citizen", "reports", "report_id = '14-00684314'", "status, source_tz, district_id, closed_at"
    )[0]
    assert first["status"] == "closed" and first["source_tz"] == "-05:00" and first["district_id"] == "21"
    assert str(first["closed_at"]).startswith("2015-10-10 15:15:40")
    spec = ingest_path(lh, "open311", root / "spec_examples_extracted")
    assert spec.balanced
    rejected = {Path(f.path).name: f.message for f in spec.files if f.status == "rejeté"}
    for name in (
        "02_GET_Service_List_Example_Response.json",
        "11_GET_Service_Requests_Example_Response.json",
        "13_GET_Service_Request_Example_Response.json",
    ):
        assert rejected[name].startswith(name) and "zéro initial" in rejected[name]
    stored = rows(lh, Zone.QUARANTINE, "ingestion", "rejected_files")
    assert len(stored) == len(rejected) and all(r["content"] and r["reason"] for r in stored)
    assert counts(spec)["citizen.reports"] == (7, 3, 4, 0)  # XML requests in; POST responses lack status/date


def test_xml_external_entity_is_refused(local_lakehouse):
    run = ingest_path(local_lakehouse, "open311", FIXTURES / "xxe_open311.xml")
    assert run.files[0].status == "rejeté" and "XML refusé" in run.files[0].message
    assert "root:" not in json.dumps(rows(local_lakehouse, Zone.QUARANTINE, "ingestion", "rejected_files")[0]["reason"])


def test_business_quirks_declared_and_detected(local_lakehouse, tmp_path):
    lh = local_lakehouse
    (tmp_path / "eau.yaml").write_text(
        "datasets:\n  releves:\n    source: eau\n    name: releves\n    owner_service: eau\n    folder: compteurs_eau\n"
        "    key: [compteur]\n    read: {header_rows: 2, date_format: '%d/%m/%y %H:%M'}\n"
        "    columns:\n      debit_m3_h: {type: float64, rename: flow_m3h, unit: m3/h}\n      releve: {type: timestamp}\n",
        encoding="utf-8",
    )
    entry = load(tmp_path)[0]
    assert isinstance(entry, FileDataset)
    run = ingest_path(lh, "fichiers", FIXTURES / "compteurs_eau", Context(options={"dataset_config": entry}))
    assert counts(run)["eau.releves"] == (4, 2, 2, 0)
    good = {r["compteur"]: r for r in rows(lh, Zone.RAW, "eau", "releves")}
    assert good["C-001"]["flow_m3h"] == 12.5 and good["C-002"]["flow_m3h"] is None  # #N/A
    assert str(good["C-001"]["releve"]).startswith("2024-02-01 07:00") and 43.5 < good["C-001"]["lat"] < 43.7
    errs = {e["row"]: e for e in errors(lh, "eau", "releves")}
    assert errs[6]["errors"][0]["field"] == "flow_m3h" and errs[6]["errors"][0]["value"] == "beaucoup"
    assert "2 champ(s) au lieu de 5" in errs[7]["errors"][0]["message"] and errs[7]["row_unit"].startswith(
        "ligne physique"
    )
    auto = ingest_path(lh, "fichiers", FIXTURES / "cp1252_semicolon.csv")  # no configuration at all
    assert counts(auto)["fichiers.fixtures"] == (2, 2, 0, 0)
    parc = rows(lh, Zone.RAW, "fichiers", "fixtures", "quartier = 'Croix d''Argent'")[0]
    assert parc["nom"] == "Parc\r\nMontcalm" and parc["surface"] is None


def test_excel_export(local_lakehouse, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["Rapport mensuel des interventions", None, None])
    ws.append(["Numéro", "Date", "Coût"])
    ws.append(["I-1", "03/02/24", "1 250,50"])
    ws.append(["I-2", "04/02/24", 99.5])
    wb.save(tmp_path / "interventions.xlsx")
    run = ingest_path(local_lakehouse, "fichiers", tmp_path / "interventions.xlsx", Context(options={"decimal": ","}))
    name = next(iter(run.report.datasets))
    assert counts(run)[name] == (2, 2, 0, 0)
    got = rows(local_lakehouse, Zone.RAW, *name.split("."))
    # title line skipped; no configuration: the types are detected (French date, decimal comma, thousands space)
    assert [r["numero"] for r in got] == ["I-1", "I-2"]
    assert [r["cout"] for r in got] == [1250.5, 99.5]
    assert [str(r["date"]) for r in got] == ["2024-02-03", "2024-02-04"]


def test_social_and_cctv(local_lakehouse):
    lh = local_lakehouse
    social = ingest_path(lh, "social", FIXTURES / "social.jsonl")
    assert counts(social)["social.posts"] == (4, 2, 2, 0)
    errs = {e["row"]: e for e in errors(lh, "social", "posts")}
    assert "JSON invalide" in errs[3]["errors"][0]["message"] and errs[4]["errors"][0]["field"] == "posted_at"
    post = rows(lh, Zone.RAW, "social", "posts", "post_id = 'p1'")[0]
    assert str(post["posted_at"]).startswith("2026-03-10 07:00") and post["lat"] == 48.85
    cctv = ingest_path(lh, "cctv", FIXTURES / "cctv.json")
    assert counts(cctv)["cctv.events"] == (2, 1, 1, 0)  # confidence 1.7 > 1
    dump = json.dumps(rows(lh, Zone.RAW, "cctv", "events") + rows(lh, Zone.QUARANTINE, "cctv", "events"), default=str)
    assert "snapshot" not in dump and "AAAA" not in dump


def test_reingest_changes_nothing(lakehouse, fixtures_dir):
    lh = lakehouse
    path = fixtures_dir / "standards/open311_georeport_v2/chicago_real_requests"
    first = ingest_path(lh, "open311", path)
    keys = sorted(o.key for o in lh.storage.list("raw/"))
    again = ingest_path(lh, "open311", path)
    assert counts(first)["citizen.reports"] == (50, 50, 0, 0)
    assert counts(again)["citizen.reports"] == (50, 0, 0, 50)  # all already present
    assert sorted(o.key for o in lh.storage.list("raw/")) == keys
    con = lh.duckdb()
    assert (
        con.execute(
            f"select count(*) from read_parquet('{lh.lake.dataset_glob(Zone.RAW, 'citizen', 'reports')}')"
        ).fetchone()[0]
        == 50
    )
    assert lh.registry.find("citizen.reports", "raw").owner_service == "relation_usagers"


def test_cli_summary_in_french(fixtures_dir, tmp_path, monkeypatch):
    from orchestration.cli import cli

    monkeypatch.setenv("HYPERVISEUR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("HYPERVISEUR_S3_ENDPOINT", raising=False)
    result = CliRunner().invoke(
        cli, ["ingest", "open311", str(fixtures_dir / "standards/open311_georeport_v2/spec_examples_extracted")]
    )
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "Bilan de l'ingestion" in out and "aucune ligne perdue" in out
    assert "16 reçues = 3 acceptées + 13 rejetées" in out
    assert "Fichier rejeté : 11_GET_Service_Requests_Example_Response.json" in out
