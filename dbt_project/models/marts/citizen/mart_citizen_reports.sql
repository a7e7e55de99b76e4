-- One row per citizen report with its resolution time. Keeps free text and reporter
-- columns: governance classifies and masks them, this mart is never published as is.
with reports as (
    select * from {{ ref('stg_citizen__reports') }}
),
categories as (
    select * from {{ ref('report_categories') }}
)
select
    r.report_id,
    r.channel,
    r.created_at,
    r.updated_at,
    r.closed_at,
    {{ local_date('r.created_at') }} as local_date,
    r.status,
    r.status = 'closed' as is_closed,
    epoch(r.closed_at - r.created_at) / 3600.0 as resolution_hours,
    r.category,
    c.label_fr as category_label,
    c.service,
    r.subcategory,
    r.district_id,
    r.description,
    r.address,
    r.lat,
    r.lon,
    r.reporter_name,
    r.reporter_phone,
    r.reporter_email
from reports r
left join categories c using (category)
