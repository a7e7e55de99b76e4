{{ config(materialized='partitioned', partition_by='local_date') }}
-- Counts, flow, occupancy and speed per road segment and UTC hour, with the local day the
-- hour belongs to: the readings' volume reduced once, day partition by day partition.
select
    segment_id,
    date_trunc('hour', observed_at) as hour_start,
    {{ local_date("date_trunc('hour', observed_at)") }} as local_date,
    sum(vehicle_count) as vehicle_count,
    {{ measured('sum(vehicle_count) * 3600.0 / nullif(sum(period_s), 0)') }} as flow_veh_h,
    {{ measured('avg(occupancy_pct)') }} as occupancy_pct,
    {{ measured('avg(average_speed_kmh)') }} as average_speed_kmh
from {{ ref('stg_iot__traffic_flow') }}
group by segment_id, date_trunc('hour', observed_at)
