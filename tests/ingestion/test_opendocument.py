"""OpenDocument spreadsheets (``.ods``) through ``hyperviseur ingest fichiers``: the reader the
workspace's upload uses too (:mod:`ingestion.formats.opendocument`), typed cells kept typed, and
hostile archives refused whole with a French reason naming the file, quarantined like the other
formats (their ``ingestion.rejected_files`` row, nothing in raw)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from test_connectors import rows
from test_hostile_files import lakehouse_with, nothing_written, refused, zip_with

from ingestion.formats.opendocument import MIMETYPE
from ingestion.sources.runner import ingest_path
from lakehouse.lake import Zone
from lakehouse.platform import Lakehouse

BIKES_ODS = "data/derived/paris_comptage_velo_ods/comptage-velo-donnees-compteurs_sample.ods"
CONTENT = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">'
    '<office:body><office:spreadsheet><table:table table:name="Feuille1">{rows}</table:table>'
    "</office:spreadsheet></office:body></office:document-content>"
)
HEADER_ROW = (
    '<table:table-row><table:table-cell office:value-type="string"><text:p>a</text:p></table:table-cell>'
    '<table:table-cell office:value-type="string"><text:p>b</text:p></table:table-cell></table:table-row>'
)


def ods(path: Path, content: str | bytes, mimetype: str = MIMETYPE) -> Path:
    """An .ods archive as spreadsheet software writes it: ``mimetype`` first, then ``content.xml``."""
    data = content.encode() if isinstance(content, str) else content
    return zip_with(path, {"mimetype": mimetype.encode(), "content.xml": data})


def test_cli_ingests_a_real_ods_with_typed_columns(tmp_path, monkeypatch, fixtures_dir):
    """The Paris bike-counter export saved as .ods: counts, timestamps and dates arrive typed in raw."""
    from orchestration.cli import cli

    monkeypatch.setenv("HYPERVISEUR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("HYPERVISEUR_S3_ENDPOINT", raising=False)
    source = fixtures_dir / BIKES_ODS
    runner = CliRunner()
    shown = runner.invoke(cli, ["ingest", "fichiers", str(source), "--detecter"])
    assert shown.exit_code == 0, shown.output
    assert '"format": "opendocument"' in shown.output

    result = runner.invoke(cli, ["ingest", "fichiers", str(source)])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "Schéma de fichiers.paris_comptage_velo_ods" in out, out
    assert "21 reçues = 21 acceptées + 0 rejetées" in out and "aucune ligne perdue" in out

    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")})
    entry = lh.registry.get("fichiers.paris_comptage_velo_ods", "raw")
    assert entry.source_format["format"] == "opendocument"
    types = {f["name"]: f["type"] for f in entry.schema}
    assert types["comptage_horaire"] == "int64"
    assert types["date_et_heure_de_comptage"].startswith("timestamp")
    assert types["date_d_installation_du_site_de_comptage"].startswith("date")
    first = rows(
        lh,
        Zone.RAW,
        "fichiers",
        "paris_comptage_velo_ods",
        "comptage_horaire = 16",
        "comptage_horaire, date_et_heure_de_comptage, date_d_installation_du_site_de_comptage, source_tz",
    )[0]
    # 06:00 in Paris (the spreadsheet's cell, local time) is 04:00 UTC on 1 September 2021
    assert first["date_et_heure_de_comptage"] == dt.datetime(2021, 9, 1, 4, 0, tzinfo=dt.UTC)
    assert first["date_d_installation_du_site_de_comptage"] == dt.date(2012, 2, 22)
    assert first["source_tz"] == "Europe/Paris"


def test_cli_refuses_a_broken_ods_in_french(tmp_path, monkeypatch, fixtures_dir):
    from orchestration.cli import cli

    monkeypatch.setenv("HYPERVISEUR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("HYPERVISEUR_S3_ENDPOINT", raising=False)
    broken = tmp_path / "tronque" / "tronque.ods"
    broken.parent.mkdir()
    broken.write_bytes((fixtures_dir / BIKES_ODS).read_bytes()[:1500])  # cut mid-archive
    result = CliRunner().invoke(cli, ["ingest", "fichiers", str(broken)])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "1 rejeté(s)" in out and "Fichier rejeté : tronque.ods : archive zip illisible" in out, out


def _xlsx_bytes() -> bytes:
    wb = Workbook()
    wb.active.append(["a", "b"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


HOSTILE = {
    # name: (how the file is made, what the reason must say)
    "bombe": (
        lambda p: ods(p, b"\0" * (30 * 1024**2)),
        ("content.xml", "bombe de décompression", "HYPERVISEUR_MAX_ARCHIVE_RATIO"),
    ),
    "repetitions": (  # 10⁸ rows of 1 000 cells in a few hundred bytes
        lambda p: ods(
            p,
            CONTENT.format(
                rows=HEADER_ROW + '<table:table-row table:number-rows-repeated="100000000">'
                '<table:table-cell office:value-type="float" office:value="1" '
                'table:number-columns-repeated="1000"/></table:table-row>'
            ),
        ),
        ("se déploie", "HYPERVISEUR_MAX_DOCUMENT_BYTES"),
    ),
    "entites": (
        lambda p: ods(
            p,
            '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            + CONTENT.format(rows=HEADER_ROW).split("?>", 1)[1],
        ),
        ("XML refusé pour sécurité",),
    ),
    "profond": (
        lambda p: ods(p, CONTENT.format(rows=HEADER_ROW + "<text:span>" * 100 + "</text:span>" * 100)),
        ("HYPERVISEUR_MAX_NESTING_DEPTH",),
    ),
    "excel_renomme": (
        lambda p: p.write_bytes(_xlsx_bytes()),
        ("ce n'est pas un classeur OpenDocument", "absent"),
    ),
    "mal_forme": (
        lambda p: ods(p, CONTENT.format(rows=HEADER_ROW + "<table:table-row>")),
        ("« content.xml » mal formé",),
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_ods_is_refused_and_quarantined(tmp_path, name):
    lh = lakehouse_with(tmp_path)
    make, needles = HOSTILE[name]
    path = tmp_path / name / f"{name}.ods"
    path.parent.mkdir()
    make(path)
    refused(lh, ingest_path(lh, "fichiers", path.parent), path, *needles)
    nothing_written(lh, "fichiers", name)


def test_repeated_blank_cells_and_rows_cost_nothing(tmp_path):
    """LibreOffice ends every sheet with a million repeated blank rows of 16 384 blank cells."""
    lh = lakehouse_with(tmp_path)
    value = '<table:table-cell office:value-type="float" office:value="{}"/>'
    blank = '<table:table-cell table:number-columns-repeated="16382"/>'
    body = HEADER_ROW + "".join(
        f"<table:table-row>{value.format(i)}{value.format(i / 2)}{blank}</table:table-row>" for i in range(12)
    )
    body += f'<table:table-row table:number-rows-repeated="1048563">{blank}</table:table-row>'
    (tmp_path / "feuille").mkdir()
    path = ods(tmp_path / "feuille" / "feuille.ods", CONTENT.format(rows=body))
    run = ingest_path(lh, "fichiers", path)
    assert run.balanced and [f.status for f in run.files] == ["ingéré"]
    got = rows(lh, Zone.RAW, "fichiers", "feuille", "true", "a, b")
    assert sorted((r["a"], r["b"]) for r in got) == [(i, i / 2) for i in range(12)]
