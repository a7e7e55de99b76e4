-- Exceedances of the EU 2024/2881 limit values that a short period can show: hourly NO2
-- (200 µg/m³) and daily means of NO2 (50), PM10 (45) and PM2.5 (25). Annual limits need
-- a full year of data and are not assessed here.
with hourly as (
    select station_id, district_id, pollutant, hour_start as period_start, local_date,
           'horaire' as averaging_period, value_ugm3
    from {{ ref('mart_air_quality_hourly') }}
    where pollutant = 'no2'
),
daily as (
    select station_id, district_id, pollutant, min(hour_start) as period_start, local_date,
           'journaliere' as averaging_period, avg(value_ugm3) as value_ugm3
    from {{ ref('mart_air_quality_hourly') }}
    where pollutant in ('no2', 'pm10', 'pm25')
    group by station_id, district_id, pollutant, local_date
),
limits as (
    select * from (values
        ('no2', 'horaire', 200.0),
        ('no2', 'journaliere', 50.0),
        ('pm10', 'journaliere', 45.0),
        ('pm25', 'journaliere', 25.0)
    ) as t(pollutant, averaging_period, limit_value_ugm3)
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
join limits l using (pollutant, averaging_period)
where c.value_ugm3 > l.limit_value_ugm3
