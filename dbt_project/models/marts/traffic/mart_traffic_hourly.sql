-- Hourly flow, occupancy and speed per road segment, congestion level, and deviation
-- from the typical profile: the mean of the same segment, local weekday and hour on the
-- OTHER days of the period (so an incident does not hide in its own reference).
with hourly as (
    select segment_id, hour_start, vehicle_count, flow_veh_h, occupancy_pct, average_speed_kmh
    from {{ ref('int_traffic__segment_hours') }}
),
segments as (
    select * from {{ ref('road_segments') }}
),
profiled as (
    select
        h.*,
        {{ local_date('h.hour_start') }} as local_date,
        isodow(timezone('{{ var("local_tz") }}', h.hour_start)) as local_weekday,
        {{ local_hour('h.hour_start') }} as local_hour,
        s.district_id,
        s.street_name,
        s.capacity_veh_h,
        s.free_flow_speed_kmh
    from hourly h
    left join segments s using (segment_id)
),
typical as (
    select
        *,
        {{ measured('(sum(flow_veh_h) over w - flow_veh_h) / nullif(count(flow_veh_h) over w - 1, 0)') }} as typical_flow_veh_h,
        {{ measured('(sum(average_speed_kmh) over w - average_speed_kmh) / nullif(count(average_speed_kmh) over w - 1, 0)') }}
            as typical_speed_kmh
    from profiled
    window w as (partition by segment_id, local_weekday, local_hour)
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
    -- speed relative to free flow when known, loop occupancy otherwise (bounds: vars
    -- congestion_speed_ratio_min and congestion_occupancy_pct_max, shared with the alert rules)
    case
        when average_speed_kmh is not null and free_flow_speed_kmh > 0
            then
                case
                    {%- for level, ratio in var('congestion_speed_ratio_min').items() %}
                        when average_speed_kmh >= {{ ratio }} * free_flow_speed_kmh then '{{ level }}'
                    {%- endfor %}
                    else 'bloque'
                end
        when occupancy_pct is not null then
            case
                {%- for level, pct in var('congestion_occupancy_pct_max').items() %}
                    when occupancy_pct < {{ pct }} then '{{ level }}'
                {%- endfor %}
                else 'bloque'
            end
    end as congestion_level,
    typical_flow_veh_h,
    typical_speed_kmh,
    100.0 * (flow_veh_h - typical_flow_veh_h) / nullif(typical_flow_veh_h, 0) as flow_deviation_pct,
    100.0 * (average_speed_kmh - typical_speed_kmh) / nullif(typical_speed_kmh, 0) as speed_deviation_pct
from typical
