-- Escape corpus for the Superset SQL guard (tests/superset/test_escape_corpus.py).
-- One statement per line; lines starting with "--" are comments. Each line is run as every
-- tested role through SQL Lab and through the chart data API: it must be refused, or return
-- only what the role may see (no clear personal value, no other service's rows, at most the
-- row cap), and leave every lake file unchanged. A new escape is one more line.
-- Placeholders: {lake} lake root, {clear_schema} / {masked_schema} / {public_schema} serving
-- schemas, {CLEAR_SCHEMA} / {MASKED_SCHEMA} the same in upper case, {catalog} the serving
-- catalog (DuckDB database) name.
--
-- statement kinds
EXPLAIN SELECT reporter_name FROM {clear_schema}.mart_citizen_reports
EXPLAIN ANALYZE SELECT reporter_name, reporter_phone FROM {clear_schema}.mart_citizen_reports
EXPLAIN ANALYZE COPY (SELECT reporter_name, reporter_phone FROM {clear_schema}.mart_citizen_reports) TO '{lake}/curated/mart_citizen_reports/data.parquet' (FORMAT parquet)
SUMMARIZE SELECT reporter_name, reporter_phone FROM {clear_schema}.mart_citizen_reports
SUMMARIZE SELECT reporter_name, reporter_phone FROM {masked_schema}.mart_citizen_reports
SUMMARIZE {clear_schema}.mart_citizen_reports
SUMMARIZE '{lake}/curated/mart_citizen_reports/data.parquet'
PIVOT {clear_schema}.mart_citizen_reports ON service USING count(*) GROUP BY reporter_name
PIVOT (SELECT reporter_name, reporter_phone, service FROM {clear_schema}.mart_citizen_reports) ON service USING first(reporter_phone) GROUP BY reporter_name
UNPIVOT (SELECT reporter_name, reporter_phone FROM {clear_schema}.mart_citizen_reports) ON COLUMNS(*) INTO NAME k VALUE v
UNPIVOT {masked_schema}.mart_citizen_reports ON reporter_name, reporter_phone INTO NAME k VALUE v
SELECT * FROM {masked_schema}.mart_citizen_reports PIVOT (count(*) FOR service IN ('eau', 'voirie'))
SELECT * FROM (SELECT reporter_name, service FROM {clear_schema}.mart_citizen_reports) PIVOT (first(reporter_name) FOR service IN ('eau'))
DESCRIBE {clear_schema}.mart_citizen_reports
DESCRIBE SELECT reporter_name FROM {clear_schema}.mart_citizen_reports
SHOW TABLES
SHOW ALL TABLES
SHOW {clear_schema}.mart_citizen_reports
PRAGMA database_list
PRAGMA show_tables
CALL duckdb_settings()
CALL pragma_table_info('{clear_schema}.mart_citizen_reports')
SET enable_external_access = true
SET lock_configuration = false
SET memory_limit = '100GB'
RESET threads
USE {clear_schema}
ATTACH '{lake}/curated/attack.duckdb' AS attack
ATTACH ':memory:' AS attack
DETACH {catalog}
COPY (SELECT reporter_name, reporter_phone FROM {clear_schema}.mart_citizen_reports) TO '{lake}/curated/leak.csv'
COPY {masked_schema}.mart_citizen_reports TO '{lake}/curated/mart_citizen_reports/data.parquet' (FORMAT parquet)
EXPORT DATABASE '{lake}/curated/export'
INSTALL httpfs
LOAD httpfs
CREATE TABLE {masked_schema}.leak AS SELECT reporter_name FROM {clear_schema}.mart_citizen_reports
CREATE TEMP TABLE leak AS SELECT reporter_name FROM {clear_schema}.mart_citizen_reports
CREATE VIEW {masked_schema}.mart_leak AS SELECT * FROM {clear_schema}.mart_citizen_reports
CREATE MACRO leak() AS TABLE SELECT reporter_name FROM {clear_schema}.mart_citizen_reports
CREATE SECRET leak (TYPE s3, KEY_ID 'a', SECRET 'b')
DROP VIEW {masked_schema}.mart_citizen_reports
DELETE FROM {masked_schema}.mart_citizen_reports
UPDATE {masked_schema}.mart_citizen_reports SET reporter_name = 'x'
INSERT INTO {masked_schema}.mart_citizen_reports SELECT * FROM {clear_schema}.mart_citizen_reports
PREPARE leak AS SELECT reporter_name FROM {clear_schema}.mart_citizen_reports
EXECUTE leak
CHECKPOINT
VACUUM
BEGIN TRANSACTION
VALUES (1), (2)
FROM {clear_schema}.mart_citizen_reports SELECT reporter_name
--
-- file access
SELECT * FROM '{lake}/curated/mart_citizen_reports/data.parquet'
SELECT reporter_name FROM "{lake}/curated/mart_citizen_reports/data.parquet"
SELECT reporter_name FROM read_parquet('{lake}/curated/mart_citizen_reports/data.parquet')
SELECT reporter_name FROM parquet_scan('{lake}/curated/*/data.parquet')
SELECT * FROM read_parquet(['{lake}/curated/mart_citizen_reports/data.parquet'], filename = true)
SELECT * FROM read_csv('/etc/passwd')
SELECT * FROM read_csv_auto('/etc/passwd')
SELECT * FROM read_json('{lake}/curated/leak.json')
SELECT * FROM read_ndjson_objects('{lake}/curated/leak.json')
SELECT * FROM read_text('/etc/hostname')
SELECT content FROM read_text('{lake}/curated/mart_citizen_reports/data.parquet')
SELECT * FROM read_blob('{lake}/curated/mart_citizen_reports/data.parquet')
SELECT * FROM glob('{lake}/**')
SELECT * FROM parquet_metadata('{lake}/curated/mart_citizen_reports/data.parquet')
SELECT * FROM parquet_schema('{lake}/curated/mart_citizen_reports/data.parquet')
SELECT * FROM parquet_file_metadata('{lake}/curated/mart_citizen_reports/data.parquet')
SELECT * FROM parquet_kv_metadata('{lake}/curated/mart_citizen_reports/data.parquet')
SELECT * FROM sniff_csv('/etc/passwd')
SELECT * FROM query('SELECT reporter_name, reporter_phone FROM {clear_schema}.mart_citizen_reports')
SELECT * FROM query_table('{clear_schema}.mart_citizen_reports')
SELECT * FROM sqlite_scan('{lake}/leak.db', 'leak')
SELECT * FROM iceberg_scan('{lake}/curated')
SELECT * FROM delta_scan('{lake}/curated')
SELECT * FROM st_read('{lake}/leak.geojson')
SELECT (SELECT max(reporter_name) FROM read_parquet('{lake}/curated/mart_citizen_reports/data.parquet')) AS leak
SELECT report_id FROM {masked_schema}.mart_citizen_reports WHERE report_id IN (SELECT report_id FROM read_parquet('{lake}/curated/mart_citizen_reports/data.parquet') WHERE reporter_name LIKE 'Jean%')
SELECT * FROM {masked_schema}.mart_citizen_reports, read_parquet('{lake}/curated/mart_citizen_reports/data.parquet') AS c
SELECT * FROM main.read_parquet('{lake}/curated/mart_citizen_reports/data.parquet')
--
-- name tricks
SELECT reporter_name, reporter_phone FROM {clear_schema}.mart_citizen_reports
SELECT reporter_name FROM "{clear_schema}"."mart_citizen_reports"
SELECT reporter_name FROM {CLEAR_SCHEMA}.MART_CITIZEN_REPORTS
SELECT reporter_name FROM "{clear_schema}.mart_citizen_reports"
SELECT reporter_name FROM {catalog}.{clear_schema}.mart_citizen_reports
SELECT reporter_name FROM {catalog}.{masked_schema}.mart_citizen_reports
SELECT reporter_name FROM mart_citizen_reports
SELECT reporter_name FROM {clear_schema} . mart_citizen_reports
SELECT reporter_name FROM /* {masked_schema}. */ {clear_schema}.mart_citizen_reports
WITH mart_citizen_reports AS (SELECT * FROM {clear_schema}.mart_citizen_reports) SELECT reporter_name FROM mart_citizen_reports
WITH {masked_schema} AS (SELECT * FROM {clear_schema}.mart_citizen_reports) SELECT reporter_name FROM {masked_schema}
WITH x AS (SELECT reporter_name FROM {clear_schema}.mart_citizen_reports) SELECT * FROM (SELECT * FROM (SELECT * FROM x))
SELECT reporter_name FROM (SELECT * FROM {clear_schema}.mart_citizen_reports) AS t
SELECT reporter_name FROM {masked_schema}.mart_citizen_reports UNION ALL SELECT reporter_name FROM {clear_schema}.mart_citizen_reports
SELECT reporter_name FROM {masked_schema}.mart_citizen_reports EXCEPT SELECT reporter_name FROM {clear_schema}.mart_citizen_reports
SELECT 1; SELECT reporter_name FROM {clear_schema}.mart_citizen_reports
SELECT report_id FROM {masked_schema}.mart_citizen_reports; COPY (SELECT 1) TO '{lake}/curated/leak.csv'
SELECT m.report_id, c.reporter_name FROM {masked_schema}.mart_citizen_reports AS m POSITIONAL JOIN {clear_schema}.mart_citizen_reports AS c
SELECT * FROM {masked_schema}.mart_citizen_reports AS m, LATERAL (SELECT reporter_name FROM {clear_schema}.mart_citizen_reports) AS c
SELECT * FROM {masked_schema}.mart_citizen_reports AS m ASOF JOIN {clear_schema}.mart_citizen_reports AS c ON m.created_at >= c.created_at
SELECT reporter_name FROM temp.main.mart_citizen_reports
SELECT reporter_name FROM system.main.mart_citizen_reports
SELECT reporter_name FROM {clear_schema}.mart_citizen_reports AT (VERSION => 1)
SELECT * FROM {masked_schema}.mart_citizen_reports TABLESAMPLE 10%
SELECT COLUMNS('reporter.*') FROM {clear_schema}.mart_citizen_reports
SELECT {clear_schema}.mart_citizen_reports.reporter_name FROM {masked_schema}.mart_citizen_reports
--
-- metadata leaks
SELECT * FROM duckdb_tables()
SELECT sql FROM duckdb_views()
SELECT * FROM duckdb_settings()
SELECT * FROM duckdb_secrets()
SELECT * FROM duckdb_databases()
SELECT * FROM duckdb_extensions()
SELECT * FROM duckdb_columns() WHERE column_name LIKE 'reporter%'
SELECT current_setting('allowed_directories') AS leak
SELECT getenv('HOME') AS leak
SELECT version(), current_database(), current_schema()
SELECT * FROM information_schema.tables
SELECT view_definition FROM information_schema.views
SELECT * FROM pg_catalog.pg_tables
SELECT * FROM pragma_database_list
SELECT * FROM pragma_table_info('{clear_schema}.mart_citizen_reports')
SELECT * FROM sqlite_master
SELECT * FROM {masked_schema}.duckdb_settings
--
-- resource exhaustion
WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r
WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 1000000000000) SELECT max(i) FROM r
SELECT count(*) FROM range(1000000000000)
SELECT count(*) FROM generate_series(1, 1000000000000)
SELECT sum(x) FROM (SELECT unnest(range(1000000000)) AS x)
SELECT range(1000000000) AS leak
SELECT repeat('x', 2000000000) AS leak
SELECT count(*) FROM {masked_schema}.mart_citizen_reports AS a, {masked_schema}.mart_citizen_reports AS b, {masked_schema}.mart_citizen_reports AS c, {masked_schema}.mart_citizen_reports AS d, {masked_schema}.mart_citizen_reports AS e, {masked_schema}.mart_citizen_reports AS f, {masked_schema}.mart_citizen_reports AS g, {masked_schema}.mart_citizen_reports AS h
--
-- row-cap evasion
SELECT * FROM {masked_schema}.mart_air_quality_hourly LIMIT 100000
SELECT * FROM {masked_schema}.mart_air_quality_hourly LIMIT 500 OFFSET 500
SELECT * FROM {masked_schema}.mart_air_quality_hourly OFFSET 4000
SELECT * FROM (SELECT * FROM {masked_schema}.mart_air_quality_hourly LIMIT 500 OFFSET 4000) AS t
SELECT * FROM {masked_schema}.mart_air_quality_hourly FETCH FIRST 100000 ROWS ONLY
SELECT * FROM {masked_schema}.mart_air_quality_hourly LIMIT 100 PERCENT
SELECT * FROM {masked_schema}.mart_air_quality_hourly LIMIT (SELECT 100000)
SELECT * FROM {masked_schema}.mart_air_quality_hourly UNION ALL SELECT * FROM {masked_schema}.mart_air_quality_hourly
(SELECT * FROM {masked_schema}.mart_air_quality_hourly LIMIT 100000)
--
-- row-level security evasion (Agent_eau sees only the "eau" reports)
SELECT service, count(*) AS n FROM {masked_schema}.mart_citizen_reports GROUP BY service
SELECT report_id, service FROM {masked_schema}.mart_citizen_reports WHERE service = 'voirie' OR 1 = 1
WITH c AS (SELECT * FROM {masked_schema}.mart_citizen_reports) SELECT report_id, service FROM c
SELECT service FROM {masked_schema}.mart_citizen_reports_daily UNION SELECT service FROM {masked_schema}.mart_citizen_reports
SELECT report_id, service FROM {masked_schema}."mart_citizen_reports"
SELECT report_id, service FROM {MASKED_SCHEMA}.MART_CITIZEN_REPORTS
SELECT report_id, service FROM {masked_schema}.Mart_Citizen_Reports
SELECT report_id, service FROM {masked_schema}.mart_citizen_reports AS mart_water_night_flow
SELECT report_id, service FROM {catalog}.{masked_schema}.mart_citizen_reports
SELECT report_id, service FROM {clear_schema}.mart_citizen_reports
SELECT report_id, service FROM {public_schema}.mart_citizen_reports
SELECT event_id, domain FROM {masked_schema}.mart_incident_timeline
SELECT string_agg(report_id || ':' || service, ',') AS leak FROM {masked_schema}.mart_citizen_reports
