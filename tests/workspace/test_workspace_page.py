"""The workspace behind the single sign-on, in Chromium (issues 14 and 16).

A real identity provider (infra/sso/idp.py), the real gateway (infra/sso/gateway.py
``--application workspace``: nginx + LemonLDAP::NG's handler) and the real workspace
(``python -m workspace``, a subprocess on a Unix socket in a private directory) over a small
governed lake: marts scanned by the real scanner, a dbt manifest, a quality result. A steward
signs on with password + TOTP, reviews and accepts a proposal; an agent searches the catalog
and is refused decisions. Screenshots of each page go to test-artifacts/workspace/.
"""

from __future__ import annotations

import re
from pathlib import Path

import requests
import yaml
from playwright.sync_api import expect
from signon import cookie_header, refused_without_session, session_field, sign_on
from workspace_fixtures import DATASET

from governance.decisions import DecisionStore
from lakehouse.audit import AuditLog

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "workspace"


def decisions(stack) -> list[dict]:
    return [r for r in AuditLog(stack["lh"]).records() if r["event_type"] == "classification.decision"]


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', html).group(1)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


# -- tests ----------------------------------------------------------------------------------------
def test_no_session_is_sent_to_the_login(browser, stack):
    refused_without_session(browser, stack, "/catalogue", f"/revue/{DATASET}/accepter")
    assert decisions(stack) == []


def test_steward_reviews_a_proposal_and_accepts_it(steward, stack):
    context, page = steward
    expect(page.locator("#session")).to_contain_text("Nicolas Petit (referent ; Analyst, Steward)")
    expect(page.locator(f"#revue-{DATASET}")).to_contain_text("reporter_email")
    shot(page, "3-revue-file")
    page.locator(f"#revue-{DATASET}").get_by_role("link", name=DATASET).click()
    page.wait_for_url(stack["url"] + f"/revue/{DATASET}")
    row = page.locator("#col-reporter_email")
    expect(row).to_contain_text("EMAIL_ADDRESS : 100 % des valeurs")  # the evidence
    expect(row).to_contain_text("PII.Sensitive, PersonalData.Email")
    row.locator("summary", has_text="Exemples masqués").click()
    samples = row.locator(".echantillons code")
    expect(samples.first).to_contain_text("•")
    assert "@" in samples.first.inner_text() and not re.search(r"\w{3,}@", samples.first.inner_text())
    description = page.locator("#col-description .echantillons code")  # free text: redacted, not shaped
    assert description.count() >= 1
    shot(page, "4-revue-proposition")
    row.get_by_role("button", name="Accepter la proposition pour reporter_email").click()
    page.wait_for_url(re.compile(re.escape(stack["url"] + f"/revue/{DATASET}?fait=1")))
    expect(page.locator("#resultat")).to_contain_text("accept de reporter_email")
    expect(page.locator("#resultat")).to_contain_text("par Nicolas Petit (referent)")
    expect(page.locator("#col-reporter_email")).not_to_have_class(re.compile("en-attente"))
    shot(page, "5-decision-enregistree")

    identity = {"sub": "referent", "name": "Nicolas Petit", "groups": ["Analyst", "Steward"], "auth_level": 5}
    [record] = decisions(stack)
    assert record["actor"] == "referent"
    assert {k: record["payload"]["identity"][k] for k in identity} == identity
    assert record["payload"]["identity"]["interface"] == "espace de travail"
    assert (record["payload"]["column"], record["payload"]["tags"]) == (
        "reporter_email",
        ["PII.Sensitive", "PersonalData.Email"],
    )
    assert AuditLog(stack["lh"]).verify().ok
    [decision] = yaml.safe_load(DecisionStore(stack["lh"]).path(DATASET).read_text())["decisions"]
    assert (decision["version"], decision["by"], decision["identity"]["sub"]) == (1, "referent", "referent")


def test_catalog_and_dataset_page(steward, stack):
    context, page = steward
    page.goto(stack["url"] + "/catalogue")
    for name in (DATASET, "mart_citizen_reports_daily", "mart_air_quality_hourly", "citizen.reports"):
        expect(page.locator(f"[id='jeu-{name}']")).to_be_visible()
    shot(page, "1-catalogue")
    page.get_by_role("link", name=DATASET, exact=True).click()
    page.wait_for_url(stack["url"] + f"/jeux/{DATASET}")
    expect(page.locator("#niveau")).to_contain_text("Confidentiel")
    expect(page.locator("#qualite")).to_contain_text("2 statut(s) hors de la liste attendue")
    expect(page.locator("#opendata")).to_contain_text("non publié")
    expect(page.locator("#fraicheur")).to_contain_text("UTC")
    svg = page.locator("svg.lignee")
    for node in ("citizen.reports", "stg_citizen_reports", "mart_citizen_reports_daily"):  # upstream and downstream
        expect(svg.locator("a", has_text=node)).to_have_count(1)
    expect(svg.locator("a[aria-current=page]")).to_contain_text(DATASET)
    shot(page, "2-fiche-jeu")
    svg.locator("a", has_text="mart_citizen_reports_daily").click()  # the graph's boxes are links
    page.wait_for_url(stack["url"] + "/jeux/mart_citizen_reports_daily")


def test_agent_searches_the_catalog_but_cannot_decide(browser, stack):
    context, page = sign_on(browser, stack, "agent.eau", "/catalogue", expect_totp=False)
    page.keyboard.press("Tab")  # keyboard first: the skip link, then the search field by its label
    expect(page.locator(":focus")).to_have_text("Aller au contenu")
    page.get_by_label("Rechercher (nom, description, colonne, étiquette, service)").fill("reporter_email")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/catalogue\?q=reporter_email"))
    expect(page.locator("#resultats")).to_contain_text("1 jeu(x) de données")
    expect(page.locator(f"[id='jeu-{DATASET}']")).to_be_visible()
    expect(page.get_by_role("link", name="Revue des classifications")).to_have_count(0)
    shot(page, "6-agent-recherche")
    page.goto(stack["url"] + f"/jeux/{DATASET}")
    expect(page.locator(".echantillons")).to_have_count(0)  # no samples, even masked, for agents
    response = page.goto(stack["url"] + f"/revue/{DATASET}")
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("Accès refusé")
    shot(page, "7-agent-refus")
    before = len(decisions(stack))
    r = requests.post(
        stack["url"] + f"/revue/{DATASET}/accepter",
        data={"csrf": "0" * 64, "colonne": "reporter_phone"},
        headers={"Cookie": cookie_header(context), "Origin": stack["url"], "Hv-Groups": "Steward"},
        allow_redirects=False,
    )
    assert r.status_code == 403
    assert len(decisions(stack)) == before
    context.close()


def test_post_without_csrf_foreign_origin_or_forged_host_is_refused(steward, stack):
    context, page = steward
    page.goto(stack["url"] + f"/revue/{DATASET}")
    token = csrf_of(page.content())
    cookie = cookie_header(context)
    url = stack["url"] + f"/revue/{DATASET}/accepter"
    before = len(decisions(stack))
    for data in ({"colonne": "reporter_phone"}, {"csrf": "0" * 64, "colonne": "reporter_phone"}):
        r = requests.post(url, data=data, headers={"Cookie": cookie, "Origin": stack["url"]}, allow_redirects=False)
        assert r.status_code == 403 and "CSRF" in r.text, (data, r.status_code, r.text)
    for headers in ({"Origin": "http://evil.example"}, {}):
        r = requests.post(url, data={"csrf": token}, headers={"Cookie": cookie, **headers}, allow_redirects=False)
        assert r.status_code == 403, (headers, r.status_code)
    for host in ("evil.example", f"localhost:{stack['port']}"):
        for method in ("get", "post"):
            r = requests.request(
                method,
                stack["url"] + ("/catalogue" if method == "get" else f"/revue/{DATASET}/accepter"),
                data={"csrf": token},
                headers={"Host": host, "Cookie": cookie, "Origin": stack["url"]},
                allow_redirects=False,
            )
            assert r.status_code == 421, (host, method, r.status_code)
    r = requests.post(  # a valid form, but for a dataset nobody knows: no decision file created
        stack["url"] + "/revue/inconnu/accepter",
        data={"csrf": token},
        headers={"Cookie": cookie, "Origin": stack["url"]},
        allow_redirects=False,
    )
    assert r.status_code == 404 and not DecisionStore(stack["lh"]).path("inconnu").exists()
    assert len(decisions(stack)) == before


def test_a_decision_needs_the_second_factor(steward, stack, tmp_path):
    context, page = steward
    session_field(stack, context, tmp_path, "authenticationLevel", 2)
    try:
        page.goto(stack["url"] + f"/revue/{DATASET}")
        before = len(decisions(stack))
        page.locator("#col-reporter_phone").get_by_role("button", name="Accepter").click()
        expect(page.locator("h1")).to_have_text("Second facteur requis")
        expect(page.locator("#second-facteur")).to_have_attribute("href", re.compile(r"/upgradesession\?url="))
        shot(page, "8-second-facteur")
        assert len(decisions(stack)) == before
    finally:
        session_field(stack, context, tmp_path, "authenticationLevel", 5)
    # a refused decision (reason missing) shows the review page again with the French reason
    page.goto(stack["url"] + f"/revue/{DATASET}")
    page.locator("#motif-publication").evaluate("e => e.removeAttribute('required')")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.locator("#resultat")).to_contain_text("exige un motif")


def test_agent_uploads_a_file_larger_than_a_form_through_the_gateway(browser, stack, tmp_path):
    """The gateway lets an upload through up to the upload limit (forms stay at the form limit)."""
    real = ROOT / "tests/fixtures/data/real/paris_comptage_velo/comptage-velo-donnees-compteurs_sample.csv"
    header, *rows = real.read_text(encoding="utf-8").splitlines()
    big = tmp_path / "comptages_velo.csv"
    big.write_text("\n".join([header, *rows * 4]) + "\n", encoding="utf-8")  # ~110 KB: above a form's 64 KB
    assert big.stat().st_size > stack["lh"].settings.limits.max_http_body_bytes
    context, page = sign_on(browser, stack, "agent.eau", "/depot", expect_totp=False)
    page.set_default_timeout(90_000)
    page.get_by_label("Fichier (CSV, Excel, ODS, GeoJSON ou JSON OpenDataSoft)").set_input_files(str(big))
    shot(page, "8-agent-depot")
    page.get_by_role("button", name="Analyser le fichier").click()
    page.wait_for_url(re.compile(r".*/depot/[0-9a-f]{32}$"))
    expect(page.get_by_label("Type de la colonne Comptage horaire")).to_have_value(re.compile("integer|decimal"))
    page.get_by_label("Nom du jeu (minuscules sans accent, chiffres et « _ », 3 à 48 caractères)").fill("velo_eau")
    shot(page, "9-agent-schema")
    page.get_by_role("button", name="Confirmer et ingérer").click()
    expect(page.locator("h1")).to_contain_text("Dépôt ingéré")
    expect(page.locator("#resultat")).to_contain_text("aucune ligne perdue")
    shot(page, "10-agent-depot-ingere")
    context.close()
