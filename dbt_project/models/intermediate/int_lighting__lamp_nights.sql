{{ config(materialized='partitioned', partition_by='night_date') }}
-- One row per lamp and night. A night runs from local noon to local noon and is named by
-- the date of its evening, so a lamp burning across midnight counts once.
select
    l.lamp_id,
    l.circuit_id,
    cast(timezone('{{ var("local_tz") }}', l.observed_at) - interval 12 hour as date) as night_date,
    sum(l.power_w * l.interval_h) / 1000.0 as energy_kwh,
    -- what the same burning hours would have cost at full power (dimming_pct = 100)
    sum(
        case
            when l.power_w > 0 and l.dimming_pct > 0 then l.power_w * 100.0 / l.dimming_pct
            else l.power_w
        end * l.interval_h
    ) / 1000.0 as energy_full_power_kwh,
    sum(case when l.power_w > 0 then l.interval_h else 0 end) as burning_hours,
    count(*) filter (where l.status = 'fault') as fault_readings,
    min(l.observed_at) filter (where l.status = 'fault') as first_fault_at,
    max(l.observed_at) filter (where l.status = 'fault') as last_fault_at
from {{ ref('stg_iot__streetlight') }} l
group by all
