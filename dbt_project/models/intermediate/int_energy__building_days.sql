{{ config(materialized='partitioned', partition_by='local_date') }}
-- Energy per public building and local day, with the hours its readings cover.
select
    building_id,
    {{ local_date('observed_at') }} as local_date,
    {{ measured('sum(energy_kwh)') }} as energy_kwh,
    sum(period_s) / 3600.0 as hours_covered,
    count(*) as readings
from {{ ref('stg_iot__building_energy') }}
group by all
