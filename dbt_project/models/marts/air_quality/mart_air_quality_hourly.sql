-- Hourly mean concentration per station and pollutant (UTC hours, local date kept).
with hourly as (
    select * from {{ ref('int_air_quality__station_hours') }}
),
stations as (
    select * from {{ ref('air_stations') }}
)
select
    h.station_id,
    s.district_id,
    s.station_type,
    h.hour_start,
    h.local_date,
    h.pollutant,
    h.value_ugm3,
    h.measures
from hourly h
left join stations s using (station_id)
