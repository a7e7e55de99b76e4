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
the rows of the answer sent). Loaded by path by ``superset_config.py``; runs only inside
Superset's virtualenv.
"""

from __future__ import annotations

import functools
import hashlib
import json

from flask import Response, g
from flask_caching.backends.filesystemcache import FileSystemCache

# Answers kept (beyond, cachelib prunes the expired then the oldest), and the largest one
# kept: the starter dashboards' answers at 10 M readings weigh 6.7 MB in all, the largest 1 MB.
STORE_ANSWERS = 1000
STORE_ANSWER_BYTES = 4 * 1024 * 1024
_SENT = "hyperviseur_answer_queries"
JSON_TYPE = "application/json; charset=utf-8"  # as Superset sends its chart answers
REUSED_HEADER = "X-Hyperviseur-Reponse-Reprise"  # on an answer sent again (tests, operators)


class AnswerStore:
    """JSON bodies by key, with the stamps of the data cache entries they were made from."""

    def __init__(self, folder: str, timeout: int):
        self._files = FileSystemCache(folder, threshold=STORE_ANSWERS, default_timeout=timeout)

    def get(self, key: str, stamps: tuple) -> bytes | None:
        kept = self._files.get(key)
        if not kept or tuple(kept[0]) != stamps:  # none, or made from entries since replaced
            return None
        return kept[1]

    def put(self, key: str, stamps: tuple, body: bytes) -> None:
        if len(body) <= STORE_ANSWER_BYTES:
            self._files.set(key, (stamps, body))


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


def _reused(body: bytes, queries: int, log_payload) -> Response:
    if log_payload:  # as Superset notes whether the rows came from its cache
        log_payload(is_cached=[True] * queries)
    return Response(body, status=200, headers={"Content-Type": JSON_TYPE, REUSED_HEADER: "oui"})


def install(store: AnswerStore) -> None:
    """Wrap ``ChartDataRestApi._get_data_response`` (``FLASK_APP_MUTATOR``)."""
    from superset import security_manager
    from superset.charts.data.api import ChartDataRestApi
    from superset.extensions import cache_manager

    original_get = ChartDataRestApi._get_data_response
    original_send = ChartDataRestApi._send_chart_response

    @functools.wraps(original_send)
    def send(self, result, *args, **kwargs):
        g.setdefault(_SENT, result.get("queries") or [])
        return original_send(self, result, *args, **kwargs)

    @functools.wraps(original_get)
    def get_data_response(self, command, force_cached=False, *args, **kwargs):
        backend = cache_manager.data_cache.cache  # a CappedResultsCache (a NullCache when disabled)
        keyed = None
        if not force_cached and hasattr(backend, "stamp") and not security_manager.is_guest_user():
            try:
                keyed = request_key(command._query_context)
            except Exception:  # an invalid query: Superset's own path answers it with its error
                keyed = None
        if keyed is None:
            return original_get(self, command, force_cached, *args, **kwargs)
        digest, cache_keys = keyed
        before = tuple(backend.stamp(k) for k in cache_keys)
        if all(before) and (body := store.get(answer_key(digest, before), before)) is not None:
            return _reused(body, len(cache_keys), kwargs.get("add_extra_log_payload"))
        g.pop(_SENT, None)
        response = original_get(self, command, force_cached, *args, **kwargs)
        sent = g.pop(_SENT, [])
        if (
            response.status_code == 200
            and not response.is_streamed
            and all(before)
            and len(sent) == len(cache_keys)
            and all(q.get("is_cached") and q.get("cache_key") == k for q, k in zip(sent, cache_keys, strict=True))
            # the rows came from these entries: none was replaced while Superset read them
            and tuple(backend.stamp(k) for k in cache_keys) == before
        ):
            store.put(answer_key(digest, before), before, response.get_data())
        return response

    ChartDataRestApi._send_chart_response = send
    ChartDataRestApi._get_data_response = get_data_response
