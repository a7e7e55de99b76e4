select
    post_id,
    platform,
    author_handle,
    text,
    posted_at,
    lat,
    lon,
    _batch_id as batch_id
from {{ source('social', 'posts') }}
{{ latest_per_key(['post_id']) }}
