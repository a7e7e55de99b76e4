-- The ATMO index of a station-day is its worst sub-index (arrêté du 10 juillet 2020).
select *
from {{ ref('mart_air_quality_atmo_daily') }}
where atmo_index <> greatest(
    coalesce(subindex_no2, 0), coalesce(subindex_so2, 0), coalesce(subindex_o3, 0),
    coalesce(subindex_pm10, 0), coalesce(subindex_pm25, 0)
)
