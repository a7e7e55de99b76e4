-- Exceedances of the short-period EU limit values (directive (UE) 2024/2881, annex I):
-- NO2 hourly 200; NO2 daily 50, PM10 daily 45, PM2.5 daily 25 (µg/m³). A daily value is
-- the mean of the local day's hourly means; its period starts at the day's first hour.
with limit_values (pollutant, averaging_period, limit_value_ugm3) as (
    values
    ('no2', 'horaire', 200.0),
    ('no2', 'journaliere', 50.0),
    ('pm10', 'journaliere', 45.0),
    ('pm25', 'journaliere', 25.0)
),
periods as (
    select
        station_id, district_id, pollutant, 'horaire' as averaging_period,
        hour_start as period_start, local_date, value_ugm3
    from mart_air_quality_hourly
    union all
    select
        station_id, district_id, pollutant, 'journaliere',
        min(hour_start), local_date, round(avg(value_ugm3), 6)
    from mart_air_quality_hourly
    group by station_id, district_id, pollutant, local_date
)
select
    p.station_id,
    p.district_id,
    p.pollutant,
    p.averaging_period,
    p.period_start,
    p.local_date,
    p.value_ugm3,
    lv.limit_value_ugm3,
    p.value_ugm3 - lv.limit_value_ugm3 as excess_ugm3,
    'Directive (UE) 2024/2881' as regulation
from periods p
inner join limit_values lv on p.pollutant = lv.pollutant and p.averaging_period = lv.averaging_period
where p.value_ugm3 > lv.limit_value_ugm3
