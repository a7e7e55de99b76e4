"""The period the starter charts along time show by default (``bundle.py``)."""

# The period a starter chart along time shows by default, by time grain: from a year before
# today's midnight to tomorrow's, the day under way included. Years of history at a day's grain
# would exceed the row limit (10,000, ``EXPORT_ROW_LIMIT`` for the agents) and lose points
# without a word; an agent widens the period in the chart's filters.
TIME_WINDOW = {
    "P1D": ('DATEADD(DATETIME("today"), -1, year) : tomorrow', "Les 12 derniers mois, aujourd'hui compris"),
}
