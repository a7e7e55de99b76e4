"""Chart answers sent again as they were (``superset/answer_cache.py``, issue 20), on the
session's real Superset: reused only after Superset's own checks, never across row-level
security, never once the cached rows they came from were replaced, and every request is still
in the access log with its row count."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from superset.warm import dashboard_requests, warm

pytestmark = pytest.mark.superset

REUSED = "X-Hyperviseur-Reponse-Reprise"


def _post(client, body: dict):
    resp = client.session.post(client.base_url + "/api/v1/chart/data", json=body, timeout=client.timeout)
    assert resp.status_code == 200, resp.text[:500]
    return resp


def _chart_data_log(superset_instance, username: str) -> list[dict]:
    con = sqlite3.connect(superset_instance.home / "superset.db")
    try:
        rows = con.execute(
            "SELECT l.json FROM logs l JOIN ab_user u ON u.id = l.user_id "
            "WHERE l.action = 'ChartDataRestApi.data' AND u.username = ? ORDER BY l.id",
            [username],
        ).fetchall()
    finally:
        con.close()
    return [json.loads(r[0]) for r in rows]


def test_repeated_answers_are_reused_identical_and_each_logged(superset_instance, admin, users):
    warm(admin)
    body = next(iter(dashboard_requests(admin)["fuites-eau"].values()))
    agent = users["agent_eau"]
    logged = len(_chart_data_log(superset_instance, agent.username))
    answers = [_post(agent, body) for _ in range(6)]
    assert all(r.headers.get(REUSED) == "oui" for r in answers)  # kept by the warm-up, for every worker
    assert len({r.content for r in answers}) == 1
    assert answers[0].headers["Content-Type"].startswith("application/json")
    entries = _chart_data_log(superset_instance, agent.username)[logged:]
    assert len(entries) == 6
    assert all(e["rowcount"] == json.loads(answers[0].content)["result"][0]["rowcount"] for e in entries)


def test_answers_never_cross_row_level_security(users, table_request):
    """Reports per service on the RLS-restricted dataset (agents: their own service's rows only)."""
    count = {"expressionType": "SQL", "sqlExpression": "COUNT(*)", "label": "n"}
    body = table_request("mart_citizen_reports", ["service"], 100, [count])
    services = {}
    for name in ("agent_eau", "analyste", "agent_eau", "analyste", "agent_eau", "analyste"):
        result = json.loads(_post(users[name], body).content)["result"][0]
        services.setdefault(name, set()).add(tuple(row["service"] for row in result["data"]))
    assert len(services["agent_eau"]) == len(services["analyste"]) == 1
    (mine,), (everyone,) = services["agent_eau"], services["analyste"]
    assert len(mine) == 1 and len(everyone) > 1 and set(mine) < set(everyone)


def test_a_replaced_cache_entry_is_never_answered_from_an_older_answer(admin, users):
    body = next(iter(dashboard_requests(admin)["fuites-eau"].values()))
    agent = users["agent_eau"]
    warm(admin)
    for _ in range(3):
        before = json.loads(_post(agent, body).content)["result"][0]
    time.sleep(1.1)  # Superset dates cached answers to the second
    _post(admin, {**body, "force": True})  # "Forcer l'actualisation": the rows are computed again
    after = [json.loads(_post(agent, body).content)["result"][0] for _ in range(4)]
    assert all(a["cached_dttm"] > before["cached_dttm"] for a in after)


def test_forced_and_csv_requests_are_never_reused(admin, users):
    body = next(iter(dashboard_requests(admin)["fuites-eau"].values()))
    analyst = users["analyste"]  # may export CSV
    warm(admin)
    assert any(_post(analyst, body).headers.get(REUSED) for _ in range(4))
    forced = [_post(analyst, {**body, "force": True}) for _ in range(3)]
    csv = [_post(analyst, {**body, "result_format": "csv"}) for _ in range(3)]
    assert not any(r.headers.get(REUSED) for r in forced + csv)
    assert all(r.headers["Content-Type"].startswith("text/csv") for r in csv)


def test_an_answer_at_the_row_cap_never_reaches_a_capped_role(superset_instance, admin, users, table_request):
    cap = int(superset_instance.env["HYPERVISEUR_SUPERSET_EXPORT_ROW_LIMIT"])
    body = table_request("mart_air_quality_hourly", ["station_id", "pollutant", "hour_start"], 3 * cap)
    _post(admin, {**body, "force": True})
    mine = [_post(admin, body) for _ in range(3)]
    assert mine[-1].headers.get(REUSED) == "oui"
    assert all(json.loads(r.content)["result"][0]["rowcount"] == 3 * cap for r in mine)
    theirs = [json.loads(_post(users["analyste"], body).content)["result"][0] for _ in range(3)]
    assert all(t["rowcount"] == cap for t in theirs)
