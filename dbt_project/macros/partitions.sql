{# Day partitions: the models holding one row per sensor and hour, day or night are written
   as <lake>/curated/<model>/<column>=YYYY-MM-DD/data_0.parquet. A run given a window start
   (orchestration.partitions, through HYPERVISEUR_PARTITION_WINDOW_START) reads the raw
   batches ingested from a little before that day and rewrites the partitions from that day
   on; without it every partition is rebuilt. The marts read these compact partitions. #}

{% macro partition_window_start() -%}
    {%- set start = env_var('HYPERVISEUR_PARTITION_WINDOW_START', '') -%}
    {%- if start -%}
        {#- a date and nothing else: it is pasted into SQL -#}
        {{- return(modules.datetime.date.fromisoformat(start).isoformat()) -}}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro %}

{# Raw rows a windowed run reads: batches ingested, and readings observed, from
   raw_window_margin_days before the window (a local day or a noon-to-noon night starts up
   to a day before its UTC date). A reading is never ingested before it is observed, so the
   ingest_date filter only skips files (Hive partition pruning) and loses no row. #}
{% macro raw_window(ts) -%}
    {%- set start = partition_window_start() -%}
    {%- if start %}
    where ingest_date >= date '{{ start }}' - {{ var('raw_window_margin_days') }}
        and {{ ts }} >= date '{{ start }}' - {{ var('raw_window_margin_days') }}
    {%- endif -%}
{%- endmacro %}

{# Data tests of a partitioned model check only the partitions this run rewrote: their
   `where` says `<column> >= __partition_window_start__`, replaced here by the window's first
   day (the first day of all time without a window). dbt's own macro, extended. #}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set start = partition_window_start() or '0001-01-01' -%}
        {%- set where = where | replace('__partition_window_start__', "date '" ~ start ~ "'") -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{% materialization partitioned, adapter='duckdb' %}
    {%- set column = config.require('partition_by') -%}
    {%- set location = lake_url() ~ '/curated/' ~ this.identifier -%}
    {%- set files = location ~ '/*/*.parquet' -%}
    {%- set start = partition_window_start() -%}
    {%- set window_filter = "where " ~ column ~ " >= date '" ~ start ~ "'" if start else "" -%}
    {%- set target_relation = this.incorporate(type='view') -%}
    {{ run_hooks(pre_hooks) }}

    {#- straight from the query to one file per partition, replaced in place: partitions outside
        the window are not touched. DuckDB starts another file for a partition whose writer
        it had to close (past partitioned_write_max_open_files): the old one would survive
        the next rewrite of that day, so every partition of a full build stays open. -#}
    {% call statement('open_files') -%}
        set partitioned_write_max_open_files = 1000000
    {%- endcall %}
    {% call statement('main') -%}
        copy (
            select * from ({{ compiled_code }}) {{ window_filter }}
        ) to '{{ location }}' (
            format parquet, compression zstd, partition_by ({{ column }}),
            overwrite_or_ignore true, filename_pattern 'data_{i}', write_partition_columns true
        )
    {%- endcall %}

    {%- set counts = run_query(
        "select count(*), count(distinct regexp_extract(file, '(.*)/', 1)) from glob('" ~ files ~ "')"
    )[0] -%}
    {%- set written = counts[0] -%}
    {%- if counts[0] != counts[1] -%}
        {{ exceptions.raise_compiler_error(
            this.identifier ~ " : " ~ counts[0] ~ " fichiers pour " ~ counts[1]
            ~ " partitions dans " ~ location ~ " (un seul fichier par jour attendu)"
        ) }}
    {%- endif -%}
    {%- set existing = load_cached_relation(this) -%}
    {%- if existing is not none and existing.type != ('view' if written > 0 else 'table') -%}
        {{ drop_relation_if_exists(existing) }}
    {%- endif %}
    {% call statement('expose') -%}
        {%- if written > 0 %}
            create or replace view {{ target_relation }} as
            select * from read_parquet('{{ files }}', hive_partitioning = false)
        {%- else %}
            {#- no reading yet: an empty relation with the model's columns -#}
            create or replace table {{ target_relation.incorporate(type='table') }} as
            select * from ({{ compiled_code }}) limit 0
        {%- endif %}
    {%- endcall %}
    {{ run_hooks(post_hooks) }}
    {{ adapter.commit() }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
