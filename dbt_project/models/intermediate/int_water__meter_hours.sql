{{ config(materialized='partitioned', partition_by='local_date') }}
-- Mean flow per water meter and UTC hour, with the local day the hour belongs to.
select
    sector_id,
    meter_id,
    date_trunc('hour', observed_at) as hour_start,
    {{ local_date("date_trunc('hour', observed_at)") }} as local_date,
    {{ measured('avg(flow_m3h)') }} as flow_m3h
from {{ ref('stg_iot__water_flow') }}
group by all
