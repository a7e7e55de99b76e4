-- Leak candidates are ranked 1..n without gaps, by decreasing excess volume.
with ranked as (
    select
        leak_rank, excess_volume_m3,
        lag(excess_volume_m3) over (order by leak_rank) as previous_volume,
        row_number() over (order by leak_rank) as expected_rank
    from {{ ref('mart_water_leak_candidates') }}
)
select *
from ranked
where leak_rank <> expected_rank or excess_volume_m3 > previous_volume
