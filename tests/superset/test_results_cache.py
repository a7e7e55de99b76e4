"""The results cache shared by Superset's workers and its warm-up (issue 20: many agents at once).

On the session's real Superset (two gunicorn workers, one cache folder): the warm-up's
answers serve the agents, a refresh replaces them, the graph's asset warms the running
instance, and an answer at the row cap never crosses from the uncapped administrator to a
capped role.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from orchestration.assets.dashboards import superset_cache
from superset.warm import CHART_DATA_ACTION, REPLAY_DAYS, dashboard_requests, warm

pytestmark = pytest.mark.superset


def _answer(client, body: dict) -> dict:
    return client.post("/api/v1/chart/data", body)["result"][0]


def test_warm_up_answers_serve_the_agents_from_any_worker(superset_instance, provisioned, admin, users):
    cap = int(superset_instance.env["HYPERVISEUR_SUPERSET_EXPORT_ROW_LIMIT"])
    report = warm(admin)
    requests = dashboard_requests(admin)
    assert report.charts == sum(len(charts) for charts in requests.values()) > 0
    assert set(report.missing_dashboards) == set(provisioned.skipped_dashboards)
    water = requests["fuites-eau"]
    shared = 0
    for _ in range(3):  # several calls: both workers answer from the same folder
        for body in water.values():
            mine = _answer(users["agent_eau"], body)
            if _answer(admin, body)["rowcount"] < cap:
                assert mine["is_cached"], mine
                shared += 1
    assert shared >= 3 * len(water) - 3


def test_warm_up_replaces_the_cached_answers(admin, users, provisioned):
    body = next(iter(dashboard_requests(admin)["fuites-eau"].values()))
    warm(admin)
    before = _answer(users["agent_eau"], body)
    time.sleep(1.1)  # Superset dates cached answers to the second
    warm(admin)
    after = _answer(users["agent_eau"], body)
    assert before["is_cached"] and after["is_cached"]
    assert after["cached_dttm"] > before["cached_dttm"]


def test_warm_up_replays_the_requests_browsers_sent(admin, users, provisioned):
    """The frontend's body differs from the spec's (its own post-processing, filters): the
    warm-up replays what the action log holds for the starter charts."""
    name, body = next(iter(dashboard_requests(admin)["fuites-eau"].items()))
    chart_id = next(
        c["id"] for c in admin.get("/api/v1/dashboard/fuites-eau/charts")["result"] if c["slice_name"] == name
    )
    browser = {**body, "queries": [{**body["queries"][0], "row_limit": 997}]}
    params = {"form_data": json.dumps({"slice_id": chart_id})}  # as the frontend does
    users["agent_eau"].post("/api/v1/chart/data", browser, params=params)  # computed and cached now
    time.sleep(1.1)  # Superset dates cached answers to the second
    mark = datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat()  # as Superset dates its answers
    report = warm(admin)
    assert report.replayed >= 1
    again = users["agent_eau"].post("/api/v1/chart/data", browser, params=params)["result"][0]
    assert again["is_cached"] and again["cached_dttm"] >= mark  # recomputed by the warm-up


def test_graph_asset_warms_the_running_superset(superset_instance, admin, users, provisioned, monkeypatch):
    monkeypatch.setenv("HYPERVISEUR_DATA_DIR", str(superset_instance.settings.data_dir))
    monkeypatch.setenv("HYPERVISEUR_SUPERSET_PORT", str(superset_instance.settings.superset_port))
    body = next(iter(dashboard_requests(admin)["fuites-eau"].values()))
    before = _answer(users["agent_eau"], body)
    time.sleep(1.1)
    result = dg.materialize([superset_cache])
    assert result.success
    meta = result.asset_materializations_for_node(superset_cache.op.name)[0].metadata
    assert meta["graphiques"].value > 0
    assert _answer(users["agent_eau"], body)["cached_dttm"] > before["cached_dttm"]


def test_graph_asset_does_nothing_without_superset(tmp_path, monkeypatch):
    monkeypatch.setenv("HYPERVISEUR_DATA_DIR", str(tmp_path))
    result = dg.materialize([superset_cache])
    meta = result.asset_materializations_for_node(superset_cache.op.name)[0].metadata
    assert result.success and meta["superset"].value == "arrêté" and meta["graphiques"].value == 0


def test_answers_at_the_row_cap_never_reach_a_capped_role(superset_instance, admin, users, table_request):
    cap = int(superset_instance.env["HYPERVISEUR_SUPERSET_EXPORT_ROW_LIMIT"])
    body = table_request("mart_air_quality_hourly", ["station_id", "pollutant", "value_ugm3", "hour_start"], 2 * cap)
    first = _answer(admin, {**body, "force": True})
    assert first["rowcount"] == 2 * cap
    analyst = _answer(users["analyste"], {**body, "force": False})
    assert analyst["rowcount"] == cap and not analyst["is_cached"]
    again = _answer(users["analyste"], {**body, "force": False})
    assert again["rowcount"] == cap and again["is_cached"]
    mine = _answer(admin, {**body, "force": False})
    assert mine["rowcount"] == 2 * cap and mine["is_cached"]


def test_warm_up_replays_only_the_requests_of_the_last_days(superset_instance, admin, users, provisioned):
    """The action log grows with every request: the warm-up reads only its last days, through
    an index Superset does not have (by action and date), and replays nothing older."""
    name, body = next(iter(dashboard_requests(admin)["fuites-eau"].items()))
    chart_id = next(
        c["id"] for c in admin.get("/api/v1/dashboard/fuites-eau/charts")["result"] if c["slice_name"] == name
    )
    requests = {
        age: {**body, "queries": [{**body["queries"][0], "row_limit": 990 + age}]} for age in (1, REPLAY_DAYS + 1)
    }
    metadata = sqlite3.connect(superset_instance.home / "superset.db", timeout=30)
    now = datetime.now(UTC).replace(tzinfo=None)
    logged = [
        metadata.execute(
            "INSERT INTO logs (action, json, dttm, slice_id) VALUES (?, ?, ?, ?)",
            (CHART_DATA_ACTION, json.dumps(request), now - timedelta(days=age), chart_id),
        ).lastrowid
        for age, request in requests.items()
    ]
    metadata.commit()
    try:
        plan = metadata.execute(
            "EXPLAIN QUERY PLAN SELECT id, json FROM logs WHERE action = ? AND dttm > ? ORDER BY dttm DESC LIMIT 500",
            (CHART_DATA_ACTION, now - timedelta(days=REPLAY_DAYS)),
        ).fetchall()
        (index,) = metadata.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'logs' AND sql LIKE '%(action, dttm)'"
        ).fetchone()
        assert any(f"USING INDEX {index} (action=? AND dttm>?)" in row[-1] for row in plan), plan
        warm(admin)
        params = {"form_data": json.dumps({"slice_id": chart_id})}
        recent = users["agent_eau"].post("/api/v1/chart/data", requests[1], params=params)["result"][0]
        older = users["agent_eau"].post("/api/v1/chart/data", requests[REPLAY_DAYS + 1], params=params)["result"][0]
        assert recent["is_cached"] and not older["is_cached"]
    finally:
        metadata.executemany("DELETE FROM logs WHERE id = ?", [(row,) for row in logged])
        metadata.commit()
        metadata.close()
