-- One row per lamp and night with at least one reading in fault.
with nights as (
    select * from {{ ref('int_lighting__lamp_nights') }}
    where fault_readings > 0
),
lamps as (
    select * from {{ ref('lamps') }}
)
select
    n.lamp_id,
    n.circuit_id,
    l.district_id,
    n.night_date,
    n.first_fault_at,
    n.last_fault_at,
    n.fault_readings,
    l.technology,
    l.rated_power_w,
    l.lat,
    l.lon
from nights n
left join lamps l using (lamp_id)
