-- One row per report (latest state wins); keeps the personal columns, masked downstream.
select
    report_id,
    channel,
    created_at,
    updated_at,
    closed_at,
    status,
    lower(category) as category,
    subcategory,
    description,
    address,
    district_id,
    lat,
    lon,
    reporter_name,
    reporter_phone,
    reporter_email,
    _batch_id as batch_id
from {{ source('citizen', 'reports') }}
qualify row_number() over (
    partition by report_id order by coalesce(updated_at, created_at) desc, _ingested_at desc
) = 1
