"""« Déposer des données » (issue 16): an agent's file → proposed schema → typed raw dataset in review.

The real workspace application (workspace.app, in process through Starlette's test client) over
a real local lake, with the headers the sign-on gateway sets (tests/workspace/test_workspace_page.py
drives the same pages through the real gateway in Chromium). The files are a real Paris export of
tests/fixtures/ and the Paris road-counter OpenDataSoft exports of
tests/ingestion/french_export_samples.py; the hostile ones are made here.
"""

from __future__ import annotations

import html
import io
import json
import re
import sys
import warnings
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest
from openpyxl import Workbook
from workspace_fixtures import manifest

with warnings.catch_warnings():  # Starlette's test client prefers httpx2 to the pinned httpx it still works with
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from lakehouse.audit import AuditLog, ensure_audit_key
from lakehouse.lake import Zone
from lakehouse.platform import Lakehouse
from workspace.app import create_app
from workspace.upload import STAGING_TTL_S, UPLOAD_SOURCE, purge_expired, staging_root

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingestion"))
from french_export_samples import write_french_exports

HOST = "127.0.0.1:8100"
UPLOAD_LIMIT = 200_000  # HYPERVISEUR_MAX_UPLOAD_BYTES of the test lake: the exports fit, 300 kB does not
AGENT = {
    "Hv-User": "agent.voirie",
    "Hv-Name": "Claire Dubois",
    "Hv-Groups": "Agent_voirie",
    "Hv-Auth-Level": "2",  # agents sign on with a password alone (no TOTP): they still upload
    "Hv-Session-Start": "1764520000",
}
OTHER_AGENT = {**AGENT, "Hv-User": "agent.eau", "Hv-Name": "Paul Martin", "Hv-Groups": "Agent_eau"}
STEWARD = {
    **AGENT,
    "Hv-User": "referent",
    "Hv-Name": "Nicolas Petit",
    "Hv-Groups": "Steward; Analyst",
    "Hv-Auth-Level": "5",
}
BIKE_COUNTERS = "data/real/paris_comptage_velo/comptage-velo-donnees-compteurs_sample.csv"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp("depot")
    manifest_file = base / "manifest.json"
    manifest_file.write_text(json.dumps(manifest()))
    values = {
        "HYPERVISEUR_DATA_DIR": str(base / "data"),
        "HYPERVISEUR_DBT_MANIFEST": str(manifest_file),
        "HYPERVISEUR_MASKING_KEY": "cle-de-test-hors-depot",
        "HYPERVISEUR_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
    }
    with pytest.MonkeyPatch.context() as mp:  # the catalog's classifier reads the manifest from the environment
        for k, v in values.items():
            mp.setenv(k, v)
        yield base, values


@pytest.fixture(scope="module")
def lh(env):
    lake = Lakehouse.from_env(env[1])
    ensure_audit_key(lake.settings)
    return lake


@pytest.fixture(scope="module")
def client(lh):
    with TestClient(create_app(lh, HOST), base_url=f"http://{HOST}", follow_redirects=False) as c:
        yield c


@pytest.fixture(scope="module")
def exports(env):
    return write_french_exports(env[0] / "exports")


def csrf(client, who=AGENT) -> str:
    # a steward's forms are on the review pages (of the dataset the first test uploads)
    page = client.get("/revue/depots.comptages_velo" if who is STEWARD else "/depot", headers=who)
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text).group(1)


def post_file(client, name: str, data: bytes, who=AGENT, token: str | None = None):
    fields = {"csrf": csrf(client, who) if token is None else token}
    return client.post(
        "/depot",
        headers={**who, "Origin": f"http://{HOST}"},
        data=fields,
        files={"fichier": (name, data, "application/octet-stream")},
    )


def staged(lh) -> list[Path]:
    root = staging_root(lh)
    return sorted(root.iterdir()) if root.is_dir() else []


def proposed_types(page: str) -> dict[str, str]:
    """Column → selected type of the proposal form."""
    found = {}
    for name, select in re.findall(r'<select id="type-([a-z0-9_]+)".*?>(.*?)</select>', page, re.S):
        found[name] = re.search(r'<option value="(\w+)" selected>', select).group(1)
    return found


def error_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", re.search(r'class="erreur".*?</div>', page, re.S).group(0)))


# -- the path of an agent ---------------------------------------------------------------------
def test_agent_uploads_a_real_export_confirms_the_types_and_it_reaches_review(client, lh, fixtures_dir):
    bikes = fixtures_dir / BIKE_COUNTERS
    response = post_file(client, bikes.name, bikes.read_bytes())
    assert response.status_code == 303, response.text
    token_url = response.headers["location"]
    assert re.fullmatch(r"/depot/[0-9a-f]{32}", token_url)
    [folder] = staged(lh)
    assert folder.name == token_url.rsplit("/", 1)[1] and folder.is_relative_to(lh.storage.scratch_dir())

    page = client.get(token_url, headers=AGENT)
    assert page.status_code == 200
    assert "séparateur « ; »" in page.text and "encodage utf-8" in page.text
    types = proposed_types(page.text)
    assert types["comptage_horaire"] in ("integer", "decimal")
    assert types["date_et_heure_de_comptage"] == "datetime"
    assert types["date_d_installation_du_site_de_comptage"] == "date"
    assert types["identifiant_du_site_de_comptage"] == "integer"
    assert "<code>97 avenue Denfert Rochereau</code>" in page.text  # examples of each column
    assert 'aria-label="Type de la colonne Comptage horaire"' in page.text

    # the agent corrects one type (the site identifier is a code) and names the dataset
    form = {f"type-{c}": t for c, t in types.items()} | {"type-identifiant_du_site_de_comptage": "text"}
    form |= {"csrf": csrf(client), "nom": "comptages_velo", "service": "voirie"}
    done = client.post(token_url, headers={**AGENT, "Origin": f"http://{HOST}"}, data=form)
    assert done.status_code == 200, done.text
    counts = re.search(r"(\d+) ligne\(s\) reçue\(s\) = (\d+) acceptée\(s\).*?\+ (\d+) rejetée\(s\)", done.text, re.S)
    rows_in, raw, quarantined = map(int, counts.groups())
    assert rows_in == 21 and raw + quarantined == rows_in and "aucune ligne perdue" in done.text

    name = f"{UPLOAD_SOURCE}.comptages_velo"
    entry = lh.registry.find(name, Zone.RAW.value)
    assert entry.owner_service == "voirie" and "Claire Dubois" in entry.description
    schema = {c["name"]: c["type"] for c in entry.schema}
    assert schema["date_et_heure_de_comptage"].startswith("timestamp")
    assert schema["comptage_horaire"] in ("int64", "double") and schema["lat"] == "double"
    assert schema["identifiant_du_site_de_comptage"] == "string"  # the agent's correction
    assert schema["date_d_installation_du_site_de_comptage"] == "date32[day]"
    assert entry.source_format["columns"][2]["type"] == "text"  # the schema read with, recorded
    keys = [o.key for o in lh.storage.list(entry.path) if o.key.endswith(".parquet")]
    table = pa.concat_tables([lh.lake.read_table(k) for k in keys])
    assert table.num_rows == raw and table.schema.field("date_et_heure_de_comptage").type == pa.timestamp("us", "UTC")
    assert staged(lh) == []  # the staged file is gone once ingested

    records = [r for r in AuditLog(lh).records() if r["event_type"] == "ingestion.depot"]
    assert records[-1]["actor"] == "agent.voirie"
    assert records[-1]["payload"]["identity"]["interface"] == "espace de travail"
    assert records[-1]["payload"]["dataset"] == name and records[-1]["payload"]["owner_service"] == "voirie"

    # governance scanned it: its proposals wait in the stewards' queue
    assert "En attente de la revue" in done.text
    queue = client.get("/revue", headers=STEWARD)
    assert queue.status_code == 200 and f"revue-{name}" in queue.text
    assert client.get(f"/revue/{name}", headers=STEWARD).status_code == 200
    # the same name again is refused, the first dataset untouched
    again = client.post(
        post_file(client, bikes.name, bikes.read_bytes()).headers["location"],
        headers={**AGENT, "Origin": f"http://{HOST}"},
        data={"csrf": csrf(client), "nom": "comptages_velo", "service": "voirie"},
    )
    assert again.status_code == 400 and "existe déjà" in error_of(again.text)
    assert lh.registry.find(name, Zone.RAW.value).updated_at == entry.updated_at


def _xlsx_of(csv_path: Path) -> bytes:
    """The CSV written as a workbook with a title row above the header, as agents' sheets often have."""
    import csv

    wb = Workbook()
    ws = wb.active
    ws.append(["Comptages vélo — extrait"])
    with open(csv_path, encoding="utf-8-sig", newline="") as f:
        for row in csv.reader(f, delimiter=";"):
            ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _ods_of(rows: list[list]) -> bytes:
    import pandas as pd

    out = io.BytesIO()
    pd.DataFrame(rows[1:], columns=rows[0]).to_excel(out, engine="odf", index=False)
    return out.getvalue()


ROAD = "comptages-routiers-permanents"
EXPECTED = {  # column → types accepted: numbers and dates never left as text
    "routiers.csv": {
        "debit_horaire": ("integer", "decimal"),
        "taux_d_occupation": ("decimal",),
        "date_et_heure_de_comptage": ("datetime",),
        "date_debut_dispo_data": ("date",),
    },
    "api_v1.json": {"q": ("integer", "decimal"), "k": ("decimal",), "t_1h": ("datetime",)},
    "exports_v2.1.json": {"q": ("integer", "decimal"), "k": ("decimal",), "t_1h": ("datetime",)},
    "velo.xlsx": {"comptage_horaire": ("integer", "decimal"), "date_et_heure_de_comptage": ("datetime",)},
    "compteurs.ods": {"comptage": ("integer",), "date": ("date", "datetime")},
}


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_every_format_gets_typed_columns(client, lh, exports, fixtures_dir, kind):
    data = {
        "routiers.csv": lambda: exports.csv.read_bytes(),
        "api_v1.json": lambda: (exports.json_folder / f"{ROAD}_api_v1.json").read_bytes(),
        "exports_v2.1.json": lambda: (exports.json_folder / f"{ROAD}_exports_v2.1.json").read_bytes(),
        "velo.xlsx": lambda: _xlsx_of(fixtures_dir / BIKE_COUNTERS),
        "compteurs.ods": lambda: _ods_of(
            [["Compteur", "Date", "Comptage"]] + [[f"C{i}", f"2024-01-{i + 1:02d}", i * 3] for i in range(20)]
        ),
    }[kind]()
    response = post_file(client, kind, data)
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"], headers=AGENT).text
    types = proposed_types(page)
    for column, allowed in EXPECTED[kind].items():
        assert types[column] in allowed, (column, types)
    if kind == "velo.xlsx":
        assert "en-tête ligne 2" in page  # below the title row
    if kind == "api_v1.json":
        assert "Lecture détectée : enregistrements OpenDataSoft (API v1)" in page
    purge_expired(lh, now=float("inf"))  # not confirmed: removed


# -- hostile requests and files: a clear French refusal, nothing staged ---------------------------
def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("script.php", b"<?php system($_GET['c']); ?>", "format .php non accepté"),
        ("sans_extension", b"a;b\n1;2\n", "format sans extension non accepté"),
        ("../../etc/cron.d/x.csv", b"a;b\n1;2\n", "nom de fichier refusé"),
        ("..\\..\\windows\\x.csv", b"a;b\n1;2\n", "nom de fichier refusé"),
        (".cache.csv", b"a;b\n1;2\n", "nom de fichier refusé"),
        ("binaire.csv", bytes(range(256)) * 40, "contenu binaire"),
        ("faux.xlsx", b"a;b\n1;2\n", "ce n'est pas un classeur"),
        ("bombe.xlsx", _zip_bomb(), "bombe de décompression"),
        ("vide.csv", b"", "fichier vide"),
        ("liste.json", b'{"ceci": "pas des enregistrements"}', "liste d'enregistrements"),
    ],
)
def test_hostile_file_is_refused_with_a_french_reason(client, lh, name, data, message):
    response = post_file(client, name, data)
    assert response.status_code == 400, response.text
    assert message in error_of(response.text) and "Rien n'a été enregistré" in response.text
    assert staged(lh) == []


def test_markup_in_an_uploaded_file_is_shown_as_text(client, lh):
    """A column named like an HTML element is escaped on the proposed schema page (no stored script)."""
    data = ("<script>alert(1)</script>;b\n" + "".join(f"x{i};{i}\n" for i in range(12))).encode()
    response = post_file(client, "balises.csv", data)
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"], headers=AGENT).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    purge_expired(lh, now=float("inf"))


def test_request_without_csrf_or_over_the_limit_is_refused(client, lh, exports):
    data = exports.csv.read_bytes()
    assert post_file(client, "a.csv", data, token="").status_code == 403
    assert post_file(client, "a.csv", data, token="0" * 64).status_code == 403
    big = post_file(client, "gros.csv", data * 3)
    assert big.status_code == 413 and "max_upload_bytes" in big.text
    foreign = client.post(
        "/depot",
        headers={**AGENT, "Origin": "http://evil.example"},
        files={"fichier": ("a.csv", data)},
        data={"csrf": csrf(client)},
    )
    assert foreign.status_code == 403
    # a multipart body where a plain form is expected (and the reverse): refused before parsing
    wrong = client.post(
        "/revue/x/accepter",
        headers={**STEWARD, "Origin": f"http://{HOST}"},
        files={"fichier": ("a.csv", data)},
        data={"csrf": "refusé avant même la lecture du corps"},
    )
    assert wrong.status_code == 415
    plain = client.post("/depot", headers={**AGENT, "Origin": f"http://{HOST}"}, data={"csrf": csrf(client)})
    assert plain.status_code == 415
    assert staged(lh) == []


def test_only_agents_of_a_service_upload(client, lh, exports):
    page = client.get("/depot", headers=STEWARD)
    assert page.status_code == 200 and "réservé aux agents d'un service" in page.text
    response = post_file(client, "a.csv", exports.csv.read_bytes(), who=STEWARD)
    assert response.status_code == 400 and "réservé aux agents" in error_of(response.text)
    assert staged(lh) == []


def test_another_users_staging_token_is_unknown_to_them(client, lh, exports):
    url = post_file(client, "comptages.csv", exports.csv.read_bytes()).headers["location"]
    assert client.get(url, headers=OTHER_AGENT).status_code == 404
    stolen = client.post(
        url,
        headers={**OTHER_AGENT, "Origin": f"http://{HOST}"},
        data={"csrf": csrf(client, OTHER_AGENT), "nom": "vol", "service": "eau"},
    )
    assert stolen.status_code == 404 and "introuvable" in stolen.text
    assert lh.registry.find(f"{UPLOAD_SOURCE}.vol", Zone.RAW.value) is None
    for bad in ("/depot/../../etc", "/depot/" + "g" * 32):
        assert client.get(bad, headers=AGENT).status_code == 404

    # the owner's own form: a hostile dataset name or a service they are not an agent of
    form = {"csrf": csrf(client), "nom": "../../x", "service": "voirie"}
    refused = client.post(url, headers={**AGENT, "Origin": f"http://{HOST}"}, data=form)
    assert refused.status_code == 400 and "nom de jeu « ../../x » refusé" in error_of(refused.text)
    form |= {"nom": "comptages_eau", "service": "eau"}
    refused = client.post(url, headers={**AGENT, "Origin": f"http://{HOST}"}, data=form)
    assert refused.status_code == 400 and "pas agent de ce service" in error_of(refused.text)
    # not confirmed: removed once expired
    [folder] = staged(lh)
    assert purge_expired(lh, now=folder.stat().st_mtime + STAGING_TTL_S + 1) == 1
    assert staged(lh) == [] and client.get(url, headers=AGENT).status_code == 404
