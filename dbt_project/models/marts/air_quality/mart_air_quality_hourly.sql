-- Hourly mean concentration per station and pollutant (UTC hours, local date kept).
with readings as (
    select * from {{ ref('stg_iot__air_quality') }}
),
stations as (
    select * from {{ ref('air_stations') }}
)
select
    r.station_id,
    s.district_id,
    s.station_type,
    date_trunc('hour', r.observed_at) as hour_start,
    {{ local_date("date_trunc('hour', r.observed_at)") }} as local_date,
    r.pollutant,
    avg(r.value_ugm3) as value_ugm3,
    count(*) as measures
from readings r
left join stations s using (station_id)
group by all
