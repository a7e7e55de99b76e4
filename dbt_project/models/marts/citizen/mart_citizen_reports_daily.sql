-- Reports per district, category and local day of creation; no personal data.
select
    coalesce(district_id, 'inconnu') as district_id,
    category,
    any_value(category_label) as category_label,
    any_value(service) as service,
    local_date,
    count(*) as reports_created,
    count(*) filter (where not is_closed) as reports_still_open,
    count(*) filter (where is_closed) as reports_closed,
    avg(resolution_hours) filter (where is_closed) as mean_resolution_hours,
    median(resolution_hours) filter (where is_closed) as median_resolution_hours
from {{ ref('mart_citizen_reports') }}
group by coalesce(district_id, 'inconnu'), category, local_date
