"""The public records API (ODSQL subset) served by the portal, over real HTTP and DuckDB.

Happy paths are checked against figures computed independently from the Arrow table;
hostile parameters (SQL and path injection, unpublished columns, datasets and versions)
must get a French refusal and never any data beyond the published version.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import replace
from statistics import mean

import pyarrow as pa
import pytest

from lakehouse.audit import ensure_audit_key
from lakehouse.platform import Lakehouse
from opendata import copies, odsql
from opendata.api import PREFIX, ApiError, RecordsApi
from opendata.publish import publish
from opendata.serve import serve_in_thread
from tests.opendata.conftest import air_table, dbt_manifest, districts_table, opendata_meta, put_mart, ready

AIR, DISTRICTS, HIDDEN = "od_air_hourly", "od_reports_by_district", "od_unpublished"
ENV: dict[str, str] = {}  # the module's lakehouse environment, filled by the fixture


def _air_with_bookkeeping() -> pa.Table:
    table = air_table(48)
    return table.append_column("_batch_id", pa.array(["secret-batch"] * table.num_rows))


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    data = tmp_path_factory.mktemp("api") / "data"
    ENV.update(HYPERVISEUR_DATA_DIR=str(data), HYPERVISEUR_OPENDATA_BASE_URL="https://data.val-de-lys.example.fr/")
    lh = Lakehouse.from_env(ENV)
    ensure_audit_key(lh.settings)
    lh.storage.check()
    ready(lh, AIR, _air_with_bookkeeping())
    ready(lh, DISTRICTS, districts_table())
    put_mart(lh, HIDDEN, air_table(2))  # in the lake, never approved: refused by the gates
    meta = {**opendata_meta("Qualité de l'air horaire"), "hvd_category": "earth_observation_environment"}
    manifest = dbt_manifest(
        {
            AIR: (meta, {"no2_ugm3": "Dioxyde d'azote"}),
            DISTRICTS: (opendata_meta("Signalements par quartier", themes=("SOCI",)), {}),
            HIDDEN: (opendata_meta("Non publié"), {}),
        }
    )
    report = publish(lh, manifest=manifest)
    assert HIDDEN in report.refused
    server, url = serve_in_thread(lh)
    yield lh, url.rstrip("/")
    server.shutdown()
    server.server_close()


def _get(url: str, path: str, **params) -> tuple[int, dict, bytes]:
    target = url + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(target, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _records(url: str, dataset: str = AIR, **params) -> dict:
    status, _, body = _get(url, f"{PREFIX}/{dataset}/records", **params)
    assert status == 200, body
    return json.loads(body)


def _rows() -> list[dict]:
    return air_table(48).to_pylist()


# -- happy paths ----------------------------------------------------------------------------
def test_records_default_page_and_pagination_links(api):
    _, url = api
    doc = _records(url)
    assert doc["total_count"] == 144 and len(doc["results"]) == 10
    assert set(doc["results"][0]) == {"station_id", "observed_at", "no2_ugm3", "lat", "lon"}
    assert doc["results"][0]["observed_at"] == "2026-03-01T00:00:00+00:00"
    links = {link["rel"]: link["href"] for link in doc["links"]}
    assert set(links) == {"self", "first", "next"}
    following = urllib.parse.urlsplit(links["next"])
    assert following.path == f"{PREFIX}/{AIR}/records"
    nxt = _records(url, **dict(urllib.parse.parse_qsl(following.query)))
    assert nxt["results"][0] == _records(url, limit=1, offset=10)["results"][0]
    assert {link["rel"] for link in nxt["links"]} == {"self", "first", "prev", "next"}


def test_filter_order_and_paginate(api):
    _, url = api
    where = "no2_ugm3 > 40 and station_id in ('ST02', 'ST03') and observed_at >= date'2026-03-02'"
    doc = _records(url, where=where, order_by="no2_ugm3 desc, station_id", limit=5, offset=2)
    expected = sorted(
        (
            r
            for r in _rows()
            if r["no2_ugm3"] > 40 and r["station_id"] in ("ST02", "ST03") and r["observed_at"].day >= 2
        ),
        key=lambda r: (-r["no2_ugm3"], r["station_id"]),
    )
    assert doc["total_count"] == len(expected)
    assert [r["no2_ugm3"] for r in doc["results"]] == [r["no2_ugm3"] for r in expected[2:7]]


def test_group_by_aggregates(api):
    _, url = api
    doc = _records(
        url,
        select="station_id, count(*) as n, sum(no2_ugm3), avg(no2_ugm3) as moyenne, min(no2_ugm3), max(no2_ugm3)",
        group_by="station_id",
        order_by="moyenne desc",
    )
    assert doc["total_count"] == 3
    first = doc["results"][0]
    values = [r["no2_ugm3"] for r in _rows() if r["station_id"] == "ST03"]
    assert first["station_id"] == "ST03" and first["n"] == 48
    assert first["sum(no2_ugm3)"] == pytest.approx(sum(values))
    assert first["moyenne"] == pytest.approx(mean(values))
    assert (first["min(no2_ugm3)"], first["max(no2_ugm3)"]) == (min(values), max(values))


def test_search_and_text_functions(api):
    _, url = api
    assert _records(url, where='"st02"')["total_count"] == 48  # every text field, case-insensitive
    assert _records(url, where='startswith(station_id, "ST0") and not station_id = "ST01"')["total_count"] == 96
    assert _records(url, where='search(station_id, "%")')["total_count"] == 0  # % is a character, not a wildcard
    in_range = sum(1 for r in _rows() if 20 <= r["no2_ugm3"] < 21)
    assert _records(url, where="no2_ugm3 in [20..21[")["total_count"] == in_range == 2


def test_exports_csv_json_geojson(api):
    _, url = api
    where = {"where": "station_id = 'ST01'", "order_by": "observed_at"}
    status, headers, body = _get(url, f"{PREFIX}/{AIR}/exports/csv", **where)
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body.decode()), delimiter=";"))
    assert rows[0] == ["station_id", "observed_at", "no2_ugm3", "lat", "lon"] and len(rows) == 49
    status, _, body = _get(url, f"{PREFIX}/{AIR}/exports/json", select="station_id, no2_ugm3", **where)
    assert status == 200 and json.loads(body)[0] == {"station_id": "ST01", "no2_ugm3": 20.0}
    status, headers, body = _get(url, f"{PREFIX}/{AIR}/exports/geojson", limit=2, **where)
    doc = json.loads(body)
    assert headers["Content-Type"] == "application/geo+json" and len(doc["features"]) == 2
    assert doc["features"][0]["geometry"] == {"type": "Point", "coordinates": [2.875, 50.659]}
    districts = json.loads(_get(url, f"{PREFIX}/{DISTRICTS}/exports/geojson")[2])
    assert districts["features"][0]["geometry"]["type"] == "Polygon"


def test_catalog_dataset_and_openapi(api):
    _, url = api
    status, _, body = _get(url, PREFIX)
    assert status == 200 and {d["dataset_id"] for d in json.loads(body)["results"]} == {AIR, DISTRICTS}
    info = json.loads(_get(url, f"{PREFIX}/{AIR}")[2])
    assert [f["name"] for f in info["fields"]] == ["station_id", "observed_at", "no2_ugm3", "lat", "lon"]
    status, _, body = _get(url, "/api/openapi.json")
    spec = json.loads(body)
    assert status == 200 and spec["openapi"].startswith("3.1")
    records = spec["paths"][f"{PREFIX}/{{dataset_id}}/records"]["get"]
    assert records["parameters"][0]["schema"]["enum"] == [AIR, DISTRICTS]


# -- bounds -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params",
    [
        {"limit": "101"},
        {"limit": "-1"},
        {"limit": "10", "offset": "9995"},
        {"limit": "abc"},
        {"refine": "station_id:ST01"},
        {"version": "20260101T000000000Z"},
    ],
)
def test_out_of_bounds_or_unknown_parameters_are_refused(api, params):
    _, url = api
    status, _, body = _get(url, f"{PREFIX}/{AIR}/records", **params)
    assert status == 400
    assert json.loads(body)["error_code"] == "InvalidRESTParameterError"


def test_repeated_parameter_is_refused(api):
    _, url = api
    status, _, body = _get(url, f"{PREFIX}/{AIR}/records?limit=1&limit=2")
    assert status == 400 and "répété" in json.loads(body)["message"]


# -- hostile parameters ----------------------------------------------------------------------
INJECTIONS = [
    {"where": "1=1; DROP TABLE x"},
    {"where": "no2_ugm3 > 0) UNION SELECT * FROM read_csv('/etc/passwd') --"},
    {"where": "station_id = 'x' OR 1=1 --"},
    {"select": "read_parquet('/etc/passwd')"},
    {"select": "* FROM read_csv_auto('/etc/passwd') --"},
    {"select": "_batch_id"},  # lake bookkeeping: never published
    {"select": "`no2_ugm3\" FROM read_csv('/etc/passwd') --`"},
    {"select": "getenv('HOME')"},
    {"select": "count(*) as `x`, sum(station_id)"},
    {"where": "_batch_id = 'secret-batch'"},
    {"where": "query_table('od_unpublished') is null"},
    {"group_by": "station_id; SELECT 1"},
    {"order_by": "(SELECT 1)"},
    {"order_by": "station_id; DROP"},
    {"where": 'no2_ugm3 = "abc"'},  # a value of the wrong type
]


@pytest.mark.parametrize("params", INJECTIONS)
def test_injection_attempts_are_refused(api, params):
    _, url = api
    status, _, body = _get(url, f"{PREFIX}/{AIR}/records", **params)
    assert status == 400, body
    doc = json.loads(body)
    assert doc["error_code"] == "ODSQLError" and doc["message"]
    assert "root:" not in body.decode() and "secret-batch" not in body.decode()


def test_quoted_values_stay_values(api):
    _, url = api
    assert _records(url, where="station_id = \"x' OR '1'='1\"")["total_count"] == 0
    assert _records(url, where="station_id = 'ST01\\' OR station_id != \\'x'")["total_count"] == 0


@pytest.mark.parametrize(
    "path,status",
    [
        (f"{PREFIX}/{HIDDEN}/records", 404),  # in the lake, refused by the gates
        (f"{PREFIX}/OD_AIR_HOURLY/records", 404),
        (f"{PREFIX}/{AIR}%2F..%2F{HIDDEN}/records", 400),
        (f"{PREFIX}/../../{AIR}/records", 400),
        (f"{PREFIX}/{AIR}/records/..", 400),
        (f"{PREFIX}/{AIR}/exports/parquet", 404),
        (f"{PREFIX}/{AIR}/exports/..%2F..%2Fcurated", 400),
        (f"{PREFIX}/{AIR}/20260101T000000000Z/records", 404),
        (f"{PREFIX}/{AIR};select%201/records", 404),
    ],
)
def test_path_injection_reaches_nothing_unpublished(api, path, status):
    _, url = api
    got, _, body = _get(url, path)
    assert got == status
    assert b"station_id" not in body


def test_duckdb_is_sandboxed_locked_and_bounded(api):
    """Defence in depth below the parser: even raw SQL on the API's database reads no other file."""
    import duckdb

    lh, _ = api
    records = RecordsApi(lh, "http://127.0.0.1/")
    con = records.connection()
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0].replace(" ", "") in ("488.2MiB", "512MB")
    with pytest.raises(duckdb.Error):
        con.execute("SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(duckdb.Error):
        con.execute("SELECT * FROM read_parquet(?)", [lh.storage.uri(f"curated/{HIDDEN}/data.parquet")])
    with pytest.raises(duckdb.Error):
        con.execute("SET enable_external_access=true")
    with pytest.raises(duckdb.Error):  # only the copies of published versions may be attached
        con.execute(f"ATTACH '{lh.settings.warehouse_db}' AS w (READ_ONLY)")


def test_slow_query_is_interrupted(api):
    lh, _ = api
    records = RecordsApi(lh, "http://127.0.0.1/")
    records.settings = replace(records.settings, api_timeout_s=0.2)
    with pytest.raises(ApiError) as caught:
        records._run("SELECT count(*) FROM range(1000000000000) t(i) WHERE i % 7 = 3", [], lambda c: c.fetchone())
    assert caught.value.status == 503 and "HYPERVISEUR_OPENDATA_API_TIMEOUT_S" in caught.value.message


def test_rate_limit_per_client(api):
    lh, _ = api
    limited = Lakehouse.from_env({**ENV, "HYPERVISEUR_OPENDATA_API_RATE_PER_MINUTE": "3"})
    assert limited.settings.opendata.api_rate_per_minute == 3
    records = RecordsApi(limited, "http://127.0.0.1/")
    path = f"{PREFIX}/{AIR}/records"
    assert [records.handle(path, "limit=1", "10.0.0.1").status for _ in range(4)] == [200, 200, 200, 429]
    refused = records.handle(path, "limit=1", "10.0.0.1")
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    assert records.handle(path, "limit=1", "10.0.0.2").status == 200  # another client


# -- local copies of the published versions -----------------------------------------------
def _wait_for_copy(records: RecordsApi, dataset: str) -> str:
    manifest = records.manifest(dataset)
    parquet = next(f for f in manifest["files"] if f["format"] == "parquet")
    assert records.copies.wait(dataset, manifest["version"], records.lh.storage.uri(parquet["key"]))
    assert "read_parquet" not in records._compile(manifest, {}).sql
    return manifest["version"]


def test_the_local_copy_answers_like_the_parquet(api):
    lh, _ = api
    server, url = serve_in_thread(lh)
    try:
        for dataset in (AIR, DISTRICTS):
            _wait_for_copy(server.api, dataset)
        on_copy = (lh, url.rstrip("/"))
        test_records_default_page_and_pagination_links(on_copy)
        test_filter_order_and_paginate(on_copy)
        test_group_by_aggregates(on_copy)
        test_search_and_text_functions(on_copy)
        test_exports_csv_json_geojson(on_copy)
        test_quoted_values_stay_values(on_copy)
        for params in INJECTIONS:
            test_injection_attempts_are_refused(on_copy, params)
        grouped = {
            "select": "station_id, count(*), count(lat), sum(no2_ugm3), avg(no2_ugm3) as m, min(observed_at), max(lon)",
            "group_by": "station_id",
            "order_by": "m desc",
        }
        manifest = server.api.manifest(AIR)
        assert "rollup_" in server.api._compile(manifest, grouped).sql  # one row per station, precomputed
        everything = {**grouped, "where": "station_id is null or station_id is not null"}
        assert "rollup_" not in server.api._compile(manifest, everything).sql
        from_rollup, from_rows = (_records(on_copy[1], **params) for params in (grouped, everything))
        assert from_rollup["total_count"] == from_rows["total_count"] == 3
        for float_sum in ("m", "sum(no2_ugm3)"):  # sums in another order: the last bits may differ
            expected = [r.pop(float_sum) for r in from_rows["results"]]
            assert [r.pop(float_sum) for r in from_rollup["results"]] == pytest.approx(expected)
        assert from_rollup["results"] == from_rows["results"]
    finally:
        server.shutdown()
        server.server_close()


def test_a_new_published_version_gets_a_new_copy_and_the_old_one_goes(tmp_path):
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")})
    ensure_audit_key(lh.settings)
    lh.storage.check()
    models = dbt_manifest({AIR: (opendata_meta("Qualité de l'air horaire"), {})})
    records = RecordsApi(lh, "http://127.0.0.1/")

    def total() -> int:
        return json.loads(records.handle(f"{PREFIX}/{AIR}/records", "limit=0", "10.0.0.1").body)["total_count"]

    ready(lh, AIR, air_table(2))
    publish(lh, manifest=models)
    first = _wait_for_copy(records, AIR)
    assert total() == 6
    ready(lh, AIR, air_table(3))
    publish(lh, manifest=models)
    assert total() == 9  # the new version at once (its Parquet, while its copy is built)
    second = _wait_for_copy(records, AIR)
    assert second != first and total() == 9
    assert [f.name for f in copies.folder(lh.settings).iterdir()] == [f"{AIR}-{second}.duckdb"]


# -- compiler ---------------------------------------------------------------------------------
def test_compiled_sql_carries_values_as_parameters_only():
    q = odsql.compile_query(
        {"station_id": "VARCHAR", "no2_ugm3": "DOUBLE"},
        "read_parquet('/lake/x.parquet')",
        where='station_id = "\'; DROP TABLE t; --" and no2_ugm3 >= 1e3',
        order_by="no2_ugm3 desc",
    )
    assert "DROP" not in q.sql and q.params == ["'; DROP TABLE t; --", 1000.0]
    assert q.sql == (
        'SELECT "station_id" AS "station_id", "no2_ugm3" AS "no2_ugm3" FROM read_parquet(\'/lake/x.parquet\') '
        'WHERE (("station_id" = ?) AND ("no2_ugm3" >= ?)) ORDER BY "no2_ugm3" DESC NULLS LAST'
    )


def test_a_rollup_answers_only_a_grouping_on_its_column_without_where():
    columns = {"station_id": "VARCHAR", "no2_ugm3": "DOUBLE"}
    asked = {"select": "station_id, count(*) as n, avg(no2_ugm3) as m", "order_by": "m desc"}
    rollups = {"station_id": "r_station"}
    q = odsql.compile_query(columns, "records", group_by="station_id", rollups=rollups, **asked)
    assert q.sql == (
        'SELECT "station_id" AS "station_id", "count(*)" AS "n", CASE WHEN "count(no2_ugm3)" = 0 THEN NULL '
        'ELSE "sum(no2_ugm3)" / "count(no2_ugm3)" END AS "m" FROM r_station ORDER BY "m" DESC NULLS LAST'
    )
    for other in ({"group_by": "station_id", "where": "no2_ugm3 > 1"}, {"group_by": "station_id, no2_ugm3"}):
        q = odsql.compile_query(columns, "records", rollups=rollups, **{**asked, **other})
        assert "r_station" not in q.sql and "FROM records" in q.sql and " GROUP BY " in q.sql
