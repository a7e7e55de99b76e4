-- Leak candidates: sectors whose minimum night flow rose above their own baseline,
-- ranked by the excess volume it represents over the period (excess x night-day factor).
with nights as (
    select * from {{ ref('mart_water_night_flow') }}
),
flagged as (
    select
        *,
        excess_over_baseline_m3h > greatest(
            {{ var('leak_min_excess_m3h') }},
            {{ var('leak_min_excess_ratio') }} * baseline_min_night_flow_m3h
        ) as is_anomalous
    from nights
),
per_sector as (
    select
        sector_id,
        district_id,
        min(night_date) filter (where is_anomalous) as first_anomaly_date,
        max(night_date) filter (where is_anomalous) as last_anomaly_date,
        count(*) filter (where is_anomalous) as anomalous_nights,
        count(*) as nights_observed,
        min(baseline_min_night_flow_m3h) as baseline_min_night_flow_m3h,
        avg(min_night_flow_m3h) filter (where is_anomalous) as mean_anomalous_min_night_flow_m3h,
        coalesce(sum(excess_over_baseline_m3h) filter (where is_anomalous), 0) * {{ var('night_day_factor_h') }} as excess_volume_m3,
        arg_max(night_leakage_m3h, night_date) as latest_night_leakage_m3h
    from flagged
    group by sector_id, district_id
)
select
    row_number() over (order by excess_volume_m3 desc, sector_id asc) as leak_rank,
    sector_id,
    district_id,
    excess_volume_m3,
    first_anomaly_date,
    last_anomaly_date,
    anomalous_nights,
    nights_observed,
    baseline_min_night_flow_m3h,
    mean_anomalous_min_night_flow_m3h,
    latest_night_leakage_m3h
from per_sector
where anomalous_nights > 0
