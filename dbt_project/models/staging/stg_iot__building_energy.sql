select
    building_id,
    observed_at,
    energy_kwh,
    coalesce(period_s, 3600) as period_s,
    _batch_id as batch_id
from {{ source('iot', 'building_energy') }}
{{ raw_window('observed_at') }}
{{ latest_per_key(['building_id', 'observed_at']) }}
