-- Street lighting per circuit and night (local noon to local noon, named by the evening's
-- date): energy, mean burning hours per lamp, lamps reporting / installed / in fault, and
-- what dimming saved against the same burning hours at full power. A reading stands for
-- the time to the lamp's next reading, at most one hour (one hour for the last one).
with deliveries as (
    select lamp_id, circuit_id, observed_at, coalesce(power_w, 0) as power_w, status, dimming_pct
    from read_parquet('{raw}/iot/streetlight/**/*.parquet', hive_partitioning = true, union_by_name = true)
    qualify row_number() over (
        partition by lamp_id, observed_at order by _ingested_at desc, _batch_id desc
    ) = 1
),
timed as (
    select
        *,
        least(
            coalesce(
                epoch(lead(observed_at) over (partition by lamp_id order by observed_at)) - epoch(observed_at), 3600
            ),
            3600
        ) / 3600.0 as hours
    from deliveries
),
lamp_nights as (
    select
        lamp_id,
        circuit_id,
        cast((observed_at at time zone 'Europe/Paris') - interval 12 hour as date) as night_date,
        sum(power_w * hours) / 1000.0 as energy_kwh,
        sum(if(power_w > 0 and dimming_pct > 0, power_w * 100.0 / dimming_pct, power_w) * hours) / 1000.0
            as full_power_kwh,
        sum(if(power_w > 0, hours, 0)) as burning_hours,
        bool_or(status = 'fault') as in_fault
    from timed
    group by lamp_id, circuit_id, night_date
)
select
    n.circuit_id,
    c.district_id,
    n.night_date,
    sum(n.energy_kwh) as energy_kwh,
    avg(n.burning_hours) as mean_burning_hours,
    count(*) as lamps_reporting,
    coalesce(min(c.lamp_count), count(*)) as lamps_installed,
    count(*) filter (n.in_fault) as lamps_in_fault,
    sum(n.full_power_kwh) as energy_without_dimming_kwh,
    sum(n.full_power_kwh) - sum(n.energy_kwh) as dimming_savings_kwh,
    100.0 * (sum(n.full_power_kwh) - sum(n.energy_kwh)) / nullif(sum(n.full_power_kwh), 0) as dimming_savings_pct
from lamp_nights n
left join read_csv('{seeds}/lighting_circuits.csv', header = true) c on n.circuit_id = c.circuit_id
group by n.circuit_id, c.district_id, n.night_date
