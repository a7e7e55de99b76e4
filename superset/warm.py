"""Cache warm-up of the starter dashboards: each chart's data computed once, before agents ask.

After every mart refresh (the graph's ``dashboards/superset_cache`` asset) and after every
provisioning (``hyperviseur superset provision``), the charts of ``dashboards.yaml`` that
Superset holds are requested through ``/api/v1/chart/data`` with ``force``: Superset runs
their SQL on the fresh marts and replaces the cached answers (``results_cache.py``), so the
next agent opening a dashboard is served from the cache shared by all workers. Each is then
asked once more, without ``force``: its JSON answer is kept as sent (``answer_cache.py``).

Two sets of requests, since the cache key is the request's query objects: each chart's
:func:`superset.bundle.chart_query_context` on the dataset the imported chart reads (public
dataset for a public mart), and the distinct requests the browsers actually sent for those
charts lately (Superset's action log keeps each request's body; the frontend adds its own
post-processing, and agents' dashboard filters) in the last ``REPLAY_DAYS`` days, at most
``REPLAYED`` of them. Done as the
break-glass administrator: answers below the row cap are shared with every user whose
row-level security is the same (none on the sensor marts); answers at the cap stay the
administrator's.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice

from superset.bundle import chart_query_context, load_spec
from superset.client import SupersetApiError, SupersetClient

# Concurrent chart requests of the warm-up: Superset's workers share two cores with the rest.
WARM_REQUESTS = 2
# Browser requests replayed (distinct, newest first), and the action-log entries read to find
# them: at most LOG_ENTRIES, of the last REPLAY_DAYS days (through the log's index by action and
# date, access_log.py), whatever the log's size.
REPLAYED = 200
LOG_ENTRIES = 5000
REPLAY_DAYS = 7
CHART_DATA_ACTION = "ChartDataRestApi.data"


@dataclass
class WarmReport:
    charts: int  # starter charts warmed
    replayed: int  # browser requests replayed
    seconds: float
    missing_dashboards: list[str] = field(default_factory=list)


def _dashboard_charts(client: SupersetClient, spec: list[dict]) -> dict[str, dict[str, tuple[int, int]]]:
    """``{slug: {chart name: (chart id, dataset id)}}`` of the starter dashboards Superset holds."""
    out = {}
    for dashboard in spec:
        found = client.get(f"/api/v1/dashboard/{dashboard['slug']}/charts", ok=(200, 404))
        if not found or "result" not in found:
            continue  # not provisioned: its marts are absent from the serving catalogs
        out[dashboard["slug"]] = {
            row["slice_name"]: (row["id"], int(str(row["form_data"]["datasource"]).split("__")[0]))
            for row in found["result"]
        }
    return out


def _starters(spec: list[dict], held: dict[str, dict[str, tuple[int, int]]]) -> dict[str, dict[str, dict]]:
    return {
        dashboard["slug"]: {
            chart["name"]: chart_query_context(chart, held[dashboard["slug"]][chart["name"]][1])
            for chart in dashboard["charts"]
            if chart["name"] in held[dashboard["slug"]]
        }
        for dashboard in spec
        if dashboard["slug"] in held
    }


def dashboard_requests(client: SupersetClient, spec: list[dict] | None = None) -> dict[str, dict[str, dict]]:
    """``{slug: {chart name: chart data request}}`` of the starter dashboards Superset holds (not forced)."""
    spec = spec if spec is not None else load_spec()
    return _starters(spec, _dashboard_charts(client, spec))


def browser_requests(client: SupersetClient, chart_ids: set[int]) -> list[dict]:
    """Distinct chart data requests sent lately for these charts (newest first), from the action log."""
    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=REPLAY_DAYS)  # the log's dates: naive UTC
    filters = [
        {"col": "action", "opr": "eq", "value": CHART_DATA_ACTION},
        {"col": "dttm", "opr": "gt", "value": since.isoformat(sep=" ")},
    ]
    rows = client.iterate("/api/v1/log/", filters, page_size=500, order_column="dttm", order_direction="desc")
    seen, out = set(), []
    for row in islice(rows, LOG_ENTRIES):
        if row.get("slice_id") not in chart_ids:
            continue
        try:
            body = json.loads(row.get("json") or "{}")
        except ValueError:
            continue
        if not (isinstance(body.get("datasource"), dict) and isinstance(body.get("queries"), list)):
            continue
        if body.get("result_type", "full") != "full" or body.get("result_format", "json") != "json":
            continue  # exports and SQL views: not what a dashboard displays
        key = json.dumps([body["datasource"], body["queries"]], sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(
                {
                    "datasource": body["datasource"],
                    "queries": body["queries"],
                    "form_data": {"slice_id": row["slice_id"]},
                    "result_format": "json",
                    "result_type": "full",
                }
            )
            if len(out) == REPLAYED:
                break
    return out


def warm(client: SupersetClient, spec: list[dict] | None = None) -> WarmReport:
    """Recompute and cache every starter chart and the browsers' recent requests for them.

    A starter chart Superset cannot answer is an error; a replayed request that fails is
    skipped (its chart may have changed since).
    """
    spec = spec if spec is not None else load_spec()
    t0 = time.perf_counter()
    held = _dashboard_charts(client, spec)
    starters = [
        (f"{slug} / {name}", body) for slug, bodies in _starters(spec, held).items() for name, body in bodies.items()
    ]
    replays = browser_requests(client, {chart_id for charts in held.values() for chart_id, _ in charts.values()})

    def run(item: tuple[str | None, dict]) -> str | None:
        where, body = item
        try:
            client.post("/api/v1/chart/data", {**body, "force": True})
            client.post("/api/v1/chart/data", {**body, "force": False})  # keeps its answer (answer_cache.py)
        except SupersetApiError as exc:
            return f"{where} : {exc}" if where else None
        return None

    with ThreadPoolExecutor(max_workers=WARM_REQUESTS) as pool:
        failed = [msg for msg in pool.map(run, [*starters, *((None, body) for body in replays)]) if msg]
    if failed:
        raise SupersetApiError("préchauffage du cache incomplet, graphiques en erreur :\n" + "\n".join(failed))
    return WarmReport(
        len(starters), len(replays), time.perf_counter() - t0, [d["slug"] for d in spec if d["slug"] not in held]
    )
