-- One row per report (latest state wins); keeps the personal columns, masked downstream.
-- Reads the raw reports through stg_citizen__reports_decrypted: their personal columns are
-- encrypted at rest and DuckDB alone cannot read them.
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
from {{ ref('stg_citizen__reports_decrypted') }}
qualify row_number() over (
    partition by report_id order by coalesce(updated_at, created_at) desc, _ingested_at desc
) = 1
