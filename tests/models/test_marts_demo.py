"""The marts built by dbt from the simulated Val-de-Lys show the simulator's injected incidents."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from lakehouse.lake import Lake
from quality.suites import MARTS, dbt_var

PARIS = ZoneInfo("Europe/Paris")


def incident(demo, kind: str) -> dict:
    found = [i for i in demo.incidents if i["kind"] == kind]
    assert found, f"le simulateur n'a pas injecté d'incident {kind}"
    return found[0]


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_every_mart_is_written_as_parquet_in_the_curated_zone(local_demo):
    for name in MARTS:
        assert local_demo.lh.storage.exists(Lake.curated_key(name)), name
        rows = local_demo.query(f"SELECT count(*) FROM {local_demo.mart(name)}")[0][0]
        assert rows > 0, f"{name} est vide"


def test_leak_sector_ranks_first_among_leak_candidates(local_demo):
    leak = incident(local_demo, "leak")
    ranked = local_demo.query(
        f"SELECT sector_id, first_anomaly_date FROM {local_demo.mart('mart_water_leak_candidates')} ORDER BY leak_rank"
    )
    assert ranked[0][0] == leak["entity_id"]
    start_day = ts(leak["start"]).astimezone(PARIS).date()
    assert abs((ranked[0][1] - start_day).days) <= 1
    # a quiet sector is not a candidate: only the leaking sector stands out
    assert len(ranked) <= 2


def test_pollution_peak_day_has_a_very_bad_atmo_class_at_the_right_station(local_demo):
    peak = incident(local_demo, "pollution_peak")
    day = ts(peak["start"]).astimezone(PARIS).date()
    rows = local_demo.query(
        f"SELECT local_date, atmo_index, atmo_class FROM {local_demo.mart('mart_air_quality_atmo_daily')} "
        f"WHERE station_id = '{peak['entity_id']}' ORDER BY atmo_index DESC, local_date"
    )
    worst_day, index, label = rows[0]
    assert worst_day == day
    # PM10 daily mean > 100 µg/m³ is « très mauvais » (5) or worse
    assert index >= 5 and label in ("très mauvais", "extrêmement mauvais")
    district = local_demo.query(
        f"SELECT atmo_index FROM {local_demo.mart('mart_air_quality_atmo_district_daily')} "
        f"WHERE district_id = '{peak['district_id']}' AND local_date = DATE '{day}'"
    )
    assert district == [(index,)]
    hourly_no2 = local_demo.query(
        f"SELECT count(*) FROM {local_demo.mart('mart_air_quality_exceedances')} WHERE station_id = '{peak['entity_id']}' "
        f"AND pollutant = 'no2' AND averaging_period = 'horaire' AND local_date = DATE '{day}'"
    )[0][0]
    assert hourly_no2 >= 1  # NO2 above the EU hourly limit of 200 µg/m³ at rush hour
    limits = local_demo.query(
        f"SELECT DISTINCT pollutant, averaging_period, limit_value_ugm3 FROM {local_demo.mart('mart_air_quality_exceedances')}"
    )
    shared = dbt_var("eu_limit_values_ugm3")  # the same constants the alert rules read
    assert limits and all(value == shared[pollutant][period] for pollutant, period, value in limits)


def test_jam_segment_is_congested_and_far_below_its_usual_speed(local_demo):
    jam = incident(local_demo, "traffic_jam")
    rows = local_demo.query(
        f"SELECT congestion_level, speed_deviation_pct FROM {local_demo.mart('mart_traffic_hourly')} "
        f"WHERE segment_id = '{jam['entity_id']}' AND hour_start >= TIMESTAMPTZ '{jam['start']}' "
        f"AND hour_start + INTERVAL 1 HOUR <= TIMESTAMPTZ '{jam['end']}'"
    )  # hours fully inside the jam
    assert rows and all(level in ("sature", "bloque") for level, _ in rows)
    assert all(dev < -40 for _, dev in rows)
    others = local_demo.query(
        f"SELECT count(*) FROM {local_demo.mart('mart_traffic_hourly')} WHERE congestion_level = 'bloque' "
        f"AND segment_id <> '{jam['entity_id']}'"
    )[0][0]
    assert others == 0


def test_daily_traffic_keeps_every_hour_and_shows_the_jam_day(local_demo):
    hourly, daily = local_demo.mart("mart_traffic_hourly"), local_demo.mart("mart_traffic_daily")
    totals = local_demo.query(
        f"SELECT sum(vehicle_count), count(*), count(*) FILTER (WHERE congestion_level IN ('sature', 'bloque')) FROM {hourly}"
    )
    assert (
        local_demo.query(f"SELECT sum(vehicle_count), sum(hours_measured), sum(congested_hours) FROM {daily}") == totals
    )
    jam = incident(local_demo, "traffic_jam")
    day = ts(jam["start"]).astimezone(PARIS).date()
    worst = local_demo.query(
        f"SELECT segment_id, local_date FROM {daily} ORDER BY congested_hours DESC, max_saturation_ratio DESC LIMIT 1"
    )
    assert worst == [(jam["entity_id"], day)]


def test_lamp_failure_cluster_appears_in_lighting_faults(local_demo):
    cluster = incident(local_demo, "lamp_failure_cluster")
    lamps = set(cluster["details"]["lamp_ids"])
    faulty = {
        r[0]
        for r in local_demo.query(
            f"SELECT DISTINCT lamp_id FROM {local_demo.mart('mart_lighting_faults')} WHERE circuit_id = '{cluster['entity_id']}'"
        )
    }
    assert lamps <= faulty
    worst = local_demo.query(
        f"SELECT max(lamps_in_fault) FROM {local_demo.mart('mart_lighting_circuits_daily')} "
        f"WHERE circuit_id = '{cluster['entity_id']}'"
    )[0][0]
    assert worst >= len(lamps)


@pytest.mark.parametrize("kind", ["leak", "pollution_peak", "traffic_jam", "lamp_failure_cluster", "report_burst"])
def test_each_injected_incident_is_one_event_of_the_timeline(local_demo, kind):
    inc = incident(local_demo, kind)
    events = local_demo.query(
        f"SELECT entity_id, started_at, ended_at FROM {local_demo.mart('mart_incident_timeline')} WHERE event_kind = '{kind}'"
    )
    matching = [e for e in events if e[0] == inc["entity_id"] and e[1] < ts(inc["end"]) and e[2] > ts(inc["start"])]
    assert len(matching) == 1, events
    if kind in ("leak", "traffic_jam", "report_burst", "lamp_failure_cluster"):
        assert len(events) == 1, f"fausses alertes {kind} : {events}"


def test_aggregated_reports_keep_every_report_and_no_personal_column(local_demo):
    columns = {
        r[0] for r in local_demo.query(f"DESCRIBE SELECT * FROM {local_demo.mart('mart_citizen_reports_daily')}")
    }
    assert not columns & {"reporter_name", "reporter_phone", "reporter_email", "description", "address", "lat", "lon"}
    total = local_demo.query(f"SELECT sum(reports_created) FROM {local_demo.mart('mart_citizen_reports_daily')}")[0][0]
    detail = local_demo.query(f"SELECT count(*) FROM {local_demo.mart('mart_citizen_reports')}")[0][0]
    raw = local_demo.query(
        f"SELECT count(DISTINCT report_id) FROM read_parquet('{local_demo.lh.lake.dataset_glob('raw', 'citizen', 'reports')}')"
    )[0][0]
    assert total == detail == raw


def test_every_mart_and_column_is_documented_with_governance_meta(local_demo, tmp_path_factory):
    manifest_path = next(p for p in tmp_path_factory.getbasetemp().rglob("demo_local*/target/manifest.json"))
    nodes = json.loads(manifest_path.read_text())["nodes"].values()
    marts = {n["name"]: n for n in nodes if n["resource_type"] == "model" and n["name"] in MARTS}
    assert set(marts) == set(MARTS)
    public = {
        "mart_air_quality_hourly",
        "mart_air_quality_atmo_daily",
        "mart_air_quality_atmo_district_daily",
        "mart_air_quality_exceedances",
        "mart_traffic_hourly",
        "mart_traffic_daily",
        "mart_lighting_circuits_daily",
        "mart_citizen_reports_daily",
    }
    for name, node in marts.items():
        meta = node["config"]["meta"]
        assert node["description"].strip(), name
        assert meta["owner_service"] in (
            "eau",
            "voirie",
            "environnement",
            "eclairage",
            "energie",
            "relation_usagers",
            "securite",
        )
        # no placeholder classification: when present it declares something (see governance.lineage)
        declared = meta.get("classification")
        assert declared is None or declared.get("level") or declared.get("declassified"), name
        assert meta["opendata"]["publish"] is (name in public), name
        for key in (
            "title_fr",
            "description_fr",
            "licence",
            "themes",
            "keywords",
            "frequency",
            "spatial",
            "producer",
            "contact_point",
        ):
            assert meta["opendata"].get(key), f"{name}: opendata.{key}"
        built = {r[0] for r in local_demo.query(f"DESCRIBE SELECT * FROM {local_demo.mart(name)}")}
        assert built == set(node["columns"]), f"{name}: colonnes documentées ≠ colonnes produites"
        for col in node["columns"].values():
            assert col["description"].strip(), f"{name}.{col['name']}"
            declared = ((col.get("config") or {}).get("meta") or {}).get("classification")
            assert declared is None or declared.get("tags"), f"{name}.{col['name']} : classification vide"
