-- Minimum night flow (MNF) per water sector and night: the sector's hourly flow is the sum
-- of its meters' hourly means, counted only when every installed meter reported; the MNF is
-- its minimum over local hours 02:00-04:00. Night leakage = MNF - legitimate night use
-- (at least 0); daily leakage = x 20 h (night-day factor). The baseline is the sector's
-- lowest MNF over nights of the same kind (weekend or not) in the period.
with deliveries as (
    select meter_id, sector_id, observed_at, flow_m3h
    from read_parquet('{raw}/iot/water_flow/**/*.parquet', hive_partitioning = true, union_by_name = true)
    qualify row_number() over (
        partition by meter_id, observed_at order by _ingested_at desc, _batch_id desc
    ) = 1
),
meter_hours as (
    select sector_id, meter_id, date_trunc('hour', observed_at) as hour_start, round(avg(flow_m3h), 6) as flow_m3h
    from deliveries
    group by 1, 2, 3
),
sector_hours as (
    select sector_id, hour_start, round(sum(flow_m3h), 6) as flow_m3h, count(*) as meters
    from meter_hours
    group by 1, 2
),
installed as (
    select sector_id, count(*) as meters_installed
    from read_csv('{seeds}/water_meters.csv', header = true)
    group by 1
),
nights as (
    select
        h.sector_id,
        cast(h.hour_start at time zone 'Europe/Paris' as date) as night_date,
        min(h.flow_m3h) as min_night_flow_m3h,
        max(h.meters) as meters_reporting
    from sector_hours h
    left join installed i on h.sector_id = i.sector_id
    where
        h.meters >= coalesce(i.meters_installed, 1)
        and hour(h.hour_start at time zone 'Europe/Paris') in (2, 3)
    group by 1, 2
),
baselines as (
    select sector_id, dayofweek(night_date) in (0, 6) as is_weekend, min(min_night_flow_m3h) as baseline
    from nights
    group by 1, 2
)
select
    n.sector_id,
    s.district_id,
    n.night_date,
    dayofweek(n.night_date) in (0, 6) as is_weekend,
    n.min_night_flow_m3h,
    s.legit_night_use_m3h,
    greatest(n.min_night_flow_m3h - coalesce(s.legit_night_use_m3h, 0), 0) as night_leakage_m3h,
    20 * greatest(n.min_night_flow_m3h - coalesce(s.legit_night_use_m3h, 0), 0) as estimated_daily_leakage_m3,
    b.baseline as baseline_min_night_flow_m3h,
    n.min_night_flow_m3h - b.baseline as excess_over_baseline_m3h,
    n.meters_reporting
from nights n
inner join baselines b on n.sector_id = b.sector_id and b.is_weekend = (dayofweek(n.night_date) in (0, 6))
left join read_csv('{seeds}/water_sectors.csv', header = true) s on n.sector_id = s.sector_id
