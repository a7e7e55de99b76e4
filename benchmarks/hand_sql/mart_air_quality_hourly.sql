-- Hourly mean concentration per station and pollutant (UTC hour, local date kept), with
-- the station's district and type.
with deliveries as (
    select
        station_id,
        observed_at,
        lower(pollutant) as pollutant,
        value::double as value_ugm3
    from read_parquet('{raw}/iot/air_quality/**/*.parquet', hive_partitioning = true, union_by_name = true)
    qualify row_number() over (
        partition by station_id, observed_at, pollutant order by _ingested_at desc, _batch_id desc
    ) = 1
),
per_hour as (
    select
        station_id,
        pollutant,
        date_trunc('hour', observed_at) as hour_start,
        round(avg(value_ugm3), 6) as value_ugm3,
        count(*) as measures
    from deliveries
    group by 1, 2, 3
)
select
    p.station_id,
    st.district_id,
    st.station_type,
    p.hour_start,
    (p.hour_start at time zone 'Europe/Paris')::date as local_date,
    p.pollutant,
    p.value_ugm3,
    p.measures
from per_hour p
left join read_csv('{seeds}/air_stations.csv', header = true) st on p.station_id = st.station_id
