-- Daily consumption per public building, normalised by heating degree days (DJU, base
-- 18 °C, from the mean of the day's min and max temperatures over the weather stations),
-- and drift versus the building's own baseline: its median kWh per DJU on days of the same
-- type (working day, Saturday, Sunday: opening hours differ) over the period.
-- The design reference (seed baseline_kwh_per_dju) is kept alongside for comparison.
with energy as (
    select building_id, local_date, energy_kwh, hours_covered, readings
    from {{ ref('int_energy__building_days') }}
),
weather as (
    select
        {{ local_date('observed_at') }} as local_date,
        min(temperature_c) as min_temperature_c,
        max(temperature_c) as max_temperature_c,
        avg(temperature_c) as mean_temperature_c
    from {{ ref('stg_weather__observations') }}
    where temperature_c is not null
    group by all
),
buildings as (
    select * from {{ ref('buildings') }}
),
joined as (
    select
        e.building_id,
        b.name as building_name,
        b.building_type,
        b.district_id,
        e.local_date,
        e.energy_kwh,
        e.energy_kwh / nullif(b.floor_area_m2, 0) as energy_kwh_per_m2,
        w.mean_temperature_c,
        greatest({{ var('dju_base_c') }} - (w.min_temperature_c + w.max_temperature_c) / 2.0, 0) as dju,
        b.baseline_kwh_per_dju as reference_kwh_per_dju,
        case isodow(e.local_date) when 6 then 'samedi' when 7 then 'dimanche' else 'ouvre' end as day_type,
        e.hours_covered,
        e.readings
    from energy e
    left join buildings b using (building_id)
    left join weather w using (local_date)
),
normalised as (
    select
        *,
        -- partial days (period edges, meter gaps) are not compared
        case when dju >= 1 and hours_covered >= {{ var('energy_min_hours_covered') }} then energy_kwh / dju end as kwh_per_dju
    from joined
),
baselined as (
    select
        *,
        median(kwh_per_dju) over (partition by building_id, day_type) as baseline_kwh_per_dju
    from normalised
)
select
    *,
    baseline_kwh_per_dju * dju as expected_energy_kwh,
    100.0 * (kwh_per_dju - baseline_kwh_per_dju) / nullif(baseline_kwh_per_dju, 0) as drift_pct,
    coalesce(
        abs(100.0 * (kwh_per_dju - baseline_kwh_per_dju) / nullif(baseline_kwh_per_dju, 0)) > {{ var('energy_drift_threshold_pct') }},
        false
    ) as is_drifting
from baselined
