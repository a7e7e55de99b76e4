"""Scan datasets of the lake and propagate levels to the registry (what the orchestrator runs)."""

from __future__ import annotations

import pyarrow as pa

from governance import proposals
from governance.catalog import curated_models, data_fingerprint, locate, raw_datasets
from governance.scan import ScanConfig, mark_changes, scan_table
from governance.state import Classifier
from lakehouse.audit import AuditLog
from lakehouse.encryption import read_parquet_blobs
from lakehouse.errors import LakehouseError


def read_sample(lh, name: str, sample_size: int):
    """A reproducible random sample (DuckDB reservoir sampling) and the total row count.

    Columns encrypted at rest are sampled by DuckDB as file and row positions only, then
    decrypted for those rows (key file needed: without it they stay out of the sample).
    """
    prefix, path, hive = locate(lh, name)
    con = lh.duckdb()
    try:
        src = f"read_parquet('{path}', hive_partitioning={'true' if hive else 'false'}, union_by_name=true, filename=true, file_row_number=true)"
        total = con.execute(f"SELECT count(*) FROM {src}").fetchone()[0]
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
        entry = lh.registry.find(name, "raw")
        hidden = [c for c in (entry.encrypted_columns if entry else []) if c in names]
        exclude = f" EXCLUDE ({', '.join(hidden)})" if hidden else ""
        table = con.execute(
            f"SELECT *{exclude} FROM {src} USING SAMPLE reservoir({int(sample_size)} ROWS) REPEATABLE (42)"
        ).to_arrow_table()
        if hidden and table.num_rows:
            table = _with_decrypted(con, lh.settings, table, hidden)
            table = table.select([c for c in names if c in table.column_names])  # original column order
    finally:
        con.close()
    drop = [c for c in ("filename", "file_row_number") + (("ingest_date",) if hive else ()) if c in table.column_names]
    return prefix, table.drop(drop), total


def _with_decrypted(con, settings, sample: pa.Table, columns: list[str]) -> pa.Table:
    """Add the encrypted ``columns`` of the sampled rows, read from their files with the key file."""
    files = sorted(set(sample.column("filename").to_pylist()))
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    blobs = con.execute(f"SELECT filename, content FROM read_blob([{listed}])").fetchall()
    try:
        parts = {f: read_parquet_blobs([(f, data)], columns=columns, settings=settings) for f, data in blobs}
    except LakehouseError:
        return sample  # no key here: the encrypted columns are not analysed
    values = {c: [] for c in columns}
    for f, row in zip(sample.column("filename").to_pylist(), sample.column("file_row_number").to_pylist()):
        for c in columns:
            values[c].append(parts[f].column(c)[row].as_py() if c in parts[f].column_names else None)
    for c in columns:
        typ = next((t.schema.field(c).type for t in parts.values() if c in t.column_names), pa.string())
        sample = sample.append_column(c, pa.array(values[c], typ))
    return sample


def scan_dataset(
    lh, name: str, config: ScanConfig = ScanConfig(), *, force: bool = False, actor: str = "system"
) -> dict:
    """Scan one dataset unless neither its schema nor its data changed since the last scan.

    A re-scan re-evaluates every column, tagged or not; columns whose proposal changed are
    flagged ``changed`` and come back into the steward's review queue.
    """
    previous = proposals.latest(lh, name)
    prefix, sample, total = read_sample(lh, name, config.sample_size)
    fp = data_fingerprint(lh, prefix)
    from governance.scan import schema_fingerprint

    if (
        previous
        and not force
        and previous.get("data_fingerprint") == fp
        and previous.get("schema_fingerprint") == schema_fingerprint(sample.schema)
    ):
        return {**previous, "skipped": True}
    proposal = mark_changes(
        scan_table(name, sample, config, rows_total=total, fingerprints={"data_fingerprint": fp}), previous
    )
    proposals.save(lh, proposal)
    AuditLog(lh).append(
        "classification.scan",
        actor,
        {
            "dataset": name,
            "level": proposal["level"],
            "sample_rows": proposal["sample_rows"],
            "tagged": {c: v["tags"] for c, v in proposal["columns"].items() if v["tags"]},
            "changed": [c for c, v in proposal["columns"].items() if v.get("changed")],
        },
    )
    return proposal


def scan_all(lh, config: ScanConfig = ScanConfig(), *, force: bool = False, actor: str = "system") -> dict[str, dict]:
    return {
        name: scan_dataset(lh, name, config, force=force, actor=actor) for name in raw_datasets(lh) + curated_models(lh)
    }


def propagate(lh, classifier: Classifier | None = None) -> dict[str, str]:
    """Effective level of every known dataset (lineage applied), written to the registry."""
    classifier = classifier or Classifier(lh)
    levels = {}
    for name in classifier.datasets():
        st = classifier.state(name)
        levels[name] = st.level
        entry = lh.registry.find(name)
        if entry is not None:
            tags = sorted({t for tags in st.column_tags.values() for t in tags})
            lh.registry.set_classification(name, entry.zone, st.level, tags, st.column_tags)
    return levels
