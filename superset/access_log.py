"""Row counts of chart data answers in Superset's action log (CNIL access log).

Superset 6.1 logs every chart data request (``ChartDataRestApi.data`` / ``data_from_cache``,
dashboards, Explore and CSV downloads alike) in its ``logs`` table, but not how many rows
the answer held. :class:`RowCountEventLogger` (``EVENT_LOGGER`` of ``superset_config.py``)
holds a request's log entries back until the response exists; the ``after_request`` hook that
:func:`install` adds (``FLASK_APP_MUTATOR``) counts the rows OF THE RESPONSE and writes the
entry with ``rowcount`` (sum over the queries) and ``rowcounts`` (one per query):

- JSON: the ``rowcount`` Superset gives for each query (noted from the result it encodes);
- CSV: the records of the file, header excluded (Superset's ``CSV_EXPORT`` encoding and
  separator);
- an error answer: 0 (no row left the server);
- Excel, zipped multi-query exports and streamed CSV: not counted (``rowcount`` null), so
  the harvest keeps the requested ``row_limit`` for them.

An entry still held when the request ends without a response (unhandled error) is written
by the ``teardown_request`` hook, without a count. ``superset/harvest.py`` copies the
counts into the platform audit log.

Loaded by path by ``superset_config.py`` (Superset's own ``superset`` package shadows this
folder); runs only inside Superset's virtualenv.
"""

from __future__ import annotations

import csv
import functools
import io
import logging

from flask import g, has_request_context

from superset.utils.log import DBEventLogger

CHART_REQUESTS_INDEX = "ix_hyperviseur_logs_action_dttm"
COUNTED_ACTIONS = frozenset({"ChartDataRestApi.data", "ChartDataRestApi.data_from_cache"})
_PENDING = "hyperviseur_pending_logs"
_KNOWN = "hyperviseur_known_rowcounts"

log = logging.getLogger(__name__)


def response_rowcounts(response, csv_export: dict) -> list[int] | None:
    """Rows per query of a chart data response; None when they cannot be read from it."""
    if response.status_code >= 400:
        return [0]
    if response.is_streamed:
        return None
    if response.mimetype == "application/json":
        body = response.get_json(silent=True)
        queries = body.get("result") if isinstance(body, dict) else None
        counts = [q.get("rowcount") for q in queries or [] if isinstance(q, dict)]
        return counts if counts and all(isinstance(c, int) for c in counts) else None
    if response.mimetype == "text/csv":
        text = response.get_data().decode(csv_export.get("encoding") or "utf-8", errors="replace").lstrip("\ufeff")
        records = sum(1 for _ in csv.reader(io.StringIO(text), delimiter=csv_export.get("sep", ",")))
        return [max(records - 1, 0)]
    return None


def note_rowcounts(rowcounts: list[int]) -> None:
    """Rows per query of the JSON answer about to be sent, known from when it was made
    (``answer_cache.py`` sends kept answers): spares reading the answer again."""
    g.setdefault(_KNOWN, rowcounts)


class RowCountEventLogger(DBEventLogger):
    """Superset's database event logger; a request's entries wait for its response, chart data
    entries to get its row count.

    Superset also logs, within a chart data request, the time of its SQL (``execute_sql``), of
    its post-processing and of its JSON encoding, each entry written and committed at once: every
    commit expired the request's objects (the user, his roles, the dataset and its columns…),
    read again from the metadata database by what followed, ≈ a fifth of a computed chart's CPU
    (``benchmarks/bench_superset.py``, 10 M readings). Held back, they are all written once the
    response exists, where their commits expire nothing."""

    def log_with_context(self, action: str, *args, **kwargs) -> None:
        if has_request_context():
            g.setdefault(_PENDING, []).append((action, args, kwargs))
            return
        super().log_with_context(action, *args, **kwargs)

    def flush(self, rowcounts: list[int] | None = None) -> None:
        """Write the entries held for this request, chart data ones with the response's row
        counts when known.

        Written once the response exists, so the commit does not expire the request's objects:
        nothing reads them afresh after it."""
        from superset import db

        pending = g.pop(_PENDING, [])
        if not pending:
            return
        session = db.session()
        expire = session.expire_on_commit
        session.expire_on_commit = False
        try:
            for action, args, kwargs in pending:
                counted = action in COUNTED_ACTIONS and rowcounts is not None
                extra = {"rowcount": sum(rowcounts), "rowcounts": rowcounts} if counted else {}
                super().log_with_context(action, *args, **{**kwargs, **extra})
        finally:
            session.expire_on_commit = expire


def _note_json_rowcounts() -> None:
    """Wrap ``ChartDataRestApi._send_chart_response``: a JSON answer's rows per query are noted
    from the result it is about to encode (the very ``rowcount`` values the answer holds), so the
    answer is not decoded again to count them (≈ 1 MB for a 10,000-row time series)."""
    from superset.charts.data.api import ChartDataRestApi
    from superset.common.chart_data import ChartDataResultFormat, ChartDataResultType

    original = ChartDataRestApi._send_chart_response

    @functools.wraps(original)
    def send(self, result, *args, **kwargs):
        context = result.get("query_context")
        counts = [q.get("rowcount") for q in result.get("queries") or []]
        if (
            getattr(context, "result_format", None) == ChartDataResultFormat.JSON
            and getattr(context, "result_type", None) != ChartDataResultType.POST_PROCESSED
            and counts
            and all(isinstance(c, int) for c in counts)
        ):
            note_rowcounts(counts)
        return original(self, result, *args, **kwargs)

    ChartDataRestApi._send_chart_response = send


def index_chart_requests(engine) -> None:
    """Index the action log by action and date, once the log exists (``FLASK_APP_MUTATOR``).

    The cache warm-up (``warm.py``) reads the latest chart data requests of the last days, page
    by page; Superset indexes the log by user only, so each page scanned and sorted the whole
    log, which grows with every request (a second per 5,000 entries read on a log of 93,000).
    """
    from sqlalchemy import inspect, text

    if not inspect(engine).has_table("logs"):
        return  # before Superset's first migration
    with engine.begin() as con:
        con.execute(text(f"CREATE INDEX IF NOT EXISTS {CHART_REQUESTS_INDEX} ON logs (action, dttm)"))


def install(app, event_logger: RowCountEventLogger) -> None:
    """Add the hooks that complete the held entries (``FLASK_APP_MUTATOR``)."""
    _note_json_rowcounts()

    @app.after_request
    def _log_rowcount(response):
        if g.get(_PENDING):
            try:
                known = g.get(_KNOWN) if response.status_code == 200 else None
                rowcounts = known or response_rowcounts(response, app.config.get("CSV_EXPORT") or {})
            except Exception:  # a count that fails must not lose the entry
                log.exception("nombre de lignes de la réponse illisible")
                rowcounts = None
            event_logger.flush(rowcounts)
        return response

    @app.teardown_request
    def _log_unanswered(_exc):
        if g.get(_PENDING):
            event_logger.flush()
