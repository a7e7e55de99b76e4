"""`hyperviseur run`: the main job on the configured lake (the embedded demo by default)."""

from __future__ import annotations

from datetime import datetime, timezone

import click
import pyarrow as pa

from lakehouse.lake import Zone
from orchestration.cli.common import console, french_errors, lakehouse


@click.command()
@french_errors
def run() -> None:
    """Exécuter la chaîne complète sur le territoire de démonstration."""
    lh = lakehouse()
    smoke = pa.table({
        "check": ["écriture", "lecture"],
        "at": pa.array([datetime.now(timezone.utc)] * 2, pa.timestamp("us", tz="UTC")),
    })
    manifest = lh.lake.write_batch(Zone.RAW, "platform", "smoke", smoke, origin="hyperviseur run")
    con = lh.duckdb()
    rows = con.execute(
        f"SELECT count(*) FROM read_parquet('{lh.lake.dataset_glob(Zone.RAW, 'platform', 'smoke')}')"
    ).fetchone()[0]
    console.print(f"Lac : [bold]{lh.settings.lake_url}[/] ({lh.settings.backend})")
    console.print(f"Lot {manifest.batch_id} écrit : {lh.storage.uri(manifest.key)} ({manifest.rows} lignes)")
    console.print(f"Relu par DuckDB : {rows} ligne(s) dans raw/platform/smoke")
