-- Minimum night flow (MNF) per network sector and night: the sector's flow is the sum of
-- its meters' hourly means; the MNF is its minimum over the night window (local hours).
-- Night leakage = MNF - legitimate night use; daily leakage = night leakage x night-day factor.
-- Only hours where every meter of the sector reported count (a missing meter is not a drop).
-- The sector's own baseline is its lowest MNF on nights of the same day type (weekend
-- nights are busier) over the period: an excess over it is what a new leak adds.
with meters_hourly as (
    select sector_id, meter_id, hour_start, flow_m3h
    from {{ ref('int_water__meter_hours') }}
),
meter_counts as (
    select sector_id, count(*) as meters_installed
    from {{ ref('water_meters') }}
    group by all
),
sector_hourly as (
    select h.sector_id, h.hour_start, {{ measured('sum(h.flow_m3h)') }} as flow_m3h, count(*) as meters
    from meters_hourly h
    group by h.sector_id, h.hour_start
),
complete_hours as (
    select s.*
    from sector_hourly s
    left join meter_counts m using (sector_id)
    where s.meters >= coalesce(m.meters_installed, 1)
),
night as (
    select
        sector_id,
        {{ local_date('hour_start') }} as night_date,
        min(flow_m3h) as min_night_flow_m3h,
        max(meters) as meters_reporting
    from complete_hours
    where
        {{ local_hour('hour_start') }} >= {{ var('night_window_start_hour') }}
        and {{ local_hour('hour_start') }} < {{ var('night_window_end_hour') }}
    group by all
),
sectors as (
    select * from {{ ref('water_sectors') }}
),
with_baseline as (
    select
        n.*,
        s.district_id,
        s.legit_night_use_m3h,
        isodow(n.night_date) >= 6 as is_weekend,
        min(n.min_night_flow_m3h) over (partition by n.sector_id, isodow(n.night_date) >= 6) as baseline_min_night_flow_m3h
    from night n
    left join sectors s using (sector_id)
)
select
    sector_id,
    district_id,
    night_date,
    is_weekend,
    min_night_flow_m3h,
    legit_night_use_m3h,
    greatest(min_night_flow_m3h - coalesce(legit_night_use_m3h, 0), 0) as night_leakage_m3h,
    greatest(min_night_flow_m3h - coalesce(legit_night_use_m3h, 0), 0) * {{ var('night_day_factor_h') }} as estimated_daily_leakage_m3,
    baseline_min_night_flow_m3h,
    min_night_flow_m3h - baseline_min_night_flow_m3h as excess_over_baseline_m3h,
    meters_reporting
from with_baseline
