"""Chart answers kept as sent, so that the agents opening the same dashboard do not make
Superset turn the same cached rows into the same JSON again and again (issue 20).

Superset's data cache (``results_cache.py``) keeps each chart's rows; at every request it
still converts them to records and to JSON: at 10 M readings, four tenths of a cached
chart's CPU. Here the JSON body of an answer is kept (:class:`AnswerStore`, files in one
folder of the Superset home read and written by every gunicorn worker, as the data cache)
and sent again to a request that would get the same bytes:

- only after Superset has done everything that decides WHO may see WHAT: the login,
  the permission on the endpoint, the query context built from the request and
  ``raise_for_access`` (dataset, dashboard) all run before ``_get_data_response``, the
  method wrapped here; nothing is served before or instead of them;
- the key is Superset's own data cache key of every query of the request (query, dataset,
  its change date, the user's row-level security clauses), plus the query's time bounds and
  the answer's format and type; and the row cap's audience when the rows are kept for it
  (``results_cache``: an answer at the cap is the administrator's or the capped roles', one
  below it is shared): two requests share an answer exactly when Superset's cache gives
  them the same rows;
- an answer is reused only while the entries of Superset's data cache it was made from are
  the very same files, unexpired (``CappedResultsCache.stamp``): the warm-up after a mart
  refresh, a forced refresh or an expiry replaces them, and the next request recomputes;
- only JSON answers of type ``full`` whose rows ALL came from Superset's cache are kept
  (``is_cached``), never a forced request's, never a guest token's, never an error.

The warm-up (``warm.py``) asks each starter chart once more after recomputing it, which
keeps its answer for everyone. Every request is logged as before (``access_log.py`` counts
the rows of the answer sent).

Sent back before the checks (:class:`Grants`): those checks cost more than the answer itself
(≈ 15 ms of CPU per chart, 200 chart requests when 50 agents open a dashboard on 2 cores).
Once Superset has checked and answered a person's request, the exact request (that person,
the URL, the body's bytes) is noted with the answer it got; the same request from the same
person is answered directly, logged as Superset logs it, only while

- nothing that decides an access has changed in Superset's metadata database since the
  checks began (``metadata_epoch.py``: the counter read before them is in the key; a role,
  a permission, a row-level security rule, a dataset, a dashboard, a user's account);
- the platform's Superset set-up is the same (its configuration and modules, its settings
  in the environment, Superset's version: :func:`setup_fingerprint`);
- the answer's cached rows are still the same files (as above), and the request asks for no
  period, or only periods bounded by whole days from today (the starter charts' windows,
  Superset's "Last week"…: ``time_windows.DAY_BOUND_RANGES``), then only on the day it was
  answered (the date is in the key); a period that moves within the day ("now") is never
  answered before the checks, nor a request that shifts its bounds (time shift, offsets,
  another relative start or end);
- the person is signed in (Flask-Login, as for any request), not through a guest token.

Loaded by path by ``superset_config.py``; runs only inside Superset's virtualenv.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from datetime import date
from importlib.metadata import version
from pathlib import Path

from flask import Response, current_app, g, request
from hyperviseur_file_cache import BatchPrunedFileCache
from hyperviseur_time_windows import DAY_BOUND_RANGES

# Answers kept (beyond, file_cache.py prunes the expired then the soonest to expire), and the largest one
# kept: the starter dashboards' answers at 10 M readings weigh 6.7 MB in all, the largest 1 MB.
STORE_ANSWERS = 1000
STORE_ANSWER_BYTES = 4 * 1024 * 1024
# Requests noted with their answer: one per person and chart asked (120 agents × 80 charts).
STORE_GRANTS = 10000
STORE_GRANT_BODY_BYTES = 64 * 1024  # a chart request is ≈ 2 kB; a larger one is never noted
# A week: a note stays true as long as the counter and the set-up do (the rows are checked at
# each use), so it outlives the nightly refresh and serves the agents' next morning.
GRANT_TIMEOUT_S = 7 * 24 * 3600
_SENT = "hyperviseur_answer_queries"
_GRANT = "hyperviseur_answer_grant"
JSON_TYPE = "application/json; charset=utf-8"  # as Superset sends its chart answers
REUSED_HEADER = "X-Hyperviseur-Reponse-Reprise"  # on an answer sent again (tests, operators)
DIRECT_HEADER = "X-Hyperviseur-Reponse-Directe"  # ... and sent before Superset's checks
ACTION = "ChartDataRestApi.data"  # as Superset names the request in its action log


class AnswerStore:
    """JSON bodies by key, with the stamps of the data cache entries they were made from."""

    def __init__(self, folder: str, timeout: int):
        self._files = BatchPrunedFileCache(folder, threshold=STORE_ANSWERS, default_timeout=timeout)

    def get(self, digest: str, stamps: tuple) -> tuple[bytes, list[int]] | None:
        """(body, rows per query) of the request's answer made from the data cache entries
        with these stamps; None if any entry is missing or none was kept."""
        if not all(stamps):
            return None
        kept = self._files.get(answer_key(digest, stamps))
        if not kept or len(kept) != 3 or tuple(kept[0]) != stamps:  # none, or made from entries since replaced
            return None
        return kept[1], kept[2]

    def put(self, digest: str, stamps: tuple, body: bytes, rowcounts: list[int]) -> None:
        if len(body) <= STORE_ANSWER_BYTES:
            self._files.set(answer_key(digest, stamps), (stamps, body, rowcounts))


class Grants:
    """Requests already checked and answered, by person and state of the metadata database."""

    def __init__(self, folder: str, setup: str, read_epoch):
        self._files = BatchPrunedFileCache(folder, threshold=STORE_GRANTS, default_timeout=GRANT_TIMEOUT_S)
        self._setup = setup
        self.read_epoch = read_epoch  # metadata_epoch.read

    def key(self, user_id: int, epoch: int, day: str | None = None) -> str | None:
        """The current request's key (for that ``day`` only when given); None for a request
        never noted."""
        if request.method != "POST" or not request.is_json or (request.content_length or 0) > STORE_GRANT_BODY_BYTES:
            return None
        body = hashlib.sha256(request.get_data(cache=True)).hexdigest()
        text = json.dumps([self._setup, epoch, user_id, request.full_path, body, day])
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, key: str) -> tuple[str, list[str]] | None:
        """(request digest, Superset's data cache keys) of the answer given to this request."""
        kept = self._files.get(key)
        return (kept[0], list(kept[1])) if kept else None

    def put(self, key: str, digest: str, cache_keys: list[str]) -> None:
        self._files.set(key, (digest, cache_keys))


def setup_fingerprint(folder: Path, environ=os.environ) -> str:
    """The platform's Superset set-up: its modules (configuration included), its settings
    in the environment and Superset's version. A request noted under another set-up is never
    answered unchecked (a restart with other roles, caps or rules)."""
    parts = [version("apache-superset")]
    parts += [f"{p.name}:{hashlib.sha256(p.read_bytes()).hexdigest()}" for p in sorted(folder.glob("*.py"))]
    parts += [f"{k}={v}" for k, v in sorted(environ.items()) if k.startswith(("HYPERVISEUR_", "SUPERSET_"))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def request_key(query_context) -> tuple[str, list[str]] | None:
    """(digest of what the answer depends on besides the data cache entries, Superset's data
    cache keys of its queries); None when the answer is not reusable."""
    if query_context.force or query_context.result_format != "json" or query_context.result_type != "full":
        return None
    parts, cache_keys = [], []
    for query in query_context.queries:
        query.validate()  # as Superset does before its own key (normalised clauses)
        cache_key = query_context.query_cache_key(query)
        if not cache_key:
            return None
        cache_keys.append(cache_key)
        parts.append([cache_key, str(query.from_dttm), str(query.to_dttm), query.post_processing])
    if not parts:
        return None
    text = json.dumps([parts, query_context.result_format, query_context.result_type], default=str)
    return hashlib.sha256(text.encode()).hexdigest(), cache_keys


def answer_key(digest: str, stamps: tuple) -> str:
    """The request's digest and the names of the data cache entries it reads: a plain key when
    the rows are shared, the key and the audience when they are kept for one
    (``CappedResultsCache._own``)."""
    names = json.dumps([stamp[0] for stamp in stamps])
    return hashlib.sha256(f"{digest}\n{names}".encode()).hexdigest()


FIXED, DAY_BOUND = "fixed", "day"
_NO_PERIOD = (None, "", "No filter")
_SHIFTS = ("relative_start", "relative_end", "instant_time_comparison_range")


def time_bound(query_context, config) -> str | None:
    """How the answer moves with the clock: ``FIXED`` when no query asks for a period,
    ``DAY_BOUND`` when every period asked is in ``DAY_BOUND_RANGES`` and resolved from
    Superset's own "today", None otherwise (then the request is never answered unchecked)."""
    relative = (config.get("DEFAULT_RELATIVE_START_TIME"), config.get("DEFAULT_RELATIVE_END_TIME"))
    bounds = set()
    for query in query_context.queries:
        extras = query.extras or {}
        if query.time_shift or query.time_offsets or any(extras.get(k) for k in _SHIFTS):
            return None
        periods = [query.time_range] + [f.get("val") for f in query.filter or [] if f.get("op") == "TEMPORAL_RANGE"]
        asked = [p for p in periods if p not in _NO_PERIOD]
        if not asked:
            if query.from_dttm is not None or query.to_dttm is not None:
                return None
            bounds.add(FIXED)
        elif relative == ("today", "today") and all(isinstance(p, str) and p in DAY_BOUND_RANGES for p in asked):
            bounds.add(DAY_BOUND)
        else:
            return None
    return DAY_BOUND if DAY_BOUND in bounds else FIXED


def _reused(kept: tuple[bytes, list[int]], queries: int, log_payload, note_rowcounts, direct: bool = False) -> Response:
    body, rowcounts = kept
    if log_payload:  # as Superset notes whether the rows came from its cache
        log_payload(is_cached=[True] * queries)
    note_rowcounts(rowcounts)
    headers = {"Content-Type": JSON_TYPE, REUSED_HEADER: "oui"}
    if direct:
        headers[DIRECT_HEADER] = "oui"
    return Response(body, status=200, headers=headers)


def _signed_in_user_id(security_manager) -> int | None:
    """The signed-in person's id (Flask-Login, as for any request); None for anyone else."""
    from flask_login import current_user

    if not current_user.is_authenticated or not current_user.is_active or security_manager.is_guest_user():
        return None
    user_id = getattr(current_user, "id", None)
    return user_id if isinstance(user_id, int) else None


def install(store: AnswerStore, grants: Grants | None, note_rowcounts) -> None:
    """Wrap ``ChartDataRestApi.data`` (answers sent before the checks, when ``grants``) and
    ``_get_data_response`` (answers sent again after them) (``FLASK_APP_MUTATOR``);
    ``note_rowcounts`` tells the access log the rows of a kept answer."""
    from superset import db, security_manager
    from superset.charts.data.api import ChartDataRestApi
    from superset.extensions import cache_manager, event_logger

    original_data = ChartDataRestApi.data
    original_get = ChartDataRestApi._get_data_response
    original_send = ChartDataRestApi._send_chart_response

    def backend():
        return cache_manager.data_cache.cache  # a CappedResultsCache (a NullCache when disabled)

    def answer_granted():
        """The answer this person got for this very request, if nothing has changed since."""
        user_id = _signed_in_user_id(security_manager)
        epoch = grants.read_epoch(db.session) if user_id is not None else None
        today = date.today().isoformat()  # as Superset's "today": the server's date
        key = grants.key(user_id, epoch) if epoch is not None else None
        if key is None:
            return None
        day_key = grants.key(user_id, epoch, today)
        g.setdefault(_GRANT, (key, day_key, today))  # read BEFORE the checks: a change during them voids the note
        granted = grants.get(key) or grants.get(day_key)
        cache = backend()
        if granted is None or not hasattr(cache, "stamp"):
            return None
        digest, cache_keys = granted
        kept = store.get(digest, tuple(cache.stamp(k) for k in cache_keys))
        if kept is None:
            return None
        with event_logger.log_context(action=ACTION, object_ref=ACTION, log_to_statsd=False) as log:
            return _reused(kept, len(cache_keys), log, note_rowcounts, direct=True)

    @functools.wraps(original_data)
    def data(self, *args, **kwargs):
        if grants is not None and (answered := answer_granted()) is not None:
            return answered
        return original_data(self, *args, **kwargs)

    def note(command, digest: str, cache_keys: list[str]) -> None:
        if grants is None or not g.get(_GRANT):
            return
        key, day_key, day = g.get(_GRANT)
        bound = time_bound(command._query_context, current_app.config)
        if bound == FIXED:
            grants.put(key, digest, cache_keys)
        # the same date before the checks and now: Superset's "today" was that day in between
        elif bound == DAY_BOUND and date.today().isoformat() == day:
            grants.put(day_key, digest, cache_keys)

    @functools.wraps(original_send)
    def send(self, result, *args, **kwargs):
        g.setdefault(_SENT, result.get("queries") or [])
        return original_send(self, result, *args, **kwargs)

    @functools.wraps(original_get)
    def get_data_response(self, command, force_cached=False, *args, **kwargs):
        cache = backend()
        keyed = None
        if not force_cached and hasattr(cache, "stamp") and not security_manager.is_guest_user():
            try:
                keyed = request_key(command._query_context)
            except Exception:  # an invalid query: Superset's own path answers it with its error
                keyed = None
        if keyed is None:
            return original_get(self, command, force_cached, *args, **kwargs)
        digest, cache_keys = keyed
        before = tuple(cache.stamp(k) for k in cache_keys)
        if (kept := store.get(digest, before)) is not None:
            note(command, digest, cache_keys)
            return _reused(kept, len(cache_keys), kwargs.get("add_extra_log_payload"), note_rowcounts)
        g.pop(_SENT, None)
        response = original_get(self, command, force_cached, *args, **kwargs)
        sent = g.pop(_SENT, [])
        if (
            response.status_code == 200
            and not response.is_streamed
            and all(before)
            and len(sent) == len(cache_keys)
            and all(q.get("is_cached") and q.get("cache_key") == k for q, k in zip(sent, cache_keys, strict=True))
            and all(isinstance(q.get("rowcount"), int) for q in sent)
            # the rows came from these entries: none was replaced while Superset read them
            and tuple(cache.stamp(k) for k in cache_keys) == before
        ):
            store.put(digest, before, response.get_data(), [q["rowcount"] for q in sent])
            note(command, digest, cache_keys)
        return response

    ChartDataRestApi.data = data
    ChartDataRestApi._send_chart_response = send
    ChartDataRestApi._get_data_response = get_data_response
