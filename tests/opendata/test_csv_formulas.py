"""Spreadsheet formulas in a published dataset: neutralised in the CSV, kept as published elsewhere."""

from __future__ import annotations

import csv
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opendata.publish import publish
from tests.opendata.conftest import dbt_manifest, opendata_meta, ready

NAME = "od_formulas"
LABELS = [
    '=HYPERLINK("http://x","y")',
    "=cmd|' /C calc'!A0",
    "+33 6 12 34 56 78",
    "-1+2",
    "@SUM(A1:A2)",
    "\tTAB",
    "\rCR",
    "Station du Centre",
]
VALUES = [-3.5, 2.0, -0.25, 1.0, -7.0, 3.0, 4.0, 5.5]


@pytest.mark.usefixtures("portal_env")
def test_csv_cells_starting_a_formula_are_quoted_and_other_formats_keep_the_value(local_lakehouse):
    lh = local_lakehouse
    lh.storage.check()
    table = pa.table({"label": LABELS, "value": pa.array(VALUES, pa.float64())})
    ready(lh, NAME, table)
    report = publish(lh, manifest=dbt_manifest({NAME: (opendata_meta("Libellés hostiles"), {})}))
    assert NAME in report.published, report.refused
    files = {
        f["format"]: lh.storage.read_bytes(f["latest_key"])
        for f in lh.lake.read_json(f"opendata/{NAME}/latest/manifest.json")["files"]
    }

    rows = list(csv.DictReader(io.StringIO(files["csv"].decode("utf-8"), newline="")))
    assert [r["label"] for r in rows] == ["'" + v for v in LABELS[:-1]] + [LABELS[-1]]
    assert [float(r["value"]) for r in rows] == VALUES  # numbers stay numbers, -3.5 unquoted
    assert rows[0]["value"] == "-3.5"

    assert pq.read_table(io.BytesIO(files["parquet"])).column("label").to_pylist() == LABELS
    assert [r["label"] for r in json.loads(files["json"])] == LABELS
