{#-
  A mart with no row is written as a file with its columns and no row.

  dbt-duckdb's `external` materialization (1.11) writes an empty result as ONE row of NULLs, so
  that the file keeps its columns, and hides that row in the view it creates; but every other
  reader of the lake file (quality checks, serving catalogs and Superset, open data) counts it as
  a row: an empty leak list becomes one leak with no sector, and its blocking « not null » checks
  stop the chain. Parquet keeps the columns of a file without rows, so that placeholder (the only
  row, all NULL) is left out of the file here. The adapter's view still reads the file the same
  way (its filter on all columns being NULL now filters nothing).

  Replaces dbt-duckdb's own `write_to_file` (a project macro comes before the adapter's), which
  only the external materialization calls.
-#}
{% macro write_to_file(relation, location, options) -%}
    {%- set rows = run_query("select count(*) from " ~ relation)[0][0] -%}
    {%- set kept = [] -%}
    {%- if rows == 1 -%}
        {%- for col in adapter.get_columns_in_relation(relation) -%}
            {%- do kept.append(adapter.quote(col.column) ~ " is not null") -%}
        {%- endfor -%}
    {%- endif -%}
    {% call statement('write_to_file') -%}
        copy (
            select * from {{ relation }}
            where {{ kept | join(" or ") if kept else "true" }}
        ) to '{{ location }}' ({{ options }})
    {%- endcall %}
{% endmacro %}
