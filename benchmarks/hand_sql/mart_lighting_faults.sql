-- One row per lamp and night (local noon to local noon, named by the evening's date) with
-- at least one reading in fault: first and last fault time, fault readings, and the lamp's
-- referential (district, technology, rated power, position).
with deliveries as (
    select lamp_id, circuit_id, observed_at, status
    from read_parquet('{raw}/iot/streetlight/**/*.parquet', hive_partitioning = true, union_by_name = true)
    qualify row_number() over (
        partition by lamp_id, observed_at order by _ingested_at desc, _batch_id desc
    ) = 1
),
faults as (
    select
        lamp_id,
        circuit_id,
        cast((observed_at at time zone 'Europe/Paris') - interval 12 hour as date) as night_date,
        min(observed_at) as first_fault_at,
        max(observed_at) as last_fault_at,
        count(*) as fault_readings
    from deliveries
    where status = 'fault'
    group by 1, 2, 3
)
select
    f.lamp_id,
    f.circuit_id,
    l.district_id,
    f.night_date,
    f.first_fault_at,
    f.last_fault_at,
    f.fault_readings,
    l.technology,
    l.rated_power_w,
    l.lat,
    l.lon
from faults f
left join read_csv('{seeds}/lamps.csv', header = true) l on f.lamp_id = l.lamp_id
