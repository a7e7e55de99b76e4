"""Top room: Dagster definitions, schedules, sensors and the `hyperviseur` CLI."""
