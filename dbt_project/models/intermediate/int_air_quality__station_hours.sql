{{ config(materialized='partitioned', partition_by='local_date') }}
-- Mean concentration per station, pollutant and UTC hour, with the local day of the hour.
select
    station_id,
    pollutant,
    date_trunc('hour', observed_at) as hour_start,
    {{ local_date("date_trunc('hour', observed_at)") }} as local_date,
    {{ measured('avg(value_ugm3)') }} as value_ugm3,
    count(*) as measures
from {{ ref('stg_iot__air_quality') }}
group by all
