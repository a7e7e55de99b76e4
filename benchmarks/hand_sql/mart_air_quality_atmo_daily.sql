-- Daily ATMO index per station (arrêté du 10 juillet 2020): a sub-index 1..6 per pollutant
-- on the day's max hourly mean (NO2, SO2, O3) or daily mean (PM10, PM2.5), the index being
-- the worst sub-index. Days with fewer than 75 % of the station's fullest day's hours are
-- left out. Sub-index = 1 + number of class upper bounds below the value.
with station_days as (
    select
        station_id,
        district_id,
        local_date,
        max(value_ugm3) filter (pollutant = 'no2') as no2_max_hourly_ugm3,
        max(value_ugm3) filter (pollutant = 'so2') as so2_max_hourly_ugm3,
        max(value_ugm3) filter (pollutant = 'o3') as o3_max_hourly_ugm3,
        round(avg(value_ugm3) filter (pollutant = 'pm10'), 6) as pm10_mean_daily_ugm3,
        round(avg(value_ugm3) filter (pollutant = 'pm25'), 6) as pm25_mean_daily_ugm3,
        count(distinct hour_start) as hours_measured
    from mart_air_quality_hourly
    group by station_id, district_id, local_date
),
m as (
    select station_id, max(hours_measured) as most_hours from station_days
    group by station_id
),
full_days as (
    select d.*
    from station_days d
    inner join m on d.station_id = m.station_id
    where d.hours_measured >= 0.75 * m.most_hours
),
bounds (pollutant, upper_bound) as (
    values
    ('no2', 40), ('no2', 90), ('no2', 120), ('no2', 230), ('no2', 340),
    ('so2', 100), ('so2', 200), ('so2', 350), ('so2', 500), ('so2', 750),
    ('o3', 50), ('o3', 100), ('o3', 130), ('o3', 240), ('o3', 380),
    ('pm10', 20), ('pm10', 40), ('pm10', 50), ('pm10', 100), ('pm10', 150),
    ('pm25', 10), ('pm25', 20), ('pm25', 25), ('pm25', 50), ('pm25', 75)
),
daily_values as (
    unpivot full_days
    on no2_max_hourly_ugm3 as no2, so2_max_hourly_ugm3 as so2, o3_max_hourly_ugm3 as o3,
    pm10_mean_daily_ugm3 as pm10, pm25_mean_daily_ugm3 as pm25
    into name pollutant value daily_value
),
sub_indices as (
    select v.station_id, v.local_date, v.pollutant, 1 + count(b.upper_bound) as subindex
    from daily_values v
    left join bounds b on v.pollutant = b.pollutant and v.daily_value > b.upper_bound
    group by v.station_id, v.local_date, v.pollutant
),
per_day as (
    select
        station_id,
        local_date,
        max(subindex) filter (pollutant = 'no2') as subindex_no2,
        max(subindex) filter (pollutant = 'so2') as subindex_so2,
        max(subindex) filter (pollutant = 'o3') as subindex_o3,
        max(subindex) filter (pollutant = 'pm10') as subindex_pm10,
        max(subindex) filter (pollutant = 'pm25') as subindex_pm25,
        max(subindex) as atmo_index,
        -- on ties the first of pm25, pm10, no2, o3, so2
        arg_max(pollutant, subindex * 10 + list_position(['so2', 'o3', 'no2', 'pm10', 'pm25'], pollutant))
            as responsible_pollutant
    from sub_indices
    group by station_id, local_date
)
select
    f.station_id,
    f.district_id,
    f.local_date,
    f.no2_max_hourly_ugm3,
    f.so2_max_hourly_ugm3,
    f.o3_max_hourly_ugm3,
    f.pm10_mean_daily_ugm3,
    f.pm25_mean_daily_ugm3,
    p.subindex_no2,
    p.subindex_so2,
    p.subindex_o3,
    p.subindex_pm10,
    p.subindex_pm25,
    p.atmo_index,
    ['bon', 'moyen', 'dégradé', 'mauvais', 'très mauvais', 'extrêmement mauvais'][p.atmo_index] as atmo_class,
    p.responsible_pollutant,
    f.hours_measured
from full_days f
inner join per_day p on f.station_id = p.station_id and f.local_date = p.local_date
