"""A serving connection opened as Superset opens it reads its own clearance's files and nothing else.

``superset.lockdown.lock_down`` is the code of Superset's connect hook (superset_config.py
loads the same file), applied here to read-only DuckDB connections on the three catalogs.
"""

from __future__ import annotations

import io
import os

import duckdb
import pytest

from lakehouse.duck import extension_file
from lakehouse.lake import Lake
from lakehouse.platform import Lakehouse
from superset.lockdown import LockdownError, lock_down
from tests.conftest import s3_env
from tests.governance.test_serving import _governed

CLEAR_MART = "mart_citizen_reports"


def _connect(lh, path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=True)
    lock_down(con, lh.settings.lake_url)
    return con


def _refused(con, sql: str) -> bool:
    try:
        con.execute(sql).fetchall()
    except duckdb.Error:
        return True
    return False


@pytest.fixture
def served(gov_lake):
    return gov_lake, _governed(gov_lake)


@pytest.mark.parametrize("clearance", ["public", "masked"])
def test_uncleared_connection_cannot_reach_clear_data(served, clearance):
    lh, paths = served
    con = _connect(lh, paths[clearance])
    clear_file = lh.storage.uri(Lake.curated_key(CLEAR_MART))
    other = "masked" if clearance == "public" else "public"
    attacks = [
        f"SELECT * FROM curated.{CLEAR_MART}",
        f"SUMMARIZE SELECT reporter_name FROM curated.{CLEAR_MART}",
        f"SELECT * FROM read_parquet('{clear_file}')",
        f"SELECT * FROM '{clear_file}'",
        f"SELECT * FROM parquet_scan('{clear_file}')",
        f"SELECT * FROM read_parquet('{lh.storage.uri('curated')}/*/data.parquet')",
        f"SELECT * FROM read_parquet('{lh.storage.uri(Lake.masked_key(CLEAR_MART))}/../../curated/{CLEAR_MART}/data.parquet')",
        f"SELECT * FROM glob('{lh.storage.uri('curated')}/**')",
        f"ATTACH '{paths['clear']}' AS clair (READ_ONLY)",
        f"ATTACH '{paths[other]}' AS autre (READ_ONLY)",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SET enable_external_access = true",
        "SET allowed_directories = ['/']",
        "SET lock_configuration = false",
        "INSTALL httpfs",
    ]
    if clearance == "public":
        attacks.append(f"SELECT * FROM read_parquet('{lh.storage.uri(Lake.masked_key(CLEAR_MART))}')")
    passed = [sql for sql in attacks if not _refused(con, sql)]
    assert not passed, f"{clearance} : requêtes non bloquées {passed}"
    # its own views still answer
    if clearance == "masked":
        assert con.execute(f"SELECT count(*) FROM masked.{CLEAR_MART}").fetchone()[0] == 120
    else:
        assert con.execute("SELECT count(*) FROM public.mart_air_quality_hourly").fetchone()[0] > 0
    con.close()


@pytest.mark.parametrize("clearance", ["public", "masked", "clear"])
def test_no_connection_can_write_into_the_lake(served, clearance):
    lh, paths = served
    con = _connect(lh, paths[clearance])
    own = {"public": Lake.public_key("mart_air_quality_hourly"), "masked": Lake.masked_key(CLEAR_MART)}.get(
        clearance, Lake.curated_key(CLEAR_MART)
    )
    before = lh.storage.read_bytes(own)
    targets = [
        Lake.curated_key(CLEAR_MART),
        Lake.masked_key(CLEAR_MART),
        Lake.public_key("mart_air_quality_hourly"),
        Lake.masked_key("nouveau"),
        "curated/x.csv",
        "public/x.parquet",
    ]
    attacks = [f"COPY (SELECT 1 AS a) TO '{lh.storage.uri(k)}'" for k in targets]
    attacks += [
        f"EXPLAIN ANALYZE COPY (SELECT * FROM {'public.mart_air_quality_hourly' if clearance == 'public' else 'masked.' + CLEAR_MART if clearance == 'masked' else 'curated.' + CLEAR_MART}) TO '{lh.storage.uri(Lake.masked_key(CLEAR_MART))}'",
        f"COPY (SELECT 1 AS a) TO '{paths['masked'].parent / 'x.csv'}'",
        f"COPY (SELECT 1 AS a) TO '{paths[clearance]}.tmp/x.csv'",
        f"EXPORT DATABASE '{lh.storage.uri('masked')}/export'",
    ]
    passed = [sql for sql in attacks if not _refused(con, sql)]
    assert not passed, f"{clearance} : écritures non bloquées {passed}"
    if os.geteuid() != 0:
        # DuckDB allows writing an allowed file when asked not to use a temp file: the
        # read-only folders governance leaves stop it (root ignores them: SQL allowlist then).
        sql = f"COPY (SELECT 1 AS a) TO '{lh.storage.uri(own)}' (FORMAT parquet, USE_TMP_FILE false)"
        if clearance != "clear":
            assert _refused(con, sql)
    assert lh.storage.read_bytes(own) == before
    con.close()


def test_lockdown_refuses_other_files_and_write_handles(served, tmp_path):
    lh, paths = served
    rw = duckdb.connect(str(tmp_path / "serving_masked.duckdb"))
    with pytest.raises(LockdownError):
        lock_down(rw, lh.settings.lake_url)
    rw.close()
    duckdb.connect(str(tmp_path / "autre.duckdb")).close()
    other = duckdb.connect(str(tmp_path / "autre.duckdb"), read_only=True)
    with pytest.raises(LockdownError):
        lock_down(other, lh.settings.lake_url)
    other.close()
    # a catalog whose scope points outside its zone is refused (a tampered or misplaced file)
    forged = tmp_path / "forged" / "serving_public.duckdb"
    forged.parent.mkdir()
    con = duckdb.connect(str(forged))
    con.execute("CREATE SCHEMA governance")
    con.execute("CREATE TABLE governance.scope (path VARCHAR)")
    con.execute("INSERT INTO governance.scope VALUES (?)", [lh.storage.uri(Lake.curated_key(CLEAR_MART))])
    con.close()
    con = duckdb.connect(str(forged), read_only=True)
    with pytest.raises(LockdownError):
        lock_down(con, lh.settings.lake_url)
    con.close()


@pytest.mark.s3
def test_read_only_s3_key_reads_but_cannot_write(s3_server, fresh_bucket, tmp_path, gov_env):
    """Superset's S3 key (the test server's read-only identity) cannot PUT, even where DuckDB would let it."""
    from minio import Minio
    from minio.error import S3Error

    from infra.local import services

    lh = Lakehouse.from_env(s3_env(s3_server, tmp_path / "s3data", fresh_bucket))
    paths = _governed(lh)
    env = services.env_vars()
    key, secret = env["HYPERVISEUR_TEST_S3_READONLY_ACCESS_KEY"], env["HYPERVISEUR_TEST_S3_READONLY_SECRET_KEY"]
    endpoint = s3_server["endpoint"].split("://", 1)[1]
    ro = Minio(endpoint, access_key=key, secret_key=secret, secure=False)
    try:
        ro.stat_object(fresh_bucket, Lake.masked_key(CLEAR_MART))
    except S3Error as exc:
        pytest.fail(
            f"identité S3 en lecture seule inconnue du serveur de test ({exc.code}) : il a démarré avant "
            "son ajout — l'arrêter (python infra/local/services.py stop) pour qu'il reparte avec s3.json à jour"
        )
    for k in (Lake.masked_key(CLEAR_MART), Lake.curated_key(CLEAR_MART), "masked/nouveau/data.parquet"):
        with pytest.raises(S3Error):
            ro.put_object(fresh_bucket, k, io.BytesIO(b"x"), 1)
    with pytest.raises(S3Error):
        ro.remove_object(fresh_bucket, Lake.masked_key(CLEAR_MART))
    # the DuckDB connection as Superset opens it on S3: read-only key scoped to its prefix
    s3 = {"key_id": key, "secret": secret, "region": lh.settings.s3.region, "endpoint": endpoint, "use_ssl": False}
    con = duckdb.connect(str(paths["masked"]), read_only=True)
    lock_down(con, lh.settings.lake_url, s3, [str(extension_file("httpfs"))])
    assert con.execute(f"SELECT count(*) FROM masked.{CLEAR_MART}").fetchone()[0] == 120
    clear = lh.storage.uri(Lake.curated_key(CLEAR_MART))
    assert _refused(con, f"SELECT * FROM read_parquet('{clear}')")
    assert _refused(
        con, f"COPY (SELECT 1 AS a) TO '{lh.storage.uri(Lake.masked_key(CLEAR_MART))}' (USE_TMP_FILE false)"
    )
    con.close()
