-- Cross-domain timeline: one row per event detected in the marts or reported by a system
-- (consecutive anomalous hours or days of the same entity form one event).
{% set tz = var('local_tz') %}
with pollution_days as (
    select
        station_id, district_id, local_date, atmo_index, atmo_class, responsible_pollutant,
        local_date - cast(row_number() over (partition by station_id order by local_date) as integer) as island
    from {{ ref('mart_air_quality_atmo_daily') }}
    where atmo_index >= {{ atmo_class_index(var('atmo_episode_min_class')) }}
),
pollution as (
    select
        'pollution_peak' as event_kind, 'detecte' as origin, 'air' as domain,
        'station' as entity_type, station_id as entity_id, any_value(district_id) as district_id,
        timezone('{{ tz }}', cast(min(local_date) as timestamp)) as started_at,
        timezone('{{ tz }}', cast(max(local_date) + 1 as timestamp)) as ended_at,
        max(atmo_index) as severity,
        cast(max(atmo_index) as double) as measure,
        'Indice ATMO ' || arg_max(atmo_class, atmo_index) || ' à la station ' || station_id || ' (polluant : '
        || arg_max(responsible_pollutant, atmo_index) || ', ' || count(*) || ' jour(s))' as description_fr,
        'mart_air_quality_atmo_daily' as source_model
    from pollution_days
    group by station_id, island
),
jam_hours as (
    select
        segment_id, district_id, street_name, hour_start, average_speed_kmh,
        hour_start - to_hours(row_number() over (partition by segment_id order by hour_start)) as island
    from {{ ref('mart_traffic_hourly') }}
    where congestion_level in ('sature', 'bloque')
),
traffic as (
    select
        'traffic_jam', 'detecte', 'trafic', 'segment', segment_id, any_value(district_id),
        min(hour_start), max(hour_start) + interval 1 hour,
        case when count(*) >= 3 then 3 else 2 end,
        min(average_speed_kmh),
        'Congestion sur ' || coalesce(any_value(street_name), segment_id) || ' pendant ' || count(*) || ' h (vitesse minimale '
        || coalesce(cast(round(min(average_speed_kmh)) as varchar), '?') || ' km/h)',
        'mart_traffic_hourly'
    from jam_hours
    group by segment_id, island
    having count(*) >= 2
),
leaks as (
    select
        'leak', 'detecte', 'eau', 'sector', sector_id, district_id,
        timezone('{{ tz }}', cast(first_anomaly_date as timestamp)),
        timezone('{{ tz }}', cast(last_anomaly_date + 1 as timestamp)),
        case when leak_rank = 1 then 3 else 2 end,
        excess_volume_m3,
        'Fuite probable sur le secteur ' || sector_id || ' : environ ' || cast(round(excess_volume_m3) as varchar)
        || ' m³ perdus (rang ' || leak_rank || ')',
        'mart_water_leak_candidates'
    from {{ ref('mart_water_leak_candidates') }}
),
lamp_nights as (
    select
        circuit_id, district_id, night_date, lamps_in_fault,
        night_date - cast(row_number() over (partition by circuit_id order by night_date) as integer) as island
    from {{ ref('mart_lighting_circuits_daily') }}
    where lamps_in_fault >= {{ var('lamp_failure_cluster_min') }}
),
lighting as (
    select
        'lamp_failure_cluster', 'detecte', 'eclairage', 'circuit', circuit_id, any_value(district_id),
        timezone('{{ tz }}', cast(min(night_date) as timestamp) + interval 12 hour),
        timezone('{{ tz }}', cast(max(night_date) as timestamp) + interval 36 hour),
        2,
        cast(max(lamps_in_fault) as double),
        cast(max(lamps_in_fault) as varchar) || ' points lumineux en panne sur le circuit ' || circuit_id,
        'mart_lighting_circuits_daily'
    from lamp_nights
    group by circuit_id, island
),
drift_days as (
    select
        building_id, building_name, district_id, local_date, drift_pct,
        local_date - cast(row_number() over (partition by building_id order by local_date) as integer) as island
    from {{ ref('mart_building_energy_daily') }}
    where is_drifting
),
energy as (
    select
        'energy_drift', 'detecte', 'energie', 'building', building_id, any_value(district_id),
        timezone('{{ tz }}', cast(min(local_date) as timestamp)),
        timezone('{{ tz }}', cast(max(local_date) + 1 as timestamp)),
        1,
        max(drift_pct),
        'Dérive de consommation de ' || coalesce(any_value(building_name), building_id) || ' : '
        || cast(round(max(drift_pct)) as varchar) || ' % par rapport à sa référence',
        'mart_building_energy_daily'
    from drift_days
    group by building_id, island
),
report_hours as (
    select district_id, date_trunc('hour', created_at) as hour_start, count(*) as reports
    from {{ ref('mart_citizen_reports') }}
    where district_id is not null
    group by all
),
report_rates as (
    -- mean reports per hour of each district over the observed period (empty hours count)
    select
        district_id,
        count(*) / greatest(
            (select epoch(max(a.created_at) - min(a.created_at)) from {{ ref('mart_citizen_reports') }} a) / 3600.0, 1
        ) as hourly_rate
    from {{ ref('mart_citizen_reports') }}
    where district_id is not null
    group by district_id
),
burst_hours as (
    select
        h.*,
        r.hourly_rate,
        h.hour_start - to_hours(row_number() over (partition by h.district_id order by h.hour_start)) as island
    from report_hours h
    inner join report_rates r using (district_id)
    -- Poisson reading: far above the district's usual rate, and not a handful of reports
    where
        h.reports >= {{ var('report_burst_min') }}
        and h.reports > r.hourly_rate + {{ var('report_burst_k') }} * sqrt(r.hourly_rate)
),
reports as (
    select
        'report_burst', 'signale', 'signalements', 'district', district_id, district_id,
        min(hour_start), max(hour_start) + interval 1 hour,
        2,
        cast(sum(reports) as double),
        cast(sum(reports) as varchar) || ' signalements en ' || count(*) || ' h dans le quartier ' || district_id
        || ' (habituellement ' || cast(round(any_value(hourly_rate) * 24, 1) as varchar) || ' par jour)',
        'mart_citizen_reports'
    from burst_hours
    group by district_id, island
),
cameras as (
    select * from {{ ref('cameras') }}
),
cctv as (
    select
        'cctv_event', 'signale', 'videoprotection', 'camera', e.camera_id, c.district_id,
        e.occurred_at, e.occurred_at,
        1,
        e.confidence,
        'Vidéoprotection : ' || e.event_type || coalesce(' (' || e.zone || ')', ''),
        'stg_cctv__events'
    from {{ ref('stg_cctv__events') }} e
    left join cameras c using (camera_id)
    where e.confidence >= {{ var('cctv_min_confidence') }}
),
events as (
    select * from pollution
    union all
    select * from traffic
    union all
    select * from leaks
    union all
    select * from lighting
    union all
    select * from energy
    union all
    select * from reports
    union all
    select * from cctv
)
select
    md5(event_kind || '|' || entity_id || '|' || cast(started_at as varchar)) as event_id,
    *
from events
order by started_at, event_kind, entity_id
