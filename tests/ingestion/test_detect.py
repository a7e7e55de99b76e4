"""Detection of layout and column types (csv-detective + the platform's French parsers), schema
files, and typing with nothing lost, on every real file of the fixtures and on the generated
OpenDataSoft exports (:mod:`french_export_samples`)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from french_export_samples import SAMPLE_NAMES

from ingestion.formats.detect import IDENTIFIERS, detect, read_typed
from ingestion.formats.errors import InputRejected
from ingestion.formats.schema import TableSchema
from ingestion.formats.values import is_null, parse_datetime, parse_number

REAL = Path(__file__).parents[1] / "fixtures" / "data" / "real"
DATA_SUFFIXES = {".csv", ".txt", ".geojson", ".json"}
REAL_FILES = sorted(
    p.relative_to(REAL).as_posix()
    for p in REAL.rglob("*")
    if p.suffix.lower() in DATA_SUFFIXES and not p.name.lower().startswith(("readme", "licen"))
)


def _number(v: str) -> bool:
    try:
        parse_number(v)
    except ValueError:
        return False
    return any(ch.isdigit() for ch in v)


def _date(v: str) -> bool:
    try:
        parse_datetime(v)
    except ValueError:
        return False
    return True


def test_every_real_format_is_covered(french_exports):
    assert len(REAL_FILES) >= 21
    for needed in ("montpellier_opendata_2014/", "meteofrance_molene_radome_2014/", "paris_dans_ma_rue/"):
        assert any(f.startswith(needed) for f in REAL_FILES), needed
    assert sorted(french_exports.files) == sorted(SAMPLE_NAMES)


def check_typed_columns(name: str, path: Path) -> None:
    """No column left as text whose sampled values are all numbers or all dates (identifiers
    such as postcodes or INSEE codes excepted); every row of the sample types without loss."""
    schema = detect(path)
    assert schema.columns and schema.rows_sampled > 0
    assert any(c.type != "text" for c in schema.columns), name
    chunk = next(read_typed(path, schema))
    assert chunk.balanced
    for col in schema.columns:
        if col.type != "text" or col.label in IDENTIFIERS:
            continue
        values = [v for v in chunk.table.column(col.name).to_pylist() if not is_null(v)]
        if not values:
            continue
        assert not all(_number(v) for v in values), f"{name} : colonne « {col.original} » laissée en texte (nombres)"
        assert not all(_date(v) for v in values), f"{name} : colonne « {col.original} » laissée en texte (dates)"


@pytest.mark.parametrize("name", REAL_FILES)
def test_real_file_gets_typed_columns(name):
    check_typed_columns(name, REAL / name)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_opendatasoft_export_gets_typed_columns(name, french_exports):
    check_typed_columns(name, french_exports.files[name])


def test_paris_road_counter_columns(french_exports):
    """The issue's case: hour, flow and occupancy of the Paris road counters are typed."""
    schema = detect(french_exports.csv)
    types = {c.original: c.type for c in schema.columns}
    assert schema.separator == ";" and schema.encoding == "utf-8"
    assert types["Date et heure de comptage"] == "datetime"
    assert types["Débit horaire"] in ("integer", "decimal") and types["Taux d'occupation"] == "decimal"
    assert types["Identifiant arc"] == "integer" and types["geo_shape"] == "geometry"
    labels = {c.original: c.label for c in schema.columns}
    assert labels["geo_point_2d"] == "latlon_wgs"
    chunks = list(read_typed(french_exports.csv, schema))
    assert all(c.balanced and not c.rejected for c in chunks)
    assert sum(c.table.num_rows for c in chunks) == len(french_exports.rows) == 300
    flows = [v for c in chunks for v in c.table.column("debit_horaire").to_pylist()]
    assert sum(v is None for v in flows) == sum(r["q"] is None for r in french_exports.rows) > 0
    stamps = [v for c in chunks for v in c.table.column("date_et_heure_de_comptage").to_pylist()]
    assert sorted(stamps) == sorted(r["t_1h"] for r in french_exports.rows)  # offsets applied, none lost


def test_french_formats_and_labels(tmp_path):
    """Decimal comma, dd/mm/yyyy, INSEE commune codes and SIRET kept as text (leading zeros)."""
    lines = ["commune;code_insee;siret;date_releve;montant;actif"]
    communes = [("Ambérieu-en-Bugey", "01004"), ("Laon", "02408"), ("Ajaccio", "2A004"), ("Paris", "75056")]
    for i in range(24):
        name, code = communes[i % 4]
        lines.append(f"{name};{code};35600000000048;{i + 1:02d}/03/2024;{i},5{i % 10};{'oui' if i % 2 else 'non'}")
    path = tmp_path / "releves.csv"
    path.write_text("\n".join(lines) + "\n", encoding="cp1252")
    schema = detect(path)
    cols = {c.name: c for c in schema.columns}
    assert schema.encoding == "cp1252"
    assert cols["code_insee"].type == "text" and cols["code_insee"].label in IDENTIFIERS
    assert cols["siret"].type == "text" and cols["siret"].label == "siret"
    assert cols["date_releve"].type == "date" and cols["date_releve"].french_format == "jj/mm/aaaa"
    assert cols["montant"].type == "decimal" and cols["montant"].decimal == ","
    assert cols["actif"].type == "boolean"


def test_metadata_block_above_the_data_block(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(
        "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Unite\n"
        "00000000000000;Courbe de charge;01/10/2021;01/11/2021;W\n\nHorodate;Valeur\n"
        + "".join(f"2021-10-01T{h:02d}:00:00+02:00;{400 + h}\n" for h in range(1, 24)),
        encoding="utf-8",
    )
    schema = detect(path)
    assert schema.header_line == 4
    assert schema.metadata == {
        "Identifiant PRM": "00000000000000",
        "Type de donnees": "Courbe de charge",
        "Date de debut": "01/10/2021",
        "Date de fin": "01/11/2021",
        "Unite": "W",
    }
    assert [(c.name, c.type) for c in schema.columns] == [("horodate", "datetime"), ("valeur", "integer")]


def test_apply_quarantines_what_does_not_parse(tmp_path):
    path = tmp_path / "mesures.csv"
    rows = [f"{i};{i},5;2024-01-{i + 1:02d}" for i in range(20)]
    rows[7] = "7;sept;2024-01-08"  # not a number
    rows[12] = "12;1,5;2024-13-45"  # not a date
    path.write_text("n;mesure;jour\n" + "\n".join(rows) + "\n9;1;2024-01-01;trop\n", encoding="utf-8")
    schema = TableSchema.from_dict(
        {
            "separator": ";",
            "columns": [
                {"name": "n", "type": "integer"},
                {"name": "mesure", "type": "decimal", "decimal": ","},
                {"name": "jour", "type": "date"},
            ],
        }
    )
    (chunk,) = list(read_typed(path, schema))
    assert chunk.rows_in == 21 and chunk.table.num_rows == 18 and chunk.balanced
    assert chunk.rejected_rows == [22, 9, 14]  # the ragged line, then rows in order
    by_row = {r.row: r for r in chunk.rejected}
    assert by_row[9].field == "mesure" and "sept" in by_row[9].reason and by_row[9].file == str(path)
    assert by_row[14].field == "jour" and by_row[14].value == "2024-13-45"
    assert by_row[22].field is None and "4 champ(s) au lieu de 3" in by_row[22].reason
    assert chunk.table.column("mesure").to_pylist()[:2] == [0.5, 1.5]


def test_schema_file_round_trip_and_french_errors(tmp_path):
    schema = detect(REAL / "paris_comptage_velo/comptage-velo-donnees-compteurs_sample.csv")
    path = tmp_path / "schema.json"
    path.write_text(schema.to_json(), encoding="utf-8")
    assert TableSchema.load(path) == schema
    bad = tmp_path / "mauvais.json"
    bad.write_text(json.dumps({"columns": [{"name": "a", "type": "nombre"}]}), encoding="utf-8")
    with pytest.raises(InputRejected, match="mauvais.json, colonne « a » : type « nombre » inconnu"):
        TableSchema.load(bad)
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(InputRejected, match="schéma JSON invalide"):
        TableSchema.load(bad)


def test_hostile_inputs_still_refused_by_detection(tmp_path, fixtures_dir):
    from lakehouse.settings import LimitsSettings

    with pytest.raises(InputRejected, match="encodages mélangés"):
        detect(fixtures_dir / "hostile" / "encodages_melanges.csv")
    endless = tmp_path / "sans_fin.csv"
    endless.write_text("a;b\n1;2\n" + "x" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(InputRejected, match="HYPERVISEUR_MAX_LINE_BYTES"):
        detect(endless, LimitsSettings(max_line_bytes=1000))
    deep = fixtures_dir / "hostile" / "imbrication_profonde.json"
    with pytest.raises(InputRejected, match="HYPERVISEUR_MAX_NESTING_DEPTH"):
        detect(deep)


def test_naive_datetime_column_is_typed(tmp_path):
    path = tmp_path / "releves.csv"
    path.write_text(
        "capteur,horodatage\n" + "".join(f"c{i},{datetime(2024, 3, 1, i).isoformat(sep=' ')}\n" for i in range(12)),
        encoding="utf-8",
    )
    cols = {c.name: c for c in detect(path).columns}
    assert cols["horodatage"].type == "datetime"
