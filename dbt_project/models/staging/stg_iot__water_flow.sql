select
    meter_id,
    sector_id,
    observed_at,
    flow_m3h,
    _batch_id as batch_id
from {{ source('iot', 'water_flow') }}
{{ raw_window('observed_at') }}
{{ latest_per_key(['meter_id', 'observed_at']) }}
