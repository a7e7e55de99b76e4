"""Copy Superset's data accesses into the platform audit log (CNIL: access to personal data is logged).

Two sources, both read through Superset's REST API with the admin account:

- SQL Lab's query table (``/api/v1/query/``): each finished query becomes one
  ``superset.query`` record: who (Superset user and roles), what (SQL as typed and as
  executed, database, schema, status, rows returned, limiting factor) and when (UTC as
  Superset stores it);
- Superset's action log (``/api/v1/log/``, written by its ``DBEventLogger``): every chart
  data request (``ChartDataRestApi.data``: dashboards, Explore, and CSV / Excel downloads of
  a chart, ``result_format`` csv or xlsx), the cached variant
  (``ChartDataRestApi.data_from_cache``), the legacy ``explore_json`` endpoint and SQL Lab
  CSV exports (``SqlLabRestApi.export_csv``, ``SqlLabRestApi.export_streaming_csv``) becomes
  one ``superset.access`` record with the user, roles, database (one per clearance:
  public, masked, clear), dataset, chart, dashboard, format and row count.

Superset 6.1's action log keeps the request (datasource, queries, format, ``is_cached``)
but not the number of rows a chart request returned: the event logger of
``superset_config.py`` (``superset/access_log.py``) adds ``rowcount``, counted on the
response (JSON answers and CSV files). ``rows`` is that count; it stays empty only where
the response could not be counted (Excel, zipped or streamed exports, entries logged before
the hook), and the requested ``row_limit`` is recorded beside it. For SQL Lab exports,
``rows`` is the row count of the exported query (from the query table).

No duplicates: the lake cursor (``_meta/superset/query_log_cursor.json``) keeps, for each
source, the newest timestamp harvested and the ids already recorded within a safety margin
before it (queries finish, and log entries commit, out of id order); it is written after
each record, so an interrupted harvest resumes without recording anything twice.
Roles are those of the user at harvest time.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from lakehouse.audit import AuditLog, load_audit_keys
from lakehouse.errors import ObjectNotFound
from superset.client import SupersetApiError, SupersetClient

CURSOR_KEY = "_meta/superset/query_log_cursor.json"
EVENT_TYPE = "superset.query"
ACCESS_EVENT_TYPE = "superset.access"
FINISHED = {"success", "failed", "stopped", "timed_out"}
MAX_QUERY_LOOKUPS = 50  # SQL Lab queries of a user looked at to find an exported one
MARGIN = timedelta(minutes=15)  # late commits / late finishers are looked for this far back
# Superset action-log entries that read data, and what they are in the audit log.
ACCESS_ACTIONS = {
    "ChartDataRestApi.data": "chart.data",
    "ChartDataRestApi.data_from_cache": "chart.data",
    "explore_json": "chart.data",
    "SqlLabRestApi.export_csv": "sqllab.export",
    "SqlLabRestApi.export_streaming_csv": "sqllab.export",
}
EXPORT_FORMATS = {"csv", "xlsx"}
_CHART_PATH = re.compile(r"/api/v1/chart/(\d+)/data")
_SQLLAB_EXPORT_PATH = re.compile(r"/api/v1/sqllab/export/([^/]+)/?")


def _time(value) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=None)  # Superset stores naive timestamps


def _read_cursor(lh) -> dict:
    try:
        cursor = lh.lake.read_json(CURSOR_KEY)
    except ObjectNotFound:
        cursor = {}
    cursor.setdefault("queries", {"since": None, "done": {}})
    cursor.setdefault("log", {"since": None, "done": {}})
    return cursor


class _Harvest:
    def __init__(self, lh, client: SupersetClient):
        self.lh, self.client = lh, client
        load_audit_keys(lh.settings)  # fail closed before reading anything: no key, no harvest
        self.audit = AuditLog(lh)
        self.cursor = _read_cursor(lh)
        self.users: dict[int, dict] = {}
        for u in client.iterate("/api/v1/security/users/"):
            self.users[u["id"]] = {"username": u["username"], "roles": sorted(r["name"] for r in u.get("roles") or [])}
        self._datasets: dict[int, dict] = {}
        self._charts: dict[int, int | None] = {}
        self._queries_by_client: dict[str, dict | None] = {}
        self._query_details: set[int] = set()

    # -- helpers ------------------------------------------------------------------------
    def _user(self, user_id) -> tuple[str, list[str]]:
        user = self.users.get(user_id)
        if user is None:
            return (f"superset-user-{user_id}" if user_id is not None else "superset-anonyme"), []
        return user["username"], user["roles"]

    def _dataset(self, dataset_id) -> dict:
        if dataset_id is None:
            return {}
        if dataset_id not in self._datasets:
            try:
                ds = self.client.get(f"/api/v1/dataset/{dataset_id}")["result"]
                self._datasets[dataset_id] = {
                    "dataset_id": dataset_id,
                    "dataset": f"{ds.get('schema')}.{ds.get('table_name')}"
                    if ds.get("schema")
                    else ds.get("table_name"),
                    "database": (ds.get("database") or {}).get("database_name"),
                }
            except SupersetApiError:  # dataset deleted since: keep its id
                self._datasets[dataset_id] = {"dataset_id": dataset_id, "dataset": None, "database": None}
        return self._datasets[dataset_id]

    def _chart_dataset(self, chart_id) -> int | None:
        if chart_id is None:
            return None
        if chart_id not in self._charts:
            try:
                chart = self.client.get(f"/api/v1/chart/{chart_id}")["result"]
                self._charts[chart_id] = chart.get("datasource_id")
            except SupersetApiError:
                self._charts[chart_id] = None
        return self._charts[chart_id]

    def _query_by_client_id(self, client_id: str | None, user_id) -> dict | None:
        """The SQL Lab query a CSV export was made from. Superset's query list leaves
        ``client_id`` empty, its detail gives it: the user's queries are read newest first."""
        if not client_id:
            return None
        if client_id in self._queries_by_client:
            return self._queries_by_client[client_id]
        looked = 0
        for q in self.client.iterate("/api/v1/query/", order_column="changed_on", order_direction="desc"):
            if (q.get("user") or {}).get("id") != user_id or q["id"] in self._query_details:
                continue
            detail = self.client.get(f"/api/v1/query/{q['id']}")["result"]
            self._query_details.add(q["id"])
            self._queries_by_client[detail.get("client_id")] = q
            if detail.get("client_id") == client_id:
                return q
            looked += 1
            if looked >= MAX_QUERY_LOOKUPS:
                break
        self._queries_by_client[client_id] = None
        return None

    def _save(self) -> None:
        self.lh.lake.write_json(CURSOR_KEY, self.cursor)

    @staticmethod
    def _advance(section: dict, seen: list[tuple[int, datetime]]) -> None:
        """Move ``since`` to the newest timestamp seen; keep only the ids within the margin."""
        times = [t for _, t in seen if t is not None]
        if section["since"]:
            times.append(_time(section["since"]))
        if not times:
            return
        newest = max(times)
        section["since"] = newest.isoformat()
        section["done"] = {k: v for k, v in section["done"].items() if _time(v) is None or _time(v) >= newest - MARGIN}

    def _recent(self, path: str, time_column: str, section: dict, filters=None, with_ids=False):
        """Rows of ``path`` newest first, down to ``since`` minus the margin."""
        since = _time(section["since"])
        floor = since - MARGIN if since else None
        rows = (
            self.client.iterate_with_ids(path, filters, order_column=time_column, order_direction="desc")
            if with_ids
            else (
                (r["id"], r)
                for r in self.client.iterate(path, filters, order_column=time_column, order_direction="desc")
            )
        )
        for row_id, row in rows:
            at = _time(row.get(time_column))
            if floor is not None and at is not None and at < floor:
                return
            yield row_id, row, at

    # -- SQL Lab ------------------------------------------------------------------------
    def queries(self) -> int:
        section = self.cursor["queries"]
        legacy = int(self.cursor.get("last_query_id") or 0)  # cursor of earlier versions
        todo = [
            (at, qid, q)
            for qid, q, at in self._recent("/api/v1/query/", "changed_on", section)
            if q.get("status") in FINISHED and qid > legacy and str(qid) not in section["done"]
        ]
        todo.sort(key=lambda t: (t[0] or datetime.min, t[1]))
        for at, qid, q in todo:
            user, roles = self._user((q.get("user") or {}).get("id"))
            self.audit.append(
                EVENT_TYPE,
                user,
                {
                    "query_id": qid,
                    "roles": roles,
                    "database": (q.get("database") or {}).get("database_name"),
                    "schema": q.get("schema"),
                    "sql": q.get("sql"),
                    "executed_sql": q.get("executed_sql"),
                    "status": q.get("status"),
                    "rows": q.get("rows"),
                    "limit": q.get("limit"),
                    "limiting_factor": q.get("limiting_factor"),
                    "error": q.get("error_message"),
                    "start_time": q.get("start_time"),
                    "end_time": q.get("end_time"),
                },
            )
            section["done"][str(qid)] = at.isoformat() if at else None
            self._save()
        self._advance(section, [(qid, at) for at, qid, _ in todo])
        return len(todo)

    # -- action log ---------------------------------------------------------------------
    def access(self) -> int:
        section = self.cursor["log"]
        todo = []
        for action in ACCESS_ACTIONS:
            filters = [{"col": "action", "opr": "eq", "value": action}]
            for log_id, row, at in self._recent("/api/v1/log/", "dttm", section, filters, with_ids=True):
                if row.get("action") == action and str(log_id) not in section["done"]:
                    todo.append((at, log_id, row))
        todo.sort(key=lambda t: (t[0] or datetime.min, t[1]))
        for at, log_id, row in todo:
            user, roles = self._user(row.get("user_id"))
            self.audit.append(ACCESS_EVENT_TYPE, user, {"log_id": log_id, "roles": roles, **self._describe(row)})
            section["done"][str(log_id)] = at.isoformat() if at else None
            self._save()
        self._advance(section, [(log_id, at) for at, log_id, _ in todo])
        return len(todo)

    def _describe(self, row: dict) -> dict:
        try:
            body = json.loads(row.get("json") or "{}")
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        form = body.get("form_data") if isinstance(body.get("form_data"), dict) else {}
        path = body.get("path") or ""
        kind = ACCESS_ACTIONS[row["action"]]
        detail = {
            "kind": kind,
            "superset_action": row["action"],
            "at": row.get("dttm"),
            "path": path,
            "chart_id": row.get("slice_id"),
            "dashboard_id": row.get("dashboard_id"),
            "duration_ms": row.get("duration_ms"),
        }
        if kind == "sqllab.export":
            match = _SQLLAB_EXPORT_PATH.search(path)
            client_id = body.get("client_id") or (match.group(1) if match else None)
            query = self._query_by_client_id(client_id, row.get("user_id")) or {}
            return {
                **detail,
                "kind": "export",
                "format": "csv",
                "query_id": query.get("id"),
                "database": (query.get("database") or {}).get("database_name"),
                "schema": query.get("schema"),
                "sql": query.get("sql"),
                "rows": body.get("rowcount", query.get("rows")),
            }
        fmt = str(body.get("result_format") or form.get("result_format") or body.get("format") or "json").lower()
        if body.get("csv") in (True, "true") or fmt == "csv":
            fmt = "csv"
        dataset_id = _datasource_id(body.get("datasource")) or _datasource_id(form.get("datasource"))
        match = _CHART_PATH.search(path)
        chart_id = row.get("slice_id") or (int(match.group(1)) if match else None) or form.get("slice_id")
        if dataset_id is None:
            dataset_id = self._chart_dataset(chart_id)
        queries = body.get("queries") if isinstance(body.get("queries"), list) else []
        limits = [q.get("row_limit") for q in queries if isinstance(q, dict) and q.get("row_limit") is not None]
        return {
            **detail,
            "kind": "export" if fmt in EXPORT_FORMATS else "chart.data",
            "format": fmt,
            "chart_id": chart_id,
            **(self._dataset(dataset_id) if dataset_id is not None else {"database": None, "dataset": None}),
            "result_type": body.get("result_type"),
            "is_cached": body.get("is_cached"),
            "rows": body.get("rowcount"),  # counted on the response by superset/access_log.py
            "row_limit": max(limits) if limits else form.get("row_limit"),
        }


def _datasource_id(value) -> int | None:
    """``{"id": 3, "type": "table"}`` or ``"3__table"`` -> 3."""
    if isinstance(value, dict):
        value = value.get("id")
    elif isinstance(value, str):
        value = value.split("__", 1)[0]
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def harvest_queries(lh, client: SupersetClient) -> int:
    """Append every data access since the last harvest (SQL Lab queries, chart data
    requests, CSV / Excel exports); returns how many records were added."""
    run = _Harvest(lh, client)
    return run.queries() + run.access()


def harvest_access(lh, client: SupersetClient) -> dict[str, int]:
    """Same as :func:`harvest_queries`, counted per source: ``{"queries": n, "access": m}``."""
    run = _Harvest(lh, client)
    return {"queries": run.queries(), "access": run.access()}
