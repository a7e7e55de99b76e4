-- Daily energy per public building and local day, normalised by heating degree days
-- (DJU = max(18 - (min + max temperature of the day over all weather stations) / 2, 0)).
-- Only days with DJU >= 1 and at least 20 hours of readings get a kWh per DJU; the
-- building's baseline is the median kWh per DJU over days of the same type (working day,
-- Saturday, Sunday); a day drifts when it is more than 25 % away from it.
with meter_readings as (
    select building_id, observed_at, energy_kwh, coalesce(period_s, 3600) as period_s
    from read_parquet('{raw}/iot/building_energy/**/*.parquet', hive_partitioning = true, union_by_name = true)
    qualify row_number() over (
        partition by building_id, observed_at order by _ingested_at desc, _batch_id desc
    ) = 1
),
energy as (
    select
        building_id,
        cast(observed_at at time zone 'Europe/Paris' as date) as local_date,
        round(sum(energy_kwh), 6) as energy_kwh,
        sum(period_s) / 3600.0 as hours_covered,
        count(*) as readings
    from meter_readings
    group by 1, 2
),
observations as (
    select observed_at, temperature_c
    from read_parquet('{raw}/weather/observations/**/*.parquet', hive_partitioning = true, union_by_name = true)
    qualify row_number() over (
        partition by station_id, observed_at order by _ingested_at desc, _batch_id desc
    ) = 1
),
weather as (
    select
        cast(observed_at at time zone 'Europe/Paris' as date) as local_date,
        min(temperature_c) as min_t,
        max(temperature_c) as max_t,
        avg(temperature_c) as mean_temperature_c
    from observations
    where temperature_c is not null
    group by 1
),
days as (
    select
        e.building_id,
        b.name as building_name,
        b.building_type,
        b.district_id,
        e.local_date,
        e.energy_kwh,
        e.energy_kwh / nullif(b.floor_area_m2, 0) as energy_kwh_per_m2,
        w.mean_temperature_c,
        greatest(18 - (w.min_t + w.max_t) / 2.0, 0) as dju,
        b.baseline_kwh_per_dju as reference_kwh_per_dju,
        case dayofweek(e.local_date) when 6 then 'samedi' when 0 then 'dimanche' else 'ouvre' end as day_type,
        e.hours_covered,
        e.readings
    from energy e
    left join read_csv('{seeds}/buildings.csv', header = true) b on e.building_id = b.building_id
    left join weather w on e.local_date = w.local_date
),
rated as (
    select *, if(dju >= 1 and hours_covered >= 20, energy_kwh / dju, null) as kwh_per_dju
    from days
),
baselines as (
    select building_id, day_type, quantile_cont(kwh_per_dju, 0.5) as baseline_kwh_per_dju
    from rated
    group by 1, 2
)
select
    r.*,
    bl.baseline_kwh_per_dju,
    bl.baseline_kwh_per_dju * r.dju as expected_energy_kwh,
    100.0 * (r.kwh_per_dju / nullif(bl.baseline_kwh_per_dju, 0) - 1) as drift_pct,
    coalesce(abs(100.0 * (r.kwh_per_dju / nullif(bl.baseline_kwh_per_dju, 0) - 1)) > 25, false) as is_drifting
from rated r
inner join baselines bl on r.building_id = bl.building_id and r.day_type = bl.day_type
