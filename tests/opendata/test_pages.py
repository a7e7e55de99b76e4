"""Dataset pages: French numbers and dates with units, kept versions with a changelog, the
Table Schema beside each dataset, the offline map; and the API page."""

from __future__ import annotations

import html
import json

import pyarrow as pa
import pytest

from lakehouse.audit import ensure_audit_key
from lakehouse.platform import Lakehouse
from opendata.publish import publish
from opendata.site import french_cell, french_number
from tests.opendata.conftest import air_table, dbt_manifest, opendata_meta, ready

AIR = "od_air_hourly"
RAW = 31.678399999999993


def _manifest() -> dict:
    meta = {**opendata_meta("Qualité de l'air horaire"), "hvd_category": "earth_observation_environment"}
    manifest = dbt_manifest({AIR: (meta, {"no2_ugm3": "Dioxyde d'azote", "station_id": "Station"})})
    node = manifest["nodes"][f"model.hyperviseur.{AIR}"]
    node["columns"]["no2_ugm3"]["config"] = {"meta": {"unit": "µg/m³"}}
    return manifest


def _table(hours: int) -> pa.Table:
    table = air_table(hours)
    values = table.column("no2_ugm3").to_pylist()
    values[0] = RAW
    return table.set_column(2, "no2_ugm3", pa.array(values, pa.float64()))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path_factory.mktemp("pages") / "data")})
    ensure_audit_key(lh.settings)
    lh.storage.check()
    ready(lh, AIR, _table(24))
    first = publish(lh, manifest=_manifest()).published[AIR]
    ready(lh, AIR, _table(48))  # new data: a second version
    second = publish(lh, manifest=_manifest()).published[AIR]
    page = html.unescape(lh.storage.read_bytes(f"opendata/datasets/{AIR}.html").decode())
    return lh, page, (first, second)


def test_numbers_dates_and_units_are_french(site):
    _, page, _ = site
    assert str(RAW) not in page
    assert "31,6784" in page
    assert "01/03/2026 00:00 UTC" in page
    assert 'no2_ugm3 <span class="unit">(µg/m³)</span>' in page
    assert "Moyenne de « no2_ugm3 » (µg/m³)" in page
    assert "Nombre de lignes</dt><dd>144</dd>" in page


@pytest.mark.parametrize(
    "value,expected",
    [(RAW, "31,6784"), (12345, "12\u202f345"), (1234.5678, "1\u202f234,57"), (0.000123, "0,000123"), (-3.5, "-3,5")],
)
def test_french_number(value, expected):
    assert french_number(value) == expected


def test_french_cell_dates():
    assert french_cell("2026-03-01T14:05:00Z", "TIMESTAMP WITH TIME ZONE") == "01/03/2026 14:05 UTC"
    assert french_cell("2026-03-01", "DATE") == "01/03/2026"


def test_every_kept_version_is_listed_with_a_changelog_and_downloadable(site):
    lh, page, (first, second) = site
    assert page.index(second) < page.index(first)  # newest first
    assert "+72 ligne(s) (144 au total)" in page
    assert "première version conservée" in page
    old_csv = f'href="../{AIR}/{first}/{AIR}.csv"'
    assert old_csv in page
    assert lh.storage.exists(f"opendata/{AIR}/{first}/{AIR}.csv")


def test_table_schema_follows_schema_data_gouv_conventions(site):
    lh, _, (_, second) = site
    schema = json.loads(lh.storage.read_bytes(f"opendata/datasets/{AIR}.schema.json"))
    assert schema["$schema"] == "https://frictionlessdata.io/schemas/table-schema.json"
    assert schema["countryCode"] == "FR" and schema["version"] == second
    assert schema["homepage"].endswith(f"/datasets/{AIR}.html")
    fields = {f["name"]: f for f in schema["fields"]}
    assert [f["type"] for f in schema["fields"]] == ["string", "datetime", "number", "number", "number"]
    assert fields["no2_ugm3"]["description"] == "Dioxyde d'azote (unité : µg/m³)"
    assert fields["observed_at"]["format"] == "%Y-%m-%dT%H:%M:%SZ"
    assert fields["station_id"]["example"] == "ST01"
    try:
        from frictionless import Schema
    except ImportError:  # frictionless is not a product dependency: check the descriptor by hand
        assert all({"name", "type", "title", "description"} <= set(f) for f in schema["fields"])
    else:
        assert Schema.from_descriptor({"fields": schema["fields"]}).field_names == list(fields)


def test_map_is_inline_svg_without_tiles(site):
    _, page, _ = site
    assert page.count('<svg class="map"') == 1 and "<circle" in page
    assert "tile" not in page.lower() and "leaflet" not in page.lower()


def test_api_page_documents_the_subset_with_examples(site):
    lh, _, _ = site
    api = html.unescape(lh.storage.read_bytes("opendata/api.html").decode())
    assert '<html lang="fr">' in api
    assert "api/explore/v2.1/catalog/datasets/od_air_hourly/records?limit=5" in api
    assert "avg(no2_ugm3) as moyenne" in api
    assert "refine" in api and "api/openapi.json" in api
