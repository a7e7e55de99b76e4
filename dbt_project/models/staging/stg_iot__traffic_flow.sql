-- One row per segment and counting period; flow normalised to vehicles per hour.
select
    segment_id,
    observed_at,
    vehicle_count,
    coalesce(period_s, 3600) as period_s,
    vehicle_count * 3600.0 / coalesce(period_s, 3600) as flow_veh_h,
    occupancy_pct,
    average_speed_kmh,
    _batch_id as batch_id
from {{ source('iot', 'traffic_flow') }}
{{ raw_window('observed_at') }}
{{ latest_per_key(['segment_id', 'observed_at']) }}
