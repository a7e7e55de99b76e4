select
    event_id,
    camera_id,
    event_type,
    occurred_at,
    zone,
    confidence,
    _batch_id as batch_id
from {{ source('cctv', 'events') }}
{{ latest_per_key(['event_id']) }}
