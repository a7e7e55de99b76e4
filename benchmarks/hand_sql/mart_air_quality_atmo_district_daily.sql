-- Daily ATMO index per district: the worst station of the district that day (lowest
-- station id on ties), with the number of stations indexed.
select
    s.district_id,
    d.name as district_name,
    s.local_date,
    max(s.atmo_index) as atmo_index,
    arg_max(s.atmo_class, (s.atmo_index, -s.rank_in_district)) as atmo_class,
    arg_max(s.responsible_pollutant, (s.atmo_index, -s.rank_in_district)) as responsible_pollutant,
    arg_max(s.station_id, (s.atmo_index, -s.rank_in_district)) as worst_station_id,
    count(*) as stations
from (
    select *, dense_rank() over (order by station_id) as rank_in_district
    from mart_air_quality_atmo_daily
    where district_id is not null
) s
left join read_csv('{seeds}/districts.csv', header = true) d on s.district_id = d.district_id
group by s.district_id, d.name, s.local_date
