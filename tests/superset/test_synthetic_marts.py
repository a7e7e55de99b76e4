"""The synthetic serving catalog keeps the real marts' columns, so Superset tests catch real breakage."""

from __future__ import annotations

import duckdb
import synthetic_marts
import yaml

from superset.service import ROOT

MARTS = ROOT / "dbt_project" / "models" / "marts"


def dbt_columns() -> dict[str, list[str]]:
    """Columns of every mart, in order, as the dbt documentation lists them."""
    out = {}
    for path in MARTS.glob("*/_*.yml"):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
            out[model["name"]] = [c["name"] for c in model.get("columns", [])]
    return out


def test_synthetic_marts_have_the_dbt_marts_columns(tmp_path):
    synthetic_marts.build(tmp_path / "lake", tmp_path / "serving", hours=48)
    con = duckdb.connect(str(tmp_path / "serving" / "serving_clear.duckdb"), read_only=True)
    try:
        synthetic = {
            m: [r[0] for r in con.execute(f"DESCRIBE curated.{m}").fetchall()] for m in synthetic_marts.mart_queries()
        }
    finally:
        con.close()
    documented = dbt_columns()
    assert set(synthetic) == {m for m in documented if m.startswith("mart_")}
    for mart, columns in synthetic.items():
        assert columns == documented[mart], f"{mart} : colonnes synthétiques ≠ colonnes dbt"
