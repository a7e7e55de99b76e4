"""The operators' page is live (issue 17), in Chromium behind the real sign-on: a leak pattern
published over MQTT now reaches the engine service, and the incident appears on the open page —
in its table, on the map with its marker and affected area, in the timeline — without a reload
(server-sent events)."""

from __future__ import annotations

import re
import time

import pytest
from browser import chromium
from live_services import HYPERVISEUR
from playwright.sync_api import expect
from signon import sign_on, socket_page
from test_live import leak_messages, mqtt_of

from alerting.priority import HIGH_PRIORITY
from ingestion.demo.publisher import publish_stream
from lakehouse.platform import Lakehouse

pytestmark = [pytest.mark.mqtt, pytest.mark.browser]


@pytest.fixture
def page_stack(tmp_path, live_env, engine_service):
    """Identity provider, gateway, the served page (Unix socket) and the engine service on one lake."""
    with socket_page(tmp_path, [str(HYPERVISEUR), "alerts", "page", "--servir"], live_env, "alerts") as page:
        engine_service.start()
        yield page | {"lh": Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": live_env["HYPERVISEUR_DATA_DIR"]})}


def test_leak_published_now_appears_live_with_its_map_marker(page_stack, live_env):
    with chromium() as browser:
        context, page = sign_on(browser, page_stack, "astreinte", "/", expect_totp=True)
        expect(page.locator("#direct")).to_have_text("(connecté)", timeout=20000)  # the event stream is open
        expect(page.locator("#carte #couche-quartiers polygon")).not_to_have_count(0)  # the territory, offline
        expect(page.locator("#carte .site-sensible")).not_to_have_count(0)
        expect(page.locator("#couche-incidents .marqueur")).to_have_count(0)
        page.evaluate("window.sansRechargement = true")

        root = live_env["HYPERVISEUR_MQTT_TOPIC_ROOT"]
        publish_stream(leak_messages(root, time.time()), mqtt_settings=mqtt_of(live_env))

        markers = page.locator("#couche-incidents .marqueur")
        expect(markers.first).to_be_visible(timeout=60000)
        assert page.evaluate("window.sansRechargement") is True  # updated in place, not reloaded
        incident_id = markers.first.get_attribute("id").removeprefix("marqueur-")
        row = page.locator(f"[id='{incident_id}']")
        expect(row).to_contain_text("SEC03")
        expect(row).to_contain_text("École Louise-Michel")  # its consequences
        expect(page.locator("#couche-zones .zone").first).to_be_visible()  # its affected area
        expect(page.locator("#chronologie")).to_contain_text(row.locator("strong").inner_text())
        lineage = "http://127.0.0.1:3000/assets/raw/iot/water_flow?view=lineage"
        expect(row.locator("a.lignage")).to_have_attribute("href", lineage)
        dashboard = re.compile(r"/superset/dashboard/fuites-eau/\?native_filters=.*SEC03")
        expect(row.locator("a.tableau")).to_have_attribute("href", dashboard)
        if float(row.locator(".prio").inner_text()) >= HIGH_PRIORITY:
            expect(page.locator("#alerte-nouvelle")).to_be_visible()
        context.close()
