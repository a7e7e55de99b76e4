"""Every starter dashboard renders in Chromium (Debian package, no downloaded browser)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from browser import chromium
from oidc_login import browser_sign_on

from alerting.incidents import Incident
from alerting.links import dashboard_url
from superset.bundle import load_spec

pytestmark = [pytest.mark.superset, pytest.mark.browser]

ARTIFACTS = (
    Path(os.environ.get("HYPERVISEUR_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
    / "superset"
)

# Per chart: rendered (something drawn), loading (spinner still there), failed (error shown).
STATE_JS = """() => [...document.querySelectorAll('[data-test="chart-grid-component"]')].map(el => ({
  name: (el.innerText || '').split('\\n')[0],
  rendered: el.querySelectorAll('canvas, svg, table').length > 0,
  loading: el.querySelectorAll('[data-test="loading-indicator"], .loading, [aria-label="loading"]').length > 0,
  failed: el.querySelectorAll('[role="alert"], .ant-alert-error, [data-test="chart-error"]').length > 0,
}))"""


@pytest.fixture(scope="module")
def browser_page(superset_instance, provisioned, sso_provider):
    """The directory's administrator, signed on through the provider (password + TOTP)."""
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1600, "height": 1400}, locale="fr-FR")
        browser_sign_on(page, superset_instance.url, sso_provider["issuer"], sso_provider["users"]["admin"], "admin")
        page.wait_for_url("**/superset/welcome/**", timeout=60_000)
        yield page


def _rendered(page, expected: int, shot: str) -> list[dict]:
    """The state of each chart once all ``expected`` are drawn (or one failed, or a minute passed);
    a screenshot of the page as it is then."""
    page.wait_for_selector('[data-test="chart-grid-component"]', timeout=60_000)
    deadline = time.monotonic() + 60
    while True:
        charts = page.evaluate(STATE_JS)
        done = len(charts) == expected and all(c["rendered"] and not c["loading"] for c in charts)
        if done or any(c["failed"] for c in charts) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
    return charts


@pytest.mark.parametrize("dashboard", load_spec(), ids=lambda d: d["slug"])
def test_starter_dashboard_renders_every_chart(superset_instance, browser_page, dashboard):
    page = browser_page
    page.goto(f"{superset_instance.url}/superset/dashboard/{dashboard['slug']}/")
    charts = _rendered(page, len(dashboard["charts"]), dashboard["slug"])
    assert len(charts) == len(dashboard["charts"]), charts
    bad = [c for c in charts if c["failed"] or c["loading"] or not c["rendered"]]
    assert not bad, f"graphiques non rendus dans {dashboard['slug']} : {bad}"
    assert "Qualité" in page.content() or dashboard["title"].split()[0] in page.content()


def test_an_incidents_link_opens_its_dashboard_filtered_on_its_entity(superset_instance, browser_page):
    """The operators' page links a water leak to « fuites-eau » with the sector filter set: every
    chart of the dashboard asks Superset for that sector only."""
    leak = Incident("inc-1", "eau", "D03", "sector", "WS03", "Fuite probable", 0.0, 0.0)
    page = browser_page
    asked: list[str] = []

    def keep(request):
        if request.method == "POST" and "/api/v1/chart/data" in request.url:
            asked.append(request.post_data or "")

    charts = len(next(d for d in load_spec() if d["slug"] == "fuites-eau")["charts"])
    page.on("request", keep)
    try:
        page.goto(dashboard_url(superset_instance.settings, leak))
        drawn = _rendered(page, charts, "fuites-eau-secteur-WS03")
    finally:
        page.remove_listener("request", keep)
    assert all(c["rendered"] and not c["failed"] for c in drawn) and len(drawn) == charts, drawn
    # the charts' queries (not the filter's own query for its list of values)
    bodies = [b for b in map(json.loads, asked) if not b["form_data"].get("viz_type", "").startswith("filter_")]
    filters = [
        [
            (f["col"], f["op"], f["val"])
            for q in b["queries"]
            for f in q.get("filters", [])
            if f.get("col") == "sector_id"
        ]
        for b in bodies
    ]
    assert len(bodies) >= charts and all(f == [("sector_id", "IN", ["WS03"])] for f in filters), filters
