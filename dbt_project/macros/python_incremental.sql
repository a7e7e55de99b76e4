{# dbt-duckdb (1.11) writes the "temporary" relation of an incremental Python model as a plain
   table (its py_write_table ignores `temporary`) and, taking it for a temporary one, never
   drops it: every run would leave a copy of the new rows in the warehouse (for the decrypted
   citizen reports, personal data). Declared not temporary, the incremental materialization
   drops it once merged. SQL models keep the adapter's behaviour (a real temporary table). #}
{% macro duckdb__dispatch_temporary_relation(target_relation, batch_id='') %}
    {{ return({'relation': make_temp_relation(target_relation), 'temporary': model.language != 'python'}) }}
{% endmacro %}
