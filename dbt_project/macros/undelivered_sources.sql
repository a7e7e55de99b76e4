{# A raw dataset the territory has not delivered yet: dbt's source() would read a glob matching
   no file, which DuckDB refuses. The launcher (orchestration/undelivered.py) writes, for each
   such dataset, a Parquet file of its raw schema without a row and names it in
   HYPERVISEUR_UNDELIVERED_SOURCES; that file is read in place of the glob. Every other source
   is dbt's own. #}
{% macro source(source_name, table_name) -%}
    {%- set relation = builtins.source(source_name, table_name) -%}
    {%- set undelivered = fromjson(env_var('HYPERVISEUR_UNDELIVERED_SOURCES', '{}')) -%}
    {%- set empty = undelivered.get(source_name ~ '.' ~ table_name) -%}
    {%- if empty -%}
        {{- return("read_parquet('" ~ empty | replace("'", "''") ~ "')") -}}
    {%- endif -%}
    {{- return(relation) -}}
{%- endmacro %}

{# The raw datasets a model is built from, through every model between them. #}
{% macro collect_upstream(unique_id, seen) -%}
    {%- set node = graph.nodes.get(unique_id) -%}
    {%- for parent in (node.depends_on.nodes if node else []) if parent not in seen -%}
        {%- do seen.append(parent) -%}
        {%- do collect_upstream(parent, seen) -%}
    {%- endfor -%}
{%- endmacro %}

{# Whether one of the raw datasets a model is built from is not delivered yet (always false at
   parse time: the graph is known at execution only). #}
{% macro reads_undelivered(model_name) -%}
    {%- set undelivered = fromjson(env_var('HYPERVISEUR_UNDELIVERED_SOURCES', '{}')) -%}
    {%- if not (execute and undelivered) -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set seen = [] -%}
    {%- do collect_upstream('model.' ~ project_name ~ '.' ~ model_name, seen) -%}
    {%- for unique_id in seen if unique_id in graph.sources -%}
        {%- set source = graph.sources[unique_id] -%}
        {%- if (source.source_name ~ '.' ~ source.name) in undelivered -%}
            {{- return(true) -}}
        {%- endif -%}
    {%- endfor -%}
    {{- return(false) -}}
{%- endmacro %}
