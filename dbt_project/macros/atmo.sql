{#
  French ATMO index (arrêté du 10 juillet 2020). Classes and per-pollutant upper bounds are
  the vars atmo_classes and atmo_bounds_ugm3 of dbt_project.yml (shared with the alert rules).
  Sub-index 1..6: the first class whose upper bound the value does not exceed; above the
  last bound, the last class (extrêmement mauvais).
#}

{# Column of int_air_quality__station_daily the pollutant's sub-index is computed on:
   <pollutant>_max_hourly_ugm3 or <pollutant>_mean_daily_ugm3, after the aggregation of
   the arrêté. #}
{% macro atmo_column(pollutant) -%}
    {{ pollutant }}_{{ var('atmo_bounds_ugm3')[pollutant]['aggregation'] }}_ugm3
{%- endmacro %}

{% macro atmo_subindex(pollutant, value=none) -%}
    {%- set bounds = var('atmo_bounds_ugm3')[pollutant]['upper_bounds'] -%}
    {%- set value = value or atmo_column(pollutant) -%}
    case
        when {{ value }} is null then null
    {%- for bound in bounds %}
            when {{ value }} <= {{ bound }} then {{ loop.index }}
    {%- endfor %}
        else {{ bounds | length + 1 }}
    end
{%- endmacro %}

{# Index (1-based) of an ATMO class name, e.g. atmo_class_index('mauvais') = 4. #}
{% macro atmo_class_index(class_name) -%}
    {{ var('atmo_classes').index(class_name) + 1 }}
{%- endmacro %}

{% macro atmo_label(index) -%}
    case {{ index }}
    {%- for label in var('atmo_classes') %}
            when {{ loop.index }} then '{{ label }}'
    {%- endfor %}
    end
{%- endmacro %}
