select
    station_id,
    observed_at,
    temperature_c,
    humidity_pct,
    wind_speed_ms,
    wind_direction_deg,
    precipitation_mm,
    pressure_hpa,
    _batch_id as batch_id
from {{ source('weather', 'observations') }}
{{ latest_per_key(['station_id', 'observed_at']) }}
