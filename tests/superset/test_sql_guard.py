"""Unit tests of ``superset/sql_guard.py`` (no Superset needed).

The guard runs inside ``.venv-superset``, whose sqlglot may differ from the platform's: the
verdicts are checked here with the platform's sqlglot, then the same table is replayed in
``.venv-superset`` (the runtime) through a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import duckdb
import pytest

from superset import sql_guard
from superset.sql_guard import ForbiddenStatement, apply_limits, guard

ROOT = Path(__file__).resolve().parents[2]
SUPERSET_PYTHON = ROOT / ".venv-superset" / "bin" / "python"

ALLOWED = [
    "SELECT 4242 AS marqueur_audit",
    "SELECT service, count(*) AS n FROM masked.mart_citizen_reports GROUP BY service",
    "SELECT DATE_TRUNC('day', hour_start) AS hour_start, AVG(value_ugm3) AS \"AVG(value_ugm3)\" "
    "FROM masked.mart_air_quality_hourly WHERE hour_start >= CAST('2026-03-01T00:00:00' AS TIMESTAMP) "
    "GROUP BY DATE_TRUNC('day', hour_start) ORDER BY \"AVG(value_ugm3)\" DESC LIMIT 10000",
    "WITH t AS (SELECT district_id, sum(vehicle_count) AS v FROM masked.mart_traffic_hourly GROUP BY 1) "
    "SELECT * FROM t ORDER BY v DESC LIMIT 10",
    "SELECT a.district_id FROM masked.mart_citizen_reports AS a JOIN public.mart_water_night_flow AS b "
    "ON a.district_id = b.district_id UNION ALL SELECT 'x'",
    "SELECT * FROM (SELECT * FROM masked.mart_citizen_reports WHERE service = 'eau') AS mart_citizen_reports",
    "SELECT x FROM (VALUES (1), (2)) AS v(x)",
    "SELECT station_id, row_number() OVER (PARTITION BY station_id ORDER BY hour_start DESC) AS rn "
    "FROM masked.mart_air_quality_hourly QUALIFY rn = 1",
    "SELECT count(*) FILTER (WHERE is_closed) AS c, percentile_cont(0.5) WITHIN GROUP (ORDER BY resolution_hours) AS p, "
    "strftime(created_at, '%Y-%m') AS m, extract(year FROM created_at) AS y, "
    "CASE WHEN status = 'open' THEN 1 ELSE 0 END AS k, round(avg(lat), 2) AS r, coalesce(max(lat), 0) AS z "
    "FROM masked.mart_citizen_reports GROUP BY ALL",
    "SELECT district_id, COUNT(*) AS count FROM masked.mart_citizen_reports WHERE local_date >= '2026-03-01' "
    "AND category IN ('eau', 'voirie') AND description NOT LIKE '%x%' AND lat IS NOT NULL "
    "GROUP BY district_id HAVING COUNT(*) > 1 ORDER BY count DESC NULLS LAST",
    "SELECT hour_start - INTERVAL 1 DAY, CAST(hour_start AS DATE), hour_start::DATE FROM masked.mart_air_quality_hourly",
    "SELECT * FROM masked.mart_citizen_reports LIMIT 100 OFFSET 10",
]

# (statement, words expected in the refusal)
REFUSED = [
    ("SUMMARIZE SELECT reporter_name, reporter_phone FROM curated.mart_citizen_reports", "SUMMARIZE"),
    ("SUMMARIZE '/lake/curated/mart_citizen_reports/data.parquet'", "SUMMARIZE"),
    ("PIVOT curated.mart_citizen_reports ON service USING count(*) GROUP BY reporter_name", "PIVOT"),
    ("UNPIVOT (SELECT reporter_name FROM curated.mart_citizen_reports) ON COLUMNS(*) INTO NAME k VALUE v", "PIVOT"),
    ("SELECT * FROM masked.mart_citizen_reports PIVOT (count(*) FOR service IN ('eau'))", "PIVOT"),
    ("EXPLAIN ANALYZE COPY (SELECT 1) TO '/lake/curated/x.parquet'", "EXPLAIN"),
    ("EXPLAIN SELECT 1", "EXPLAIN"),
    ("DESCRIBE masked.mart_citizen_reports", "DESCRIBE"),
    ("SHOW TABLES", "SHOW"),
    ("PRAGMA database_list", "PRAGMA"),
    ("CALL duckdb_settings()", "CALL"),
    ("SET enable_external_access = true", "SET"),
    ("RESET threads", "RESET"),
    ("ATTACH ':memory:' AS x", "ATTACH"),
    ("COPY (SELECT 1) TO '/tmp/x.csv'", "COPY"),
    ("EXPORT DATABASE '/tmp/x'", "EXPORT|illisible"),
    ("INSTALL httpfs", "INSTALL"),
    ("LOAD httpfs", "LOAD"),
    ("CREATE TABLE masked.x AS SELECT 1", "CREATE"),
    ("CREATE MACRO m() AS TABLE SELECT 1", "CREATE"),
    ("DROP VIEW masked.mart_citizen_reports", "DROP"),
    ("PREPARE p AS SELECT 1", "PREPARE"),
    ("EXECUTE p", "EXECUTE"),
    ("CHECKPOINT", "CHECKPOINT"),
    ("VACUUM", "VACUUM"),
    ("VALUES (1)", "VALUES"),
    ("SELECT 1; SELECT 2", "une seule instruction"),
    ("SELECT * FROM '/lake/curated/mart_citizen_reports/data.parquet'", "nom de table|source"),
    ("SELECT * FROM read_parquet('/lake/curated/x/data.parquet')", "read_parquet"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ("SELECT * FROM glob('/lake/**')", "glob"),
    ("SELECT * FROM query('SELECT 1')", "query"),
    ("SELECT * FROM query_table('curated.mart_citizen_reports')", "query_table"),
    ("SELECT (SELECT max(x) FROM read_text('/etc/hostname')) AS y", "read_text"),
    ("SELECT current_setting('allowed_directories')", "current_setting"),
    ("SELECT getenv('HOME')", "getenv"),
    ("SELECT * FROM duckdb_tables()", "duckdb_tables"),
    ("SELECT sql FROM duckdb_views()", "duckdb_views"),
    ("SELECT * FROM information_schema.tables", "système"),
    ("SELECT * FROM pg_catalog.pg_tables", "système"),
    ("SELECT * FROM masked.duckdb_settings", "système"),
    ("SELECT * FROM serving.curated.mart_citizen_reports", "base"),
    ("SELECT * FROM system.main.duckdb_settings", "base"),
    ("SELECT * FROM mart_citizen_reports", "sans schéma"),
    ('SELECT * FROM "curated.mart_citizen_reports"', "nom de table"),
    ("SELECT * FROM CURATED.MART_CITIZEN_REPORTS", "nom de table"),
    ("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r", "récursive"),
    ("SELECT count(*) FROM range(1000000000000)", "range"),
    ("SELECT count(*) FROM generate_series(1, 10)", "generate_series"),
    ("SELECT range(10) AS x", "range"),
    ("SELECT unnest([1, 2]) AS x", "unnest"),
    ("SELECT repeat('x', 2000000000)", "repeat"),
    ("SELECT COLUMNS('reporter.*') FROM curated.mart_citizen_reports", "columns"),
    ("SELECT * FROM masked.a AS m, LATERAL (SELECT 1) AS c", "LATERAL"),
    ("SELECT * FROM masked.mart_citizen_reports TABLESAMPLE 10%", "TABLESAMPLE"),
    ("SELECT * FROM main.read_parquet('/x')", "source|syntaxe|autoris"),
    ("DELETE FROM masked.mart_citizen_reports", "DELETE"),
    ("not sql at all ((", "illisible"),
]

CAPPED = [
    ("SELECT * FROM masked.t", "SELECT * FROM masked.t LIMIT 500"),
    ("SELECT * FROM masked.t LIMIT 100000", "SELECT * FROM masked.t LIMIT 500"),
    ("SELECT * FROM masked.t LIMIT 10", "SELECT * FROM masked.t LIMIT 10"),
    ("SELECT * FROM masked.t LIMIT (SELECT 100000)", "SELECT * FROM masked.t LIMIT 500"),
    ("SELECT 1 UNION ALL SELECT 2", "SELECT * FROM (SELECT 1 UNION ALL SELECT 2) AS hv_capped LIMIT 500"),
    (
        "(SELECT * FROM masked.t LIMIT 100000)",
        "SELECT * FROM (SELECT * FROM masked.t LIMIT 100000) AS hv_capped LIMIT 500",
    ),
]
CAP_REFUSED = [
    "SELECT * FROM masked.t LIMIT 500 OFFSET 500",
    "SELECT * FROM masked.t OFFSET 4000",
    "SELECT * FROM (SELECT * FROM masked.t LIMIT 500 OFFSET 4000) AS t",
    "SELECT * FROM masked.t FETCH FIRST 100000 ROWS ONLY",
]


@pytest.mark.parametrize("sql", ALLOWED)
def test_plain_reads_are_allowed(sql):
    out = guard(sql)
    assert guard(out) == out  # the regenerated statement passes again, unchanged


@pytest.mark.parametrize(("sql", "expected"), REFUSED)
def test_anything_off_the_allowlist_is_refused(sql, expected):
    with pytest.raises(ForbiddenStatement) as info:
        guard(sql)
    message = str(info.value).lower()
    assert any(word.lower() in message for word in expected.split("|")), message


@pytest.mark.parametrize(("sql", "capped"), CAPPED)
def test_non_admin_results_are_capped(sql, capped):
    assert guard(sql, row_cap=500) == capped


@pytest.mark.parametrize("sql", CAP_REFUSED)
def test_paging_past_the_cap_is_refused(sql):
    with pytest.raises(ForbiddenStatement):
        guard(sql, row_cap=500)
    guard(sql.replace("FETCH FIRST 100000 ROWS ONLY", "LIMIT 10"))  # admins: no cap


def test_regenerated_sql_drops_comments():
    """The statement run is the checked tree: a comment cannot smuggle text past the guard."""
    out = guard("SELECT 1 AS x -- */ COPY (SELECT 1) TO '/tmp/x.csv'\n")
    assert "COPY" not in out and out == "SELECT 1 AS x"


def test_relations_must_match_superset_extraction(monkeypatch):
    monkeypatch.setattr(sql_guard, "_superset_tables", lambda tree: {(None, "masked", "other")})
    with pytest.raises(ForbiddenStatement, match="ambiguës"):
        guard("SELECT * FROM masked.mart_citizen_reports")


def test_verdicts_hold_with_the_runtime_sqlglot():
    """Replay every case in .venv-superset (Superset's sqlglot, Superset's table extraction)."""
    if not SUPERSET_PYTHON.exists():
        pytest.fail(".venv-superset absent : « make test » le construit (make superset-env)")
    script = """
import json, sys, importlib.util
spec = importlib.util.spec_from_file_location("g", sys.argv[1])
g = importlib.util.module_from_spec(spec); spec.loader.exec_module(g)
out = []
for sql, cap in json.loads(sys.stdin.read()):
    try:
        out.append(["ok", g.guard(sql, row_cap=cap)])
    except g.ForbiddenStatement as exc:
        out.append(["refused", str(exc)])
print(json.dumps(out))
"""
    cases = (
        [(s, None) for s in ALLOWED]
        + [(s, None) for s, _ in REFUSED]
        + [(s, 500) for s, _ in CAPPED]
        + [(s, 500) for s in CAP_REFUSED]
    )
    proc = subprocess.run(
        [str(SUPERSET_PYTHON), "-c", script, str(ROOT / "superset" / "sql_guard.py")],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",  # not the repo root: its superset/ folder would shadow Superset's package
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    verdicts = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = (
        ["ok"] * len(ALLOWED) + ["refused"] * len(REFUSED) + ["ok"] * len(CAPPED) + ["refused"] * len(CAP_REFUSED)
    )
    wrong = [(case, got) for case, got, want in zip(cases, verdicts, expected, strict=True) if got[0] != want]
    assert not wrong, wrong
    capped = verdicts[len(ALLOWED) + len(REFUSED) : len(ALLOWED) + len(REFUSED) + len(CAPPED)]
    assert [v[1] for v in capped] == [c for _, c in CAPPED]


class _Wrapper:
    """Stands for duckdb_engine's ConnectionWrapper (a Python object around the DuckDB connection)."""

    def __init__(self, con):
        self._con = con

    def cursor(self):
        return self._con.cursor()

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_limits_are_set_and_a_runaway_statement_is_interrupted():
    con = duckdb.connect()
    wrapper = _Wrapper(con)
    apply_limits(wrapper, "512MB", 2, 1.0)
    assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 2
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] in {"488.2 MiB", "512.0 MB"}
    con.execute("CREATE TABLE t AS SELECT * FROM range(3000) r(i)")
    cursor = wrapper.cursor()
    start = time.monotonic()
    with pytest.raises(sql_guard.StatementTimeout, match="durée maximale"):
        cursor.execute("SELECT count(*) FROM t a, t b, t c, t d WHERE a.i + b.i + c.i + d.i > 5")
    assert time.monotonic() - start < 10
    cursor.execute("SELECT count(*) FROM t")  # the connection is usable afterwards
    assert cursor.fetchone()[0] == 3000
    apply_limits(wrapper, "512MB", 2, 1.0)  # idempotent: the cursor is wrapped once
    assert isinstance(wrapper.cursor(), sql_guard._TimedCursor)
    assert not isinstance(wrapper.cursor()._cursor, sql_guard._TimedCursor)
    assert threading.active_count() < 20  # timers are cancelled, not leaked


def test_limits_leave_a_locked_instance_alone():
    con = duckdb.connect()
    con.execute("SET lock_configuration = true")
    apply_limits(_Wrapper(con), "1GB", 2, 0)  # no SET on a locked instance, no error


def test_memory_limit_is_validated():
    with pytest.raises(ValueError):
        apply_limits(_Wrapper(duckdb.connect()), "1GB'; SET x = 1; --", 2, 0)
