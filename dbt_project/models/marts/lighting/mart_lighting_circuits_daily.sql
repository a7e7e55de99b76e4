-- Consumption, burning hours, lamps in fault and dimming savings per circuit and night.
with nights as (
    select * from {{ ref('int_lighting__lamp_nights') }}
),
circuits as (
    select * from {{ ref('lighting_circuits') }}
)
select
    n.circuit_id,
    c.district_id,
    n.night_date,
    sum(n.energy_kwh) as energy_kwh,
    avg(n.burning_hours) as mean_burning_hours,
    count(*) as lamps_reporting,
    coalesce(any_value(c.lamp_count), count(*)) as lamps_installed,
    count(*) filter (where n.fault_readings > 0) as lamps_in_fault,
    sum(n.energy_full_power_kwh) as energy_without_dimming_kwh,
    sum(n.energy_full_power_kwh) - sum(n.energy_kwh) as dimming_savings_kwh,
    100.0 * (sum(n.energy_full_power_kwh) - sum(n.energy_kwh)) / nullif(sum(n.energy_full_power_kwh), 0) as dimming_savings_pct
from nights n
left join circuits c using (circuit_id)
group by n.circuit_id, c.district_id, n.night_date
