-- One row per station, instant and pollutant; latest delivery wins.
select
    station_id,
    observed_at,
    lower(pollutant) as pollutant,
    cast(value as double) as value_ugm3,
    lat,
    lon,
    _batch_id as batch_id
from {{ source('iot', 'air_quality') }}
{{ raw_window('observed_at') }}
{{ latest_per_key(['station_id', 'observed_at', 'pollutant']) }}
