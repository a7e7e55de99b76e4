"""Connectors for the formats French data arrives in: Enedis load curves (metadata block,
clock changes), OpenDataSoft records JSON (API v1, v2.1) and ``;`` CSV exports; and the
``fichiers`` CLI with detected or user-given schemas, recorded in the registry. The OpenDataSoft
files are generated at test time (:mod:`french_export_samples`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
from click.testing import CliRunner
from test_connectors import counts, errors, rows

from ingestion.sources.base import Context
from ingestion.sources.runner import ingest_path
from lakehouse.lake import Zone
from lakehouse.platform import Lakehouse

PARIS = ZoneInfo("Europe/Paris")
META = (
    "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;Grandeur metier;"
    "Etape metier;Unite;Pas en minutes\n"
    "00000000000000;Courbe de charge;{start};{end};Energie active;Consommation;Comptage Brut;W;30\n\n"
    "Horodate;Valeur\n"
)


def load_curve(path: Path, start: datetime, end: datetime, naive: bool = False) -> int:
    """An export in the layout Enedis writes: metadata block, then one line per half-hour
    (stamped at the end of the step), every instant between ``start`` and ``end`` (UTC)."""
    lines, t = [], start + timedelta(minutes=30)
    while t <= end:
        local = t.astimezone(PARIS)
        stamp = local.replace(tzinfo=None).isoformat(sep=" ") if naive else local.isoformat()
        lines.append(f"{stamp};{300 + len(lines) % 97}")
        t += timedelta(minutes=30)
    lines[3] = lines[3].split(";")[0] + ";"  # a missing measure
    path.write_text(META.format(start=f"{start:%d/%m/%Y}", end=f"{end:%d/%m/%Y}") + "\n".join(lines) + "\n")
    return len(lines)


def curve(lh: Lakehouse) -> list[dict]:
    return sorted(
        rows(lh, Zone.RAW, "enedis", "courbe_de_charge", columns="prm, horodate, valeur, unite, source_tz"),
        key=lambda r: r["horodate"],
    )


def per_local_day(points: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in points:  # the step ending at 00:00 belongs to the previous day
        day = (p["horodate"] - timedelta(minutes=30)).astimezone(PARIS).date().isoformat()
        out[day] = out.get(day, 0) + 1
    return out


def check_clock_changes(points: list[dict], n: int) -> None:
    stamps = [p["horodate"] for p in points]
    assert len(stamps) == len(set(stamps)) == n
    for year in (2021, 2022):  # each export: no gap, no overlap in UTC
        part = [s for s in stamps if s.year == year]
        assert all(b - a == timedelta(minutes=30) for a, b in zip(part, part[1:]))
    days = per_local_day(points)
    assert days["2021-10-31"] == 50 and days["2022-03-27"] == 46 and days["2021-10-30"] == 48


def test_enedis_load_curve_with_offsets(local_lakehouse, tmp_path):
    lh = local_lakehouse
    path = tmp_path / "Enedis_Conso_Heure_20211030-20220328_00000000000000.csv"
    n = load_curve(path, datetime(2021, 10, 29, 22, tzinfo=UTC), datetime(2021, 11, 1, 23, tzinfo=UTC))
    n += load_curve(
        tmp_path / "printemps.csv", datetime(2022, 3, 25, 23, tzinfo=UTC), datetime(2022, 3, 28, 22, tzinfo=UTC)
    )
    run = ingest_path(lh, "enedis", tmp_path)
    assert counts(run)["enedis.courbe_de_charge"] == (n, n, 0, 0)
    points = curve(lh)
    check_clock_changes(points, n)
    assert {p["prm"] for p in points} == {"00000000000000"} and {p["unite"] for p in points} == {"W"}
    assert sum(p["valeur"] is None for p in points) == 2  # the missing measures are kept, as nulls
    assert {p["source_tz"] for p in points} == {"+01:00", "+02:00"}
    again = ingest_path(lh, "enedis", tmp_path)  # a redelivery adds nothing
    assert counts(again)["enedis.courbe_de_charge"] == (n, 0, 0, n)


def test_enedis_naive_local_times_repeated_and_skipped_hours(local_lakehouse, tmp_path):
    """Local times without offset: the October hour written twice is kept twice (summer then
    winter time); a time inside the March gap does not exist and is quarantined with its line."""
    lh = local_lakehouse
    path = tmp_path / "courbe.csv"
    n = load_curve(path, datetime(2021, 10, 29, 22, tzinfo=UTC), datetime(2021, 11, 1, 23, tzinfo=UTC), naive=True)
    spring = tmp_path / "printemps.csv"
    n += load_curve(spring, datetime(2022, 3, 25, 23, tzinfo=UTC), datetime(2022, 3, 28, 22, tzinfo=UTC), naive=True)
    text = path.read_text()
    assert text.count("2021-10-31 02:30:00;") == 2 and "2022-03-27 02:30:00" not in spring.read_text()
    bad_line = len(spring.read_text().splitlines()) + 1
    with spring.open("a") as f:
        f.write("2022-03-27 02:30:00;999\n")
    run = ingest_path(lh, "enedis", tmp_path)
    assert counts(run)["enedis.courbe_de_charge"] == (n + 1, n, 1, 0)
    check_clock_changes(curve(lh), n)
    (error,) = errors(lh, "enedis", "courbe_de_charge")
    assert error["row"] == bad_line and error["errors"][0]["field"] == "horodate"
    assert "n'existe pas en heure locale Europe/Paris" in error["errors"][0]["message"]


def test_metadata_block_export_through_fichiers(local_lakehouse, tmp_path):
    """The issue's case: a load curve given to the generic connector is no longer quarantined
    whole ("2 champ(s) au lieu de 9"): header found below the block, columns typed."""
    path = tmp_path / "Enedis_Conso_Heure.csv"
    n = load_curve(path, datetime(2021, 10, 29, 22, tzinfo=UTC), datetime(2021, 11, 1, 23, tzinfo=UTC))
    run = ingest_path(local_lakehouse, "fichiers", path)
    (name,) = run.report.datasets
    assert counts(run)[name] == (n, n, 0, 0)
    got = rows(local_lakehouse, Zone.RAW, *name.split("."), columns="horodate, valeur")
    assert isinstance(got[0]["horodate"], datetime) and got[0]["horodate"].utcoffset() == timedelta(0)
    assert len({r["horodate"] for r in got}) == n


def test_opendatasoft_records_and_csv(local_lakehouse, french_exports):
    lh = local_lakehouse
    folder = french_exports.json_folder
    expected = {
        "comptages-routiers-permanents_api_v1.json": 60,
        "comptages-routiers-permanents_exports_v2.1.json": 60,
        "comptages-routiers-permanents_records_v2.1.json": 20,
    }
    assert french_exports.json_counts == expected
    for name, n in expected.items():
        run = ingest_path(lh, "opendatasoft", folder / name)
        assert counts(run)["opendatasoft.opendatasoft_records"] == (n, n, 0, 0), name
    got = rows(lh, Zone.RAW, "opendatasoft", "opendatasoft_records", columns="lat, lon, t_1h, q, k, iu_ac, recordid")
    assert len(got) == 140
    assert all(48.8 < r["lat"] < 48.9 and 2.2 < r["lon"] < 2.4 for r in got)
    assert all(isinstance(r["t_1h"], datetime) and isinstance(r["iu_ac"], int) for r in got)
    assert {type(r["k"]) for r in got if r["k"] is not None} == {float}
    missing = sum(r["q"] is None for r in french_exports.rows[:60]) * 2 + sum(
        r["q"] is None for r in french_exports.rows[:20]
    )
    assert missing > 0 and sum(r["q"] is None for r in got) == missing  # empty flows kept as nulls
    source = {(int(r["iu_ac"]), r["t_1h"]) for r in french_exports.rows[:60]}
    assert {(r["iu_ac"], r["t_1h"]) for r in got} == source  # hours read in UTC, whatever the layout
    assert len({r["recordid"] for r in got if r["recordid"] is not None}) == 60
    again = ingest_path(lh, "opendatasoft", folder / "comptages-routiers-permanents_api_v1.json")
    assert counts(again)["opendatasoft.opendatasoft_records"] == (60, 0, 0, 60)  # recordid is the key

    csv_run = ingest_path(lh, "opendatasoft", french_exports.csv.parent)
    assert counts(csv_run)["opendatasoft.paris_comptages_routiers"] == (300, 300, 0, 0)
    con = duckdb.connect()
    glob = lh.lake.dataset_glob(Zone.RAW, "opendatasoft", "paris_comptages_routiers")
    types = dict(con.execute(f"select column_name, column_type from (describe select * from '{glob}')").fetchall())
    assert types["date_et_heure_de_comptage"] == "TIMESTAMP WITH TIME ZONE"
    assert types["debit_horaire"] in ("BIGINT", "DOUBLE") and types["taux_d_occupation"] == "DOUBLE"
    assert types["lat"] == "DOUBLE" and types["geo_shape"] == "VARCHAR"
    empty, offsets = con.execute(
        f"select count(*) filter (where debit_horaire is null and taux_d_occupation is null),"
        f" count(distinct source_tz) from '{glob}'"
    ).fetchone()
    assert empty == sum(r["q"] is None for r in french_exports.rows) and offsets == 2


def test_not_a_load_curve_is_refused_in_french(local_lakehouse, tmp_path):
    path = tmp_path / "autre.csv"
    path.write_text("a;b\n" + "".join(f"{i};{i}\n" for i in range(12)))
    run = ingest_path(local_lakehouse, "enedis", path)
    (refused,) = [f for f in run.files if f.status == "rejeté"]
    assert "autre.csv : ce n'est pas une courbe de charge Enedis" in refused.message


def test_cli_detects_records_and_accepts_a_schema(tmp_path, monkeypatch, french_exports):
    """``ingest fichiers``: typed raw columns, the schema shown in French and recorded in the
    registry; ``--detecter`` prints it, ``--schema`` overrides it."""
    from orchestration.cli import cli

    monkeypatch.setenv("HYPERVISEUR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("HYPERVISEUR_S3_ENDPOINT", raising=False)
    source = tmp_path / "comptages" / "comptages.csv"
    source.parent.mkdir()
    source.write_bytes(french_exports.csv.read_bytes())
    runner = CliRunner()
    shown = runner.invoke(cli, ["ingest", "fichiers", str(source), "--detecter"])
    assert shown.exit_code == 0, shown.output
    schema = json.loads(shown.output)
    assert schema["separator"] == ";" and len(schema["columns"]) == 15

    result = runner.invoke(cli, ["ingest", "fichiers", str(source)])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "Schéma de fichiers.comptages" in out and "date et heure" in out and "300 reçues = 300 acceptées" in out
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")})
    entry = lh.registry.get("fichiers.comptages", "raw")
    assert entry.source_format["separator"] == ";" and entry.source_format["columns"][2]["type"] == "datetime"
    assert {f["name"]: f["type"] for f in entry.schema}["debit_horaire"] in ("int64", "double")

    for col in schema["columns"]:
        if col["name"] == "identifiant_arc":
            col["type"] = "text"
    override = tmp_path / "schema.json"
    override.write_text(json.dumps(schema), encoding="utf-8")
    forced = runner.invoke(cli, ["ingest", "fichiers", str(source), "--schema", str(override)])
    assert forced.exit_code == 0, forced.output
    entry = lh.registry.get("fichiers.comptages", "raw")
    assert {f["name"]: f["type"] for f in entry.schema}["identifiant_arc"] == "string"
    bad = tmp_path / "mauvais.json"
    bad.write_text('{"columns": 3}', encoding="utf-8")
    refused = runner.invoke(cli, ["ingest", "fichiers", str(source), "--schema", str(bad)])
    assert refused.exit_code != 0 and "mauvais.json : objet JSON avec une liste « columns » attendu" in refused.output


def test_context_schema_option_types_a_file(local_lakehouse, tmp_path):
    from ingestion.formats.schema import TableSchema

    path = tmp_path / "mesures.csv"
    path.write_text("code;valeur\n01004;1,5\n02408;2,5\n")
    schema = TableSchema.from_dict(
        {"columns": [{"name": "code", "type": "text"}, {"name": "valeur", "type": "decimal", "decimal": ","}]}
    )
    run = ingest_path(local_lakehouse, "fichiers", path, Context(options={"schema": schema}))
    (name,) = run.report.datasets
    got = rows(local_lakehouse, Zone.RAW, *name.split("."))
    assert [(r["code"], r["valeur"]) for r in got] == [("01004", 1.5), ("02408", 2.5)]
