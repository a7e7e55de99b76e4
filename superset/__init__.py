"""Superset for Hyperviseur: launcher, REST provisioning (database, datasets, dashboards,
roles, RLS) and query-log harvesting. Runs in the core venv and only talks to Superset over
HTTP; ``superset_config.py`` is the one file loaded inside Superset's own venv."""
