{# Where the lake lives: a local folder or s3://bucket, set by orchestration. #}
{% macro lake_url() -%}
    {{ return(env_var('HYPERVISEUR_LAKE_URL').rstrip('/')) }}
{%- endmacro %}

{# Where dbt-duckdb writes an external model (overrides the adapter's default): one
   Parquet file per mart in the curated zone, <lake>/curated/<model>/data.parquet — the
   layout Python code reads through lakehouse.lake.Lake.curated_key(model). #}
{% macro external_location(relation, config) -%}
    {{- lake_url() }}/curated/{{ relation.identifier }}/data.{{ config.get('format', 'parquet') }}
{%- endmacro %}

{# Local calendar date / hour of a UTC timestamp in the territory's time zone. #}
{% macro local_date(ts) -%}
    cast(timezone('{{ var("local_tz") }}', {{ ts }}) as date)
{%- endmacro %}

{% macro local_hour(ts) -%}
    extract(hour from timezone('{{ var("local_tz") }}', {{ ts }}))
{%- endmacro %}

{# Keep the most recently ingested row per key (redeliveries across batches). #}
{% macro latest_per_key(keys) -%}
    qualify row_number() over (partition by {{ keys | join(', ') }} order by _ingested_at desc, _batch_id desc) = 1
{%- endmacro %}

{# A float aggregate (mean, sum) at a fixed precision: DuckDB adds in a different order from
   one run to the next, and a mean of one-decimal readings that lands exactly on a bound
   (37.5 km/h, a limit value) would otherwise fall on either side of it. The classifications
   built on these values (congestion, ATMO sub-indices, exceedances, leaks) are then the
   same from one run to the next, windowed or full. #}
{% macro measured(expr) -%}
    round({{ expr }}, {{ var('measure_decimals') }})
{%- endmacro %}
