-- Daily ATMO index per station: one sub-index per pollutant, the index is the worst
-- (classes, bounds and the daily value each pollutant uses: vars of dbt_project.yml).
-- A day counts when at least 75 % of the station's usual hours are measured (days cut by
-- the edges of the period are left out).
with daily as (
    select *
    from {{ ref('int_air_quality__station_daily') }}
    qualify hours_measured >= 0.75 * max(hours_measured) over (partition by station_id)
),
sub as (
    select
        *,
        {{ atmo_subindex('no2') }} as subindex_no2,
        {{ atmo_subindex('so2') }} as subindex_so2,
        {{ atmo_subindex('o3') }} as subindex_o3,
        {{ atmo_subindex('pm10') }} as subindex_pm10,
        {{ atmo_subindex('pm25') }} as subindex_pm25
    from daily
),
indexed as (
    select
        *,
        greatest(
            coalesce(subindex_no2, 0), coalesce(subindex_so2, 0), coalesce(subindex_o3, 0),
            coalesce(subindex_pm10, 0), coalesce(subindex_pm25, 0)
        ) as atmo_index
    from sub
)
select
    station_id,
    district_id,
    local_date,
    no2_max_hourly_ugm3,
    so2_max_hourly_ugm3,
    o3_max_hourly_ugm3,
    pm10_mean_daily_ugm3,
    pm25_mean_daily_ugm3,
    subindex_no2,
    subindex_so2,
    subindex_o3,
    subindex_pm10,
    subindex_pm25,
    atmo_index,
    {{ atmo_label('atmo_index') }} as atmo_class,
    -- the pollutant responsible for the index (first in this order on ties)
    case atmo_index
        when subindex_pm25 then 'pm25'
        when subindex_pm10 then 'pm10'
        when subindex_no2 then 'no2'
        when subindex_o3 then 'o3'
        when subindex_so2 then 'so2'
    end as responsible_pollutant,
    hours_measured
from indexed
where atmo_index > 0
