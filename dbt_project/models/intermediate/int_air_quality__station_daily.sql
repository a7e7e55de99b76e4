-- Daily aggregates per station in local days: max of hourly means for NO2/SO2/O3,
-- mean of hourly means for PM10/PM2.5 (the aggregation the ATMO index prescribes).
with hourly as (
    select * from {{ ref('mart_air_quality_hourly') }}
)
select
    station_id,
    district_id,
    local_date,
    max(case when pollutant = 'no2' then value_ugm3 end) as no2_max_hourly_ugm3,
    max(case when pollutant = 'so2' then value_ugm3 end) as so2_max_hourly_ugm3,
    max(case when pollutant = 'o3' then value_ugm3 end) as o3_max_hourly_ugm3,
    {{ measured("avg(case when pollutant = 'no2' then value_ugm3 end)") }} as no2_mean_daily_ugm3,
    {{ measured("avg(case when pollutant = 'so2' then value_ugm3 end)") }} as so2_mean_daily_ugm3,
    {{ measured("avg(case when pollutant = 'pm10' then value_ugm3 end)") }} as pm10_mean_daily_ugm3,
    {{ measured("avg(case when pollutant = 'pm25' then value_ugm3 end)") }} as pm25_mean_daily_ugm3,
    count(distinct hour_start) as hours_measured
from hourly
group by station_id, district_id, local_date
