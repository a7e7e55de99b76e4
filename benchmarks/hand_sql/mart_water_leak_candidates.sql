-- Sectors with at least one anomalous night (MNF above the sector's baseline by more than
-- max(2 m³/h, 15 % of the baseline)), ranked by excess volume = sum of the anomalous
-- nights' excess x 20 h, largest first (sector id on ties).
with nights as (
    select
        *,
        excess_over_baseline_m3h > greatest(2.0, 0.15 * baseline_min_night_flow_m3h) as anomalous
    from mart_water_night_flow
),
sectors as (
    select
        sector_id,
        district_id,
        min(night_date) filter (anomalous) as first_anomaly_date,
        max(night_date) filter (anomalous) as last_anomaly_date,
        count(*) filter (anomalous) as anomalous_nights,
        count(*) as nights_observed,
        min(baseline_min_night_flow_m3h) as baseline_min_night_flow_m3h,
        avg(min_night_flow_m3h) filter (anomalous) as mean_anomalous_min_night_flow_m3h,
        20 * coalesce(sum(excess_over_baseline_m3h) filter (anomalous), 0) as excess_volume_m3,
        max_by(night_leakage_m3h, night_date) as latest_night_leakage_m3h
    from nights
    group by sector_id, district_id
    having count(*) filter (anomalous) > 0
)
select
    rank() over (order by excess_volume_m3 desc, sector_id asc) as leak_rank,
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
from sectors
