"""Every page of the workspace, in Chromium through the sign-on gateway, as the persona who sees
it: each renders its French heading without error, and a full-page PNG of it is saved in the
folder named by ``HYPERVISEUR_SCREENSHOTS_DIR`` (default: the test's temporary folder). The
pictures of docs/screenshots/workspace/ come from a run with that variable set
(docs/screenshots/README.md)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from signon import session_field, sign_on
from workspace_fixtures import DATASET

ROOT = Path(__file__).resolve().parents[2]
SHOTS_VARIABLE = "HYPERVISEUR_SCREENSHOTS_DIR"
VIEWPORT = {"width": 1280, "height": 800}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
UPLOADED = ROOT / "tests/fixtures/data/derived/paris_comptage_velo_ods/comptage-velo-donnees-compteurs_sample.ods"
SLOW = 90_000  # ms: the first review page and the upload wait for the workspace's Presidio


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get(SHOTS_VARIABLE) or tmp_path / "captures")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def capture(page, folder: Path, name: str, heading: str, response=None, status: int = 200) -> None:
    """The page shows ``heading`` in its h1, no error, and is saved as ``<name>.png`` (full page)."""
    if response is not None:
        assert response.status == status, (name, response.status)
    expect(page.locator("h1")).to_contain_text(heading)
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and "Internal Server Error" not in body, name
    if status == 200:
        expect(page.locator(".erreur")).to_have_count(0)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_steward_pages(steward, stack, shots, tmp_path):
    """Dataset page (lineage, evidence, columns), review queue, review of one proposal, second factor."""
    context, page = steward
    page.set_viewport_size(VIEWPORT)
    response = page.goto(stack["url"] + f"/jeux/{DATASET}")
    expect(page.locator("svg.lignee a[aria-current=page]")).to_contain_text(DATASET)
    expect(page.locator("#col-reporter_email")).to_contain_text("EMAIL_ADDRESS")  # the evidence
    expect(page.locator("#qualite")).to_contain_text("2 statut(s) hors de la liste attendue")
    capture(page, shots, "02-fiche-jeu", DATASET, response)

    response = page.goto(stack["url"] + "/revue")
    expect(page.locator(f"#revue-{DATASET}")).to_contain_text("reporter_email")
    capture(page, shots, "03-revue-file", "Revue des classifications", response)

    response = page.goto(stack["url"] + f"/revue/{DATASET}")
    expect(page.locator("#col-reporter_email")).to_contain_text("PII.Sensitive, PersonalData.Email")
    page.locator("#col-reporter_email summary", has_text="Exemples masqués").click()
    capture(page, shots, "04-revue-proposition", f"Revue : {DATASET}", response)

    session_field(stack, context, tmp_path, "authenticationLevel", 2)  # a session opened without TOTP
    try:
        page.locator("#col-reporter_phone").get_by_role("button", name="Accepter").click()
        expect(page.locator("#second-facteur")).to_have_attribute("href", re.compile(r"/upgradesession\?url="))
        capture(page, shots, "05-second-facteur", "Second facteur requis", status=403)
    finally:
        session_field(stack, context, tmp_path, "authenticationLevel", 5)


def test_agent_pages(browser, stack, shots):
    """Catalog search, upload of a real spreadsheet (.ods), proposed schema, result; refusals."""
    context, page = sign_on(browser, stack, "agent.eau", "/catalogue", expect_totp=False)
    try:
        page.set_default_timeout(SLOW)
        page.set_viewport_size(VIEWPORT)
        page.get_by_label("Rechercher (nom, description, colonne, étiquette, service)").fill("citizen")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*/catalogue\?q=citizen"))
        expect(page.locator("#resultats")).to_contain_text("jeu(x) de données")
        expect(page.locator(f"[id='jeu-{DATASET}']")).to_be_visible()
        capture(page, shots, "01-catalogue-recherche", "Catalogue des données")

        response = page.goto(stack["url"] + "/depot")
        page.get_by_label("Fichier (CSV, Excel, ODS, GeoJSON ou JSON OpenDataSoft)").set_input_files(str(UPLOADED))
        capture(page, shots, "06-depot", "Déposer des données", response)

        page.get_by_role("button", name="Analyser le fichier").click()
        page.wait_for_url(re.compile(r".*/depot/[0-9a-f]{32}$"))
        expect(page.locator("#lecture")).to_contain_text("classeur OpenDocument")
        expect(page.get_by_label("Type de la colonne Comptage horaire")).to_have_value("integer")
        expect(page.get_by_label("Type de la colonne Date et heure de comptage")).to_have_value("datetime")
        page.get_by_label("Nom du jeu (minuscules sans accent, chiffres et « _ », 3 à 48 caractères)").fill(
            "comptages_velo_eau"
        )
        capture(page, shots, "07-schema-propose", f"Schéma proposé pour « {UPLOADED.name} »")

        page.get_by_role("button", name="Confirmer et ingérer").click()
        expect(page.locator("#resultat")).to_contain_text("aucune ligne perdue")
        capture(page, shots, "08-depot-ingere", "Dépôt ingéré : depots.comptages_velo_eau")

        response = page.goto(stack["url"] + f"/revue/{DATASET}")
        capture(page, shots, "09-acces-refuse", "Accès refusé", response, status=403)

        response = page.goto(stack["url"] + "/jeux/jeu_inconnu")
        capture(page, shots, "10-page-introuvable", "Page introuvable", response, status=404)
    finally:
        context.close()
