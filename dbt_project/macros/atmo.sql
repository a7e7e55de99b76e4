{#
  French ATMO index (arrêté du 10 juillet 2020). Sub-index 1..6 from the upper bounds of
  classes bon, moyen, dégradé, mauvais, très mauvais; above the last bound: extrêmement
  mauvais. NO2, SO2, O3 use the daily max of hourly means, PM10 and PM2.5 the daily mean.
#}
{% macro atmo_bounds() -%}
  {{ return({
      'no2': [40, 90, 120, 230, 340],
      'so2': [100, 200, 350, 500, 750],
      'o3': [50, 100, 130, 240, 380],
      'pm10': [20, 40, 50, 100, 150],
      'pm25': [10, 20, 25, 50, 75],
  }) }}
{%- endmacro %}

{% macro atmo_subindex(pollutant, value) -%}
  {%- set b = atmo_bounds()[pollutant] -%}
  case
    when {{ value }} is null then null
    when {{ value }} <= {{ b[0] }} then 1
    when {{ value }} <= {{ b[1] }} then 2
    when {{ value }} <= {{ b[2] }} then 3
    when {{ value }} <= {{ b[3] }} then 4
    when {{ value }} <= {{ b[4] }} then 5
    else 6
  end
{%- endmacro %}

{% macro atmo_label(index) -%}
  case {{ index }}
    when 1 then 'bon'
    when 2 then 'moyen'
    when 3 then 'dégradé'
    when 4 then 'mauvais'
    when 5 then 'très mauvais'
    when 6 then 'extrêmement mauvais'
  end
{%- endmacro %}
