-- Exceedances of the EU 2024/2881 limit values that a short period can show (hourly and
-- daily ones: var eu_limit_values_ugm3 of dbt_project.yml, shared with the alert rules).
-- Annual limits need a full year of data and are not assessed here.
with limits as (
    {%- for pollutant, periods in var('eu_limit_values_ugm3').items() %}
        {%- set outer = loop %}
        {%- for period, limit_value in periods.items() %}
            select
                '{{ pollutant }}' as pollutant,
                '{{ period }}' as averaging_period,
                cast({{ limit_value }} as double) as limit_value_ugm3
            {%- if not (outer.last and loop.last) %}
                union all
            {%- endif %}
        {%- endfor %}
    {%- endfor %}
),
hourly as (
    select
        h.station_id, h.district_id, h.pollutant, h.hour_start as period_start, h.local_date,
        'horaire' as averaging_period, h.value_ugm3
    from {{ ref('mart_air_quality_hourly') }} h
    where
        h.pollutant in (
            select l.pollutant from limits l
            where l.averaging_period = 'horaire'
        )
),
daily as (
    select
        h.station_id, h.district_id, h.pollutant, min(h.hour_start) as period_start, h.local_date,
        'journaliere' as averaging_period, {{ measured('avg(h.value_ugm3)') }} as value_ugm3
    from {{ ref('mart_air_quality_hourly') }} h
    where
        h.pollutant in (
            select l.pollutant from limits l
            where l.averaging_period = 'journaliere'
        )
    group by h.station_id, h.district_id, h.pollutant, h.local_date
),
candidates as (
    select * from hourly
    union all
    select * from daily
)
select
    c.station_id,
    c.district_id,
    c.pollutant,
    c.averaging_period,
    c.period_start,
    c.local_date,
    c.value_ugm3,
    l.limit_value_ugm3,
    c.value_ugm3 - l.limit_value_ugm3 as excess_ugm3,
    'Directive (UE) 2024/2881' as regulation
from candidates c
inner join limits l using (pollutant, averaging_period)
where c.value_ugm3 > l.limit_value_ugm3
