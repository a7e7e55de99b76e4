"""Scan datasets of the lake and propagate levels to the registry (what the orchestrator runs)."""

from __future__ import annotations

from governance import proposals
from lakehouse.audit import AuditLog
from governance.catalog import curated_models, data_fingerprint, locate, raw_datasets
from governance.scan import ScanConfig, mark_changes, scan_table
from governance.state import Classifier


def read_sample(lh, name: str, sample_size: int):
    """A reproducible random sample (DuckDB reservoir sampling) and the total row count."""
    prefix, path, hive = locate(lh, name)
    con = lh.duckdb()
    try:
        src = f"read_parquet('{path}', hive_partitioning={'true' if hive else 'false'}, union_by_name=true)"
        total = con.execute(f"SELECT count(*) FROM {src}").fetchone()[0]
        table = con.execute(f"SELECT * FROM {src} USING SAMPLE reservoir({int(sample_size)} ROWS) REPEATABLE (42)").to_arrow_table()
    finally:
        con.close()
    if "ingest_date" in table.column_names and hive:
        table = table.drop(["ingest_date"])
    return prefix, table, total


def scan_dataset(lh, name: str, config: ScanConfig = ScanConfig(), *, force: bool = False, actor: str = "system") -> dict:
    """Scan one dataset unless neither its schema nor its data changed since the last scan.

    A re-scan re-evaluates every column, tagged or not; columns whose proposal changed are
    flagged ``changed`` and come back into the steward's review queue.
    """
    previous = proposals.latest(lh, name)
    prefix, sample, total = read_sample(lh, name, config.sample_size)
    fp = data_fingerprint(lh, prefix)
    from governance.scan import schema_fingerprint

    if (previous and not force and previous.get("data_fingerprint") == fp
            and previous.get("schema_fingerprint") == schema_fingerprint(sample.schema)):
        return {**previous, "skipped": True}
    proposal = mark_changes(scan_table(name, sample, config, rows_total=total, fingerprints={"data_fingerprint": fp}), previous)
    proposals.save(lh, proposal)
    AuditLog(lh).append("classification.scan", actor, {
        "dataset": name, "level": proposal["level"], "sample_rows": proposal["sample_rows"],
        "tagged": {c: v["tags"] for c, v in proposal["columns"].items() if v["tags"]},
        "changed": [c for c, v in proposal["columns"].items() if v.get("changed")],
    })
    return proposal


def scan_all(lh, config: ScanConfig = ScanConfig(), *, force: bool = False, actor: str = "system") -> dict[str, dict]:
    return {name: scan_dataset(lh, name, config, force=force, actor=actor) for name in raw_datasets(lh) + curated_models(lh)}


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
