"""Open data for citizens: gated publication of PUBLIC datasets (CSV, Parquet, JSON, GeoJSON),
the DCAT-AP catalog and the static French portal."""
