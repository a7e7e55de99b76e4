-- One row per lamp reading; the interval a reading stands for is the time to the next
-- reading of the same lamp (capped at one hour, one hour for the last reading).
with readings as (
    select lamp_id, circuit_id, observed_at, power_w, status, dimming_pct, _batch_id
    from {{ source('iot', 'streetlight') }}
    {{ raw_window('observed_at') }}
    {{ latest_per_key(['lamp_id', 'observed_at']) }}
)
select
    lamp_id,
    circuit_id,
    observed_at,
    coalesce(power_w, 0) as power_w,
    status,
    dimming_pct,
    least(
        coalesce(epoch(lead(observed_at) over (partition by lamp_id order by observed_at) - observed_at), 3600),
        3600
    ) / 3600.0 as interval_h,
    _batch_id as batch_id
from readings
