{# dbt-duckdb (1.11) writes the "temporary" relation of an incremental Python model as a plain
   table (its py_write_table ignores `temporary`, and the model runs on a connection of its own)
   and, taking it for a temporary one, never drops it: every run would leave a copy of the new
   rows in the warehouse (for the decrypted citizen reports, personal data). For Python models
   the relation is declared not temporary, so the materialization drops it once merged, and it
   has a fixed name, so a copy left by a run that failed half-way is dropped by the next one.
   SQL models keep the adapter's behaviour (a real temporary table). #}
{% macro duckdb__dispatch_temporary_relation(target_relation, batch_id='') %}
    {%- if model.language != 'python' -%}
        {{ return({'relation': make_temp_relation(target_relation), 'temporary': true}) }}
    {%- endif -%}
    {%- set relation = target_relation.incorporate(path={'identifier': target_relation.identifier ~ '__dbt_new_rows'}) -%}
    {% do adapter.drop_relation(relation) %}
    {{ return({'relation': relation, 'temporary': false}) }}
{% endmacro %}
