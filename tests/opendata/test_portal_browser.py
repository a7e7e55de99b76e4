"""The citizens' portal in a real Chromium (Debian package, driven by Playwright)."""

from __future__ import annotations

import hashlib
import html
import json
import urllib.request

import pytest

from opendata.publish import publish
from opendata.serve import serve_in_thread
from tests.browser import chromium, keep_screenshot
from tests.opendata.conftest import air_table, dbt_manifest, districts_table, opendata_meta, ready

AIR, DISTRICTS = "od_air_hourly", "od_reports_by_district"
pytestmark = pytest.mark.browser


def _publish(lh):
    ready(lh, AIR, air_table(72))
    ready(lh, DISTRICTS, districts_table())
    publish(
        lh,
        manifest=dbt_manifest(
            {
                AIR: (opendata_meta("Qualité de l'air horaire"), {"no2_ugm3": "Dioxyde d'azote (µg/m³)"}),
                DISTRICTS: (
                    opendata_meta("Signalements par quartier", themes=("SOCI",), licence="odbl", frequency="daily"),
                    {},
                ),
            }
        ),
    )


def _publish_more(lh):
    """A second version of the air dataset: 24 more hours."""
    ready(lh, AIR, air_table(96))
    publish(lh, manifest=dbt_manifest({AIR: (opendata_meta("Qualité de l'air horaire"), {})}))


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def portal(local_lakehouse, portal_env):
    local_lakehouse.storage.check()
    _publish(local_lakehouse)
    server, url = serve_in_thread(local_lakehouse)
    yield local_lakehouse, url
    server.shutdown()
    server.server_close()


def test_search_finds_a_dataset_and_its_page_serves_preview_and_downloads(browser, portal):
    lh, url = portal
    page = browser.new_page()
    page.goto(url + "index.html")
    assert page.locator("html").get_attribute("lang") == "fr"
    cards = page.locator("#jeux > li")
    assert cards.count() == 2

    page.get_by_label("Rechercher un jeu de données").fill("qualite de l'AIR")  # accents and case ignored
    visible = page.locator("#jeux > li:visible")
    assert visible.count() == 1 and "Qualité de l'air horaire" in visible.inner_text()
    assert page.locator("#resultats").inner_text() == "1 jeu de données"

    page.get_by_label("Rechercher un jeu de données").fill("")
    page.get_by_label("Thème", exact=True).select_option("SOCI")
    assert page.locator("#jeux > li:visible").count() == 1
    assert "Signalements par quartier" in page.locator("#jeux > li:visible").inner_text()
    page.get_by_label("Thème", exact=True).select_option("")

    page.get_by_role("link", name="Qualité de l'air horaire").click()
    page.wait_for_url("**/datasets/od_air_hourly.html")
    assert page.get_by_role("heading", level=1).inner_text() == "Qualité de l'air horaire"
    preview = page.locator("table.preview tbody tr")
    assert preview.count() == 20
    assert page.locator("table.preview thead th").all_inner_texts() == [
        "station_id",
        "observed_at",
        "no2_ugm3",
        "lat",
        "lon",
    ]
    assert "ST01" in preview.first.inner_text()
    assert "Dioxyde d'azote (µg/m³)" in page.locator("table.dictionary").inner_text()
    assert page.locator("svg.chart").count() == 1 and page.locator("svg.map circle").count() == 3
    assert "Licence Ouverte" in page.locator("dl.facts").inner_text()

    manifest = lh.lake.read_json(f"opendata/{AIR}/latest/manifest.json")
    expected = {f["format"]: f["sha256"] for f in manifest["files"]}
    links = page.locator("a.download")
    assert links.count() == 4
    for i in range(links.count()):
        link = links.nth(i)
        response = page.request.get(page.url.rsplit("/", 1)[0] + "/" + link.get_attribute("href"))
        assert response.status == 200
        assert hashlib.sha256(response.body()).hexdigest() == expected[link.get_attribute("data-format")]
    dcat = page.get_by_role("link", name="notice de ce jeu (JSON-LD)")
    assert page.request.get(page.url.rsplit("/", 1)[0] + "/" + dcat.get_attribute("href")).status == 200
    page.close()


def test_api_page_examples_answer_in_the_browser(browser, portal):
    _, url = portal
    page = browser.new_page()
    page.goto(url + "index.html")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="API").click()
    page.wait_for_url("**/api.html")
    assert page.get_by_role("heading", level=1).inner_text() == "API des données ouvertes"
    assert "refine" in page.locator("#limites ~ ul").inner_text()
    assert page.request.get(url + page.locator("a[data-openapi]").get_attribute("href")).json()["openapi"] == "3.1.0"
    page.locator("a[data-example=aggregate]").click()
    page.wait_for_url("**/records?*")
    doc = page.evaluate("JSON.parse(document.body.innerText)")
    assert doc["total_count"] == 3 and {r["station_id"] for r in doc["results"]} == {"ST01", "ST02", "ST03"}
    assert doc["results"][0]["moyenne"] >= doc["results"][-1]["moyenne"]
    page.go_back()
    keep_screenshot(page, "opendata-page-api")
    page.close()


def test_dataset_page_french_figures_versions_schema_and_map(browser, portal):
    lh, url = portal
    first = lh.lake.read_json(f"opendata/{AIR}/latest/manifest.json")["version"]
    _publish_more(lh)
    page = browser.new_page()
    page.goto(url + f"datasets/{AIR}.html")
    cells = page.locator("table.preview tbody tr").first.locator("td").all_inner_texts()
    assert cells[:3] == ["ST01", "01/03/2026 00:00 UTC", "20"]
    assert page.locator("table.preview tbody tr").nth(1).locator("td").nth(2).inner_text() == "23,5"
    versions = page.locator("table.versions tbody tr")
    assert versions.count() == 2 and first in versions.nth(1).inner_text()
    assert "+72 ligne(s)" in versions.first.inner_text()
    old_csv = versions.nth(1).locator("a.version-file[data-format=csv]")
    response = page.request.get(page.url.rsplit("/", 1)[0] + "/" + old_csv.get_attribute("href"))
    assert response.status == 200 and response.text().startswith("station_id,")
    schema = page.request.get(page.url.rsplit("/", 1)[0] + "/" + page.locator("a[data-schema]").get_attribute("href"))
    assert [f["name"] for f in schema.json()["fields"]][:3] == ["station_id", "observed_at", "no2_ugm3"]
    assert page.locator("svg.map circle").count() == 3
    keep_screenshot(page, "opendata-page-jeu")
    page.locator("a[data-api]").click()
    assert page.evaluate("JSON.parse(document.body.innerText)")["total_count"] == 288
    page.close()


def test_keyboard_reaches_search_and_skip_link(browser, portal):
    _, url = portal
    page = browser.new_page()
    page.goto(url + "index.html")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    page.keyboard.press("Enter")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("signalements")
    assert page.locator("#jeux > li:visible").count() == 1
    page.close()


@pytest.mark.s3
def test_portal_of_an_s3_lake_is_served_through_the_storage_api(s3_server, fresh_bucket, tmp_path, portal_env):
    from lakehouse.platform import Lakehouse
    from tests.conftest import s3_env

    lh = Lakehouse.from_env(s3_env(s3_server, tmp_path / "data", fresh_bucket))
    _publish(lh)
    server, url = serve_in_thread(lh)
    try:
        with urllib.request.urlopen(url) as r:
            assert r.status == 200 and "Qualité de l'air horaire" in html.unescape(r.read().decode())
        with urllib.request.urlopen(url + f"{AIR}/latest/{AIR}.csv") as r:
            assert r.headers["Content-Type"].startswith("text/csv")
            assert r.read() == lh.storage.read_bytes(f"opendata/{AIR}/latest/{AIR}.csv")
        with urllib.request.urlopen(
            url + f"api/explore/v2.1/catalog/datasets/{AIR}/records?where=station_id%3D%27ST02%27"
        ) as r:
            assert json.loads(r.read())["total_count"] == 72  # the records API reads the published Parquet on S3
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url + "../_meta/audit/head.json")
        assert err.value.code == 400  # traversal refused before any lookup (test_portal_http.py)
    finally:
        server.shutdown()
        server.server_close()
