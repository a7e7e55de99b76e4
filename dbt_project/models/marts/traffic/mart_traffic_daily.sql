-- Daily traffic per road segment and local (Europe/Paris) day, from the hourly mart:
-- dashboards over weeks of readings read one row per segment and day instead of 24.
select
    segment_id,
    any_value(district_id) as district_id,
    any_value(street_name) as street_name,
    local_date,
    sum(vehicle_count) as vehicle_count,
    avg(flow_veh_h) as mean_flow_veh_h,
    max(flow_veh_h) as max_flow_veh_h,
    avg(average_speed_kmh) as mean_speed_kmh,
    max(saturation_ratio) as max_saturation_ratio,
    count(*) filter (where congestion_level in ('sature', 'bloque')) as congested_hours,
    count(*) as hours_measured
from {{ ref('mart_traffic_hourly') }}
group by segment_id, local_date
