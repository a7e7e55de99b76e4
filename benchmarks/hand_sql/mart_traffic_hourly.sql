-- Hourly traffic per road segment: vehicles, flow (veh/h over the measured seconds),
-- occupancy, speed, saturation, congestion level and the deviation from the segment's
-- usual flow and speed at the same local weekday and hour on the other days.
with deliveries as (
    select
        segment_id,
        observed_at,
        vehicle_count,
        coalesce(period_s, 3600) as period_s,
        occupancy_pct,
        average_speed_kmh
    from read_parquet('{raw}/iot/traffic_flow/**/*.parquet', hive_partitioning = true, union_by_name = true)
    qualify row_number() over (
        partition by segment_id, observed_at order by _ingested_at desc, _batch_id desc
    ) = 1
),
per_hour as (
    select
        segment_id,
        date_trunc('hour', observed_at) as hour_start,
        sum(vehicle_count) as vehicle_count,
        round(sum(vehicle_count) * 3600.0 / nullif(sum(period_s), 0), 6) as flow_veh_h,
        round(avg(occupancy_pct), 6) as occupancy_pct,
        round(avg(average_speed_kmh), 6) as average_speed_kmh
    from deliveries
    group by 1, 2
),
located as (
    select
        p.*,
        p.hour_start at time zone 'Europe/Paris' as local_ts,
        seg.district_id,
        seg.street_name,
        seg.capacity_veh_h,
        seg.free_flow_speed_kmh
    from per_hour p
    left join read_csv('{seeds}/road_segments.csv', header = true) seg on p.segment_id = seg.segment_id
),
slots as (
    -- totals per segment, weekday and hour: the usual value of one hour is the slot's
    -- total minus that hour, over the slot's count minus one
    select
        segment_id,
        isodow(local_ts) as wd,
        hour(local_ts) as hr,
        sum(flow_veh_h) as flow_sum,
        count(flow_veh_h) as flow_n,
        sum(average_speed_kmh) as speed_sum,
        count(average_speed_kmh) as speed_n
    from located
    group by 1, 2, 3
),
measured as (
    select
        l.segment_id,
        l.district_id,
        l.street_name,
        l.hour_start,
        cast(l.local_ts as date) as local_date,
        isodow(l.local_ts) as local_weekday,
        hour(l.local_ts) as local_hour,
        l.vehicle_count,
        l.flow_veh_h,
        l.occupancy_pct,
        l.average_speed_kmh,
        l.capacity_veh_h,
        l.free_flow_speed_kmh,
        round((s.flow_sum - l.flow_veh_h) / nullif(s.flow_n - 1, 0), 6) as typical_flow_veh_h,
        round((s.speed_sum - l.average_speed_kmh) / nullif(s.speed_n - 1, 0), 6) as typical_speed_kmh
    from located l
    inner join slots s
        on l.segment_id = s.segment_id and s.wd = isodow(l.local_ts) and s.hr = hour(l.local_ts)
)
select
    segment_id,
    district_id,
    street_name,
    hour_start,
    local_date,
    local_weekday,
    local_hour,
    vehicle_count,
    flow_veh_h,
    occupancy_pct,
    average_speed_kmh,
    capacity_veh_h,
    flow_veh_h / nullif(capacity_veh_h, 0) as saturation_ratio,
    average_speed_kmh / nullif(free_flow_speed_kmh, 0) as speed_ratio,
    case
        when average_speed_kmh is not null and free_flow_speed_kmh > 0
            then
                case
                    when average_speed_kmh / free_flow_speed_kmh >= 0.75 then 'fluide'
                    when average_speed_kmh / free_flow_speed_kmh >= 0.5 then 'dense'
                    when average_speed_kmh / free_flow_speed_kmh >= 0.25 then 'sature'
                    else 'bloque'
                end
        when occupancy_pct < 15 then 'fluide'
        when occupancy_pct < 30 then 'dense'
        when occupancy_pct < 50 then 'sature'
        when occupancy_pct is not null then 'bloque'
    end as congestion_level,
    typical_flow_veh_h,
    typical_speed_kmh,
    100.0 * (flow_veh_h / nullif(typical_flow_veh_h, 0) - 1) as flow_deviation_pct,
    100.0 * (average_speed_kmh / nullif(typical_speed_kmh, 0) - 1) as speed_deviation_pct
from measured
