"""The periods along time whose bounds move only at midnight, shared by the starter charts
(``bundle.py``) and the answers sent before Superset's checks (``answer_cache.py``).

Loaded by path inside Superset's virtualenv (``superset_config.py``): no imports.
"""

# The period a starter chart along time shows by default, by time grain: from a year before
# today's midnight to tomorrow's, the day under way included. Years of history at a day's grain
# would exceed the row limit (10,000, ``EXPORT_ROW_LIMIT`` for the agents) and lose points
# without a word; an agent widens the period in the chart's filters.
TIME_WINDOW = {
    "P1D": ('DATEADD(DATETIME("today"), -1, year) : tomorrow', "Les 12 derniers mois, aujourd'hui compris"),
}

# Periods whose both bounds are whole days counted from Superset's "today" (the server's date):
# the starter windows and Superset's own "Last …" ranges (from today's midnight back). The same
# request asks for the same rows all day long, and for others the next day.
DAY_BOUND_RANGES = frozenset(
    [window for window, _label in TIME_WINDOW.values()]
    + ["Last day", "Last week", "Last month", "Last quarter", "Last year"]
)
