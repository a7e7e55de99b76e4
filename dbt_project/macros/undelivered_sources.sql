{# A raw dataset the territory has not delivered yet: dbt's source() would read a glob matching
   no file, which DuckDB refuses. The launcher (orchestration/undelivered.py) writes, for each
   such dataset, a Parquet file of its raw schema without a row and names it in
   HYPERVISEUR_UNDELIVERED_SOURCES ("sources"); that file is read in place of the glob. Every
   other source is dbt's own. #}
{% macro source(source_name, table_name) -%}
    {%- set relation = builtins.source(source_name, table_name) -%}
    {%- set undelivered = fromjson(env_var('HYPERVISEUR_UNDELIVERED_SOURCES', '{}')).get('sources', {}) -%}
    {%- set empty = undelivered.get(source_name ~ '.' ~ table_name) -%}
    {%- if empty -%}
        {{- return("read_parquet('" ~ empty | replace("'", "''") ~ "')") -}}
    {%- endif -%}
    {{- return(relation) -}}
{%- endmacro %}

{# Whether one of the raw datasets a model is built from is not delivered yet (the launcher
   names those models from dbt's manifest). #}
{% macro reads_undelivered(model_name) -%}
    {{- return(model_name in fromjson(env_var('HYPERVISEUR_UNDELIVERED_SOURCES', '{}')).get('models', [])) -}}
{%- endmacro %}
