"""Copy Superset's query log (SQL Lab history) into the platform audit log.

Each finished query becomes one ``superset.query`` record: who (Superset user), what (SQL
as typed and as executed, database, schema, status, rows) and when (start/end, UTC). The
last harvested query id is kept in the lake (``_meta/superset/query_log_cursor.json``),
so a harvest never records a query twice.
"""

from __future__ import annotations

from lakehouse.audit import AuditLog
from lakehouse.errors import ObjectNotFound
from superset.client import SupersetClient

CURSOR_KEY = "_meta/superset/query_log_cursor.json"
EVENT_TYPE = "superset.query"
FINISHED = {"success", "failed", "stopped", "timed_out"}


def harvest_queries(lh, client: SupersetClient) -> int:
    """Append the queries run since the last harvest; returns how many were recorded."""
    try:
        last_id = int(lh.lake.read_json(CURSOR_KEY)["last_query_id"])
    except ObjectNotFound:
        last_id = 0
    users = {u["id"]: u["username"] for u in client.iterate("/api/v1/security/users/")}
    rows = sorted(
        (q for q in client.iterate("/api/v1/query/") if q["id"] > last_id and q.get("status") in FINISHED),
        key=lambda q: q["id"],
    )
    audit = AuditLog(lh)
    for q in rows:
        detail = client.get(f"/api/v1/query/{q['id']}")["result"]
        user_id = (q.get("user") or {}).get("id")
        audit.append(
            EVENT_TYPE,
            users.get(user_id, f"superset-user-{user_id}"),
            {
                "query_id": q["id"],
                "database": (detail.get("database") or {}).get("database_name"),
                "schema": detail.get("schema"),
                "sql": detail.get("sql"),
                "executed_sql": detail.get("executed_sql"),
                "status": detail.get("status"),
                "rows": detail.get("rows"),
                "error": detail.get("error_message"),
                "start_time": detail.get("start_time"),
                "end_time": detail.get("end_time"),
            },
        )
        last_id = q["id"]
    if rows:
        lh.lake.write_json(CURSOR_KEY, {"last_query_id": last_id})
    return len(rows)
