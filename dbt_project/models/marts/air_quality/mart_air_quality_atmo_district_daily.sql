-- Daily ATMO index per district: the worst index among the district's stations.
with station_days as (
    select * from {{ ref('mart_air_quality_atmo_daily') }}
    where district_id is not null
),
ranked as (
    select
        *,
        row_number() over (partition by district_id, local_date order by atmo_index desc, station_id asc) as rn,
        count(*) over (partition by district_id, local_date) as stations
    from station_days
)
select
    r.district_id,
    d.name as district_name,
    r.local_date,
    r.atmo_index,
    {{ atmo_label('r.atmo_index') }} as atmo_class,
    r.responsible_pollutant,
    r.station_id as worst_station_id,
    r.stations
from ranked r
left join {{ ref('districts') }} d using (district_id)
where r.rn = 1
