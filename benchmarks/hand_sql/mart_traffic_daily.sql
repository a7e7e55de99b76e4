-- Daily traffic per road segment and local day, rolled up from the hourly mart.
select
    segment_id,
    min(district_id) as district_id,
    min(street_name) as street_name,
    local_date,
    sum(vehicle_count) as vehicle_count,
    avg(flow_veh_h) as mean_flow_veh_h,
    max(flow_veh_h) as max_flow_veh_h,
    avg(average_speed_kmh) as mean_speed_kmh,
    max(saturation_ratio) as max_saturation_ratio,
    sum(case when congestion_level in ('sature', 'bloque') then 1 else 0 end) as congested_hours,
    count(*) as hours_measured
from mart_traffic_hourly
group by segment_id, local_date
