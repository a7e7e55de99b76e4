"""Zone writes: content-derived batch ids, manifests written last, DuckDB reads on both backends."""

from datetime import date

import pyarrow as pa
import pytest

from lakehouse.errors import LakehouseError
from lakehouse.lake import Zone, content_id
from lakehouse.registry import DatasetEntry


def _table(n=1000, offset=0):
    return pa.table(
        {
            "sensor": [f"s{i % 7}" for i in range(offset, offset + n)],
            "value": [float(i) for i in range(offset, offset + n)],
        }
    )


def test_batch_layout_and_manifest(lakehouse):
    m = lakehouse.lake.write_batch(Zone.RAW, "iot", "air", _table(), origin="file.csv", ingest_date=date(2026, 3, 1))
    assert m.key == f"raw/iot/air/ingest_date=2026-03-01/{m.batch_id}.parquet"
    assert m.rows == 1000 and m.bytes > 0 and len(m.checksum) == 64
    assert [f["name"] for f in m.schema] == ["sensor", "value", "_batch_id", "_ingested_at", "_source"]
    stored = lakehouse.lake.read_manifest(Zone.RAW, "iot", "air", m.batch_id)
    assert stored == m
    import hashlib

    assert hashlib.sha256(lakehouse.storage.read_bytes(m.key)).hexdigest() == m.checksum
    t = lakehouse.lake.read_table(m.key)
    assert t.num_rows == 1000
    assert set(t.column("_batch_id").to_pylist()) == {m.batch_id}
    assert set(t.column("_source").to_pylist()) == {"file.csv"}


def test_retry_overwrites_never_duplicates(lakehouse):
    lake = lakehouse.lake
    first = lake.write_batch(Zone.RAW, "iot", "air", _table(), origin="a", ingest_date=date(2026, 3, 1))
    # A retry the next day with the same rows lands on the same object.
    again = lake.write_batch(Zone.RAW, "iot", "air", _table(), origin="a", ingest_date=date(2026, 3, 2))
    assert again.batch_id == first.batch_id and again.key == first.key
    other = lake.write_batch(Zone.RAW, "iot", "air", _table(offset=5), origin="a")
    assert other.batch_id != first.batch_id
    keys = [o.key for o in lakehouse.storage.list("raw/iot/air/")]
    assert keys == sorted([first.key, other.key])
    assert len(lake.manifests(Zone.RAW, "iot", "air")) == 2


def test_content_id_is_stable_and_sensitive():
    assert content_id(_table()) == content_id(_table())
    assert content_id(_table()) != content_id(_table(offset=1))
    assert content_id(_table()) != content_id(_table().rename_columns(["sensor", "val"]))


@pytest.mark.parametrize("bad", ["", "a/b", ".hidden"])
def test_invalid_dataset_names(local_lakehouse, bad):
    with pytest.raises(LakehouseError):
        local_lakehouse.lake.write_batch(Zone.RAW, "iot", bad, _table(), origin="x")


def test_duckdb_reads_lake_on_both_backends(lakehouse):
    lake = lakehouse.lake
    lake.write_batch(Zone.RAW, "iot", "air", _table(1000), origin="a", ingest_date=date(2026, 3, 1))
    lake.write_batch(Zone.RAW, "iot", "air", _table(500, offset=1000), origin="b", ingest_date=date(2026, 3, 2))
    con = lakehouse.duckdb()
    glob = lake.dataset_glob(Zone.RAW, "iot", "air")
    assert glob.startswith("s3://" if lakehouse.settings.backend == "s3" else "/")
    rows = con.execute(
        f"SELECT ingest_date, count(*), sum(value) FROM read_parquet('{glob}', hive_partitioning=true) "
        "GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert [(str(d), n) for d, n, _ in rows] == [("2026-03-01", 1000), ("2026-03-02", 500)]
    assert sum(r[2] for r in rows) == sum(range(1500))


def test_duckdb_writes_curated_parquet(lakehouse):
    con = lakehouse.duckdb()
    target = lakehouse.storage.uri("curated/demo/data.parquet")
    if lakehouse.settings.backend == "local":
        (lakehouse.settings.lake_dir / "curated/demo").mkdir(parents=True)
    con.execute(f"COPY (SELECT range AS i FROM range(10000)) TO '{target}' (FORMAT parquet)")
    assert lakehouse.storage.exists("curated/demo/data.parquet")
    assert lakehouse.lake.read_table("curated/demo/data.parquet").num_rows == 10000


def test_extensions_load_from_pip_packages_without_network(local_lakehouse, tmp_path):
    from lakehouse import duck

    con = local_lakehouse.duckdb(extensions=duck.SPATIAL)
    loaded = dict(
        con.execute(
            "SELECT extension_name, loaded FROM duckdb_extensions() WHERE extension_name IN ('httpfs','spatial')"
        ).fetchall()
    )
    assert loaded == {"httpfs": False, "spatial": True}  # httpfs only for a lake on S3
    assert con.execute("SELECT ST_AsText(ST_Point(2.35, 48.85))").fetchone()[0] == "POINT (2.35 48.85)"
    folder = duck.extension_directory(tmp_path / "ext")
    import duckdb

    offline = duckdb.connect(
        config={"extension_directory": str(folder), "custom_extension_repository": "http://127.0.0.1:9/"}
    )
    offline.execute("INSTALL spatial")  # found locally: the unreachable repository is never asked
    offline.execute("LOAD spatial")


def test_registry_keeps_governance_fields(lakehouse):
    reg = lakehouse.registry
    entry = DatasetEntry(name="iot.air", zone="raw", path="raw/iot/air/", owner_service="environnement")
    reg.register(entry, schema=_table().schema)
    reg.set_classification(
        "iot.air", "raw", "CONFIDENTIEL", tags=["PII.Sensitive"], column_tags={"sensor": ["PII.Sensitive"]}
    )
    reg.register(
        DatasetEntry(
            name="iot.air", zone="raw", path="raw/iot/air/", owner_service="environnement", description="mise à jour"
        )
    )
    got = reg.get("iot.air")
    assert got.level == "CONFIDENTIEL" and got.column_tags == {"sensor": ["PII.Sensitive"]}
    assert got.description == "mise à jour"
    assert [c["name"] for c in got.schema] == ["sensor", "value"]
    assert [e.name for e in reg.list("raw")] == ["iot.air"]
    with pytest.raises(LakehouseError):
        reg.set_classification("iot.air", "raw", "SECRET")
    with pytest.raises(LakehouseError):
        reg.get("inconnu")
