"""Chart answers sent again as they were (``superset/answer_cache.py``, issue 20), on the
session's real Superset: reused after Superset's own checks, never across row-level
security, never once the cached rows they came from were replaced, and every request is still
in the access log with its row count; sent back before the checks only to the person who made
the very same request, and never again once a role, a permission or the account changed."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from superset.provision import admin_client
from superset.warm import dashboard_requests, warm

pytestmark = pytest.mark.superset

REUSED = "X-Hyperviseur-Reponse-Reprise"
DIRECT = "X-Hyperviseur-Reponse-Directe"


def _send(client, body: dict, query: str = ""):
    url = client.base_url + "/api/v1/chart/data" + (f"?{query}" if query else "")
    return client.session.post(url, json=body, timeout=client.timeout)


def _post(client, body: dict, query: str = ""):
    resp = _send(client, body, query)
    assert resp.status_code == 200, resp.text[:500]
    return resp


def _metadata(superset_instance, sql: str, params=()) -> list[tuple]:
    con = sqlite3.connect(superset_instance.home / "superset.db", timeout=30)
    try:
        with con:
            return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _epoch(superset_instance) -> int:
    return _metadata(superset_instance, "SELECT value FROM hyperviseur_metadata_epoch")[0][0]


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


def test_the_same_request_of_the_same_person_is_answered_before_the_checks_and_logged(superset_instance, admin, users):
    warm(admin)
    body = next(iter(dashboard_requests(admin)["fuites-eau"].values()))
    agent, fresh = users["agent_eau"], f"essai={uuid.uuid4().hex}"  # a request this person never made
    logged = len(_chart_data_log(superset_instance, agent.username))
    answers = [_post(agent, body, fresh) for _ in range(5)]
    assert answers[0].headers.get(REUSED) == "oui" and DIRECT not in answers[0].headers  # checked first
    assert all(r.headers.get(DIRECT) == "oui" for r in answers[1:])
    assert len({r.content for r in answers}) == 1
    entries = _chart_data_log(superset_instance, agent.username)[logged:]
    rows = json.loads(answers[0].content)["result"][0]["rowcount"]
    assert len(entries) == 5 and all(e["rowcount"] == rows and e["path"] == "/api/v1/chart/data" for e in entries)
    other = _post(users["analyste"], body, fresh)  # the same request from someone else: checked
    assert DIRECT not in other.headers


def test_reading_and_signing_in_do_not_count_as_changes(superset_instance, admin, users):
    before = _epoch(superset_instance)
    again = admin_client(superset_instance)  # a new sign-in (last login, login count written)
    body = next(iter(dashboard_requests(again)["fuites-eau"].values()))
    for _ in range(3):
        _post(users["agent_eau"], body)
    assert _epoch(superset_instance) == before


class _RolesTakenAway:
    """A user's roles taken away in the metadata database directly (as any writer could:
    the triggers count it), given back on leaving."""

    def __init__(self, superset_instance, username: str):
        self.instance = superset_instance
        rows = _metadata(superset_instance, "SELECT id FROM ab_user WHERE username = ?", [username])
        self.user_id = rows[0][0]

    def __enter__(self):
        sql = "SELECT role_id FROM ab_user_role WHERE user_id = ?"
        self.roles = _metadata(self.instance, sql, [self.user_id])
        _metadata(self.instance, "DELETE FROM ab_user_role WHERE user_id = ?", [self.user_id])

    def __exit__(self, *_exc):
        for (role_id,) in self.roles:
            sql = "INSERT INTO ab_user_role (user_id, role_id) VALUES (?, ?)"
            _metadata(self.instance, sql, [self.user_id, role_id])


def _refused(resp) -> bool:
    return resp.status_code in (401, 403, 404) and DIRECT not in resp.headers


def test_a_role_taken_away_is_never_bypassed_by_an_earlier_answer(superset_instance, admin, users):
    warm(admin)
    body = next(iter(dashboard_requests(admin)["fuites-eau"].values()))
    agent, fresh = users["agent_eau"], f"essai={uuid.uuid4().hex}"
    assert [_post(agent, body, fresh).headers.get(DIRECT) for _ in range(3)][1:] == ["oui", "oui"]
    with _RolesTakenAway(superset_instance, agent.username):
        assert _refused(_send(agent, body, fresh))
    back = [_post(agent, body, fresh) for _ in range(2)]
    assert DIRECT not in back[0].headers and back[1].headers.get(DIRECT) == "oui"


def test_permission_checks_kept_in_memory_are_forgotten_at_the_next_change(superset_instance, admin, users):
    """Superset's checks answered from memory (``remembered_checks.py``) for a request never
    made before: a role taken away refuses the very next one."""
    body = next(iter(dashboard_requests(admin)["fuites-eau"].values()))
    agent = users["agent_eau"]
    for _ in range(3):  # the checks' answers are now in both workers' memory
        _post(agent, body, f"essai={uuid.uuid4().hex}")
    with _RolesTakenAway(superset_instance, agent.username):
        assert all(_refused(_send(agent, body, f"essai={uuid.uuid4().hex}")) for _ in range(3))
    assert _post(agent, body, f"essai={uuid.uuid4().hex}")


class _Deactivated:
    """An account deactivated in the metadata database directly (as any writer could: the
    triggers count it), active again on leaving."""

    def __init__(self, superset_instance, username: str):
        self.instance, self.username = superset_instance, username

    def _set_active(self, active: int) -> None:
        _metadata(self.instance, "UPDATE ab_user SET active = ? WHERE username = ?", [active, self.username])

    def __enter__(self):
        self._set_active(0)

    def __exit__(self, *_exc):
        self._set_active(1)


def test_an_account_deactivated_is_refused_from_its_next_request(superset_instance, users, table_request):
    """Each worker keeps the account of a chart request in memory (``remembered_checks.py``):
    deactivated by any writer, it is refused from its very next request, whether a request it
    made before (answered before the checks until then) or a new one. (A masked dataset: once
    deactivated, the person is an anonymous visitor, who may read the public datasets.)"""
    body = table_request("mart_air_quality_hourly", ["station_id"], 10)
    agent, made = users["analyste"], f"essai={uuid.uuid4().hex}"
    for _ in range(2):  # computed, then answered from the cache: the request is noted
        _post(agent, body, made)
    assert all(_post(agent, body, made).headers.get(DIRECT) == "oui" for _ in range(2))
    for _ in range(3):  # the account is now in both workers' memory
        _post(agent, body, f"essai={uuid.uuid4().hex}")
    with _Deactivated(superset_instance, agent.username):
        assert _refused(_send(agent, body, made))
        assert all(_refused(_send(agent, body, f"essai={uuid.uuid4().hex}")) for _ in range(3))
    assert _post(agent, body, made)


class _RulesNarrowed:
    """A user's row-level security clauses narrowed to no row in the metadata database
    directly (as any writer could: the triggers count it), given back on leaving."""

    _RULES = (
        "SELECT f.id, f.clause FROM row_level_security_filters f "
        "JOIN rls_filter_roles r ON r.rls_filter_id = f.id "
        "JOIN ab_user_role ur ON ur.role_id = r.role_id JOIN ab_user u ON u.id = ur.user_id "
        "WHERE u.username = ?"
    )

    def __init__(self, superset_instance, username: str):
        self.instance = superset_instance
        self.rules = _metadata(superset_instance, self._RULES, [username])
        assert self.rules, f"{username} has no row-level security rule"

    def __enter__(self):
        for rule_id, clause in self.rules:
            _metadata(
                self.instance,
                "UPDATE row_level_security_filters SET clause = ? WHERE id = ?",
                [f"({clause}) AND 1 = 0", rule_id],
            )

    def __exit__(self, *_exc):
        for rule_id, clause in self.rules:
            _metadata(self.instance, "UPDATE row_level_security_filters SET clause = ? WHERE id = ?", [clause, rule_id])


def test_row_level_security_kept_in_memory_is_forgotten_at_the_next_change(superset_instance, users, table_request):
    """The rules read at each chart request are kept per worker (``remembered_checks.py``): a
    rule narrowed applies to the very next request, and so does the rule given back."""
    count = {"expressionType": "SQL", "sqlExpression": "COUNT(*)", "label": "n"}
    body = table_request("mart_citizen_reports", ["service"], 100, [count])
    agent = users["agent_eau"]

    def rows() -> list[list]:
        return [
            json.loads(_post(agent, body, f"essai={uuid.uuid4().hex}").content)["result"][0]["data"] for _ in range(4)
        ]

    before = rows()  # the rules are now in both workers' memory
    assert all(r == before[0] and len(r) == 1 for r in before)
    with _RulesNarrowed(superset_instance, agent.username):
        assert rows() == [[]] * 4
    assert rows() == [before[0]] * 4


class _RuleForRole:
    """A row-level security rule for ``role`` on a dataset, laid through Superset's API and
    removed on leaving."""

    def __init__(self, admin, dataset_id: int, role: str, clause: str):
        self.admin = admin
        self.rule = {
            "name": f"essai:{uuid.uuid4().hex}",
            "filter_type": "Regular",
            "tables": [dataset_id],
            "roles": [admin.find("/api/v1/security/roles/", "name", role)["id"]],
            "clause": clause,
            "group_key": "",
        }

    def __enter__(self):
        self.rule_id = self.admin.post("/api/v1/rowlevelsecurity/", self.rule)["id"]

    def __exit__(self, *_exc):
        self.admin.delete(f"/api/v1/rowlevelsecurity/{self.rule_id}")


@pytest.fixture
def virtual_reports(admin, database_ids):
    """A virtual dataset reading the masked daily reports mart, as an analyst saves one from
    SQL Lab; removed afterwards."""
    name = f"essai_signalements_{uuid.uuid4().hex[:8]}"
    dataset = {
        "database": database_ids["masked"],
        "schema": "masked",
        "table_name": name,
        "sql": "SELECT * FROM masked.mart_citizen_reports_daily",
    }
    dataset_id = admin.post("/api/v1/dataset/", dataset)["id"]
    yield name
    admin.delete(f"/api/v1/dataset/{dataset_id}")


def test_a_rule_on_a_table_a_virtual_dataset_reads_narrows_the_next_answer_of_its_role_only(
    admin, users, table_request, virtual_reports
):
    """A virtual dataset's answers are keyed on the rules of the tables its SQL reads, and
    "no rule there" is kept per worker and per person (``remembered_checks.py``): a rule laid
    on such a table narrows the very next answer of the role it names, never another's, and
    the answer widens again once the rule is removed."""
    count = {"expressionType": "SQL", "sqlExpression": "COUNT(*)", "label": "n"}
    body = table_request(virtual_reports, ["service"], 100, [count])
    analyst, steward = users["analyste"], users["referent"]  # Analyst; Steward and Analyst

    def rows(client) -> list[list]:
        return [
            json.loads(_post(client, body, f"essai={uuid.uuid4().hex}").content)["result"][0]["data"] for _ in range(4)
        ]

    everyone = rows(analyst)
    assert all(r == everyone[0] for r in everyone)
    assert rows(steward) == [everyone[0]] * 4  # "no rule there" is now in both workers' memory, for both
    water = [row for row in everyone[0] if row["service"] == "eau"]
    assert water and len(water) < len(everyone[0])
    reports = admin.find("/api/v1/dataset/", "table_name", "mart_citizen_reports_daily")["id"]
    with _RuleForRole(admin, reports, "Steward", "service = 'eau'"):
        assert rows(analyst) == [everyone[0]] * 4  # not a steward
        assert rows(steward) == [water] * 4
    assert rows(steward) == [everyone[0]] * 4


def test_a_dataset_kept_in_memory_follows_its_metrics_from_the_next_request(
    admin, users, table_request, virtual_reports
):
    """Each worker keeps a copy of a chart's dataset, its columns, metrics and database while
    the metadata is unchanged (``remembered_checks.remembered_dataset``): a metric added to the
    dataset, then changed, through Superset's API, is used from the very next request."""
    body = table_request(virtual_reports, ["service"], 100, ["nombre_essai"])
    analyst = users["analyste"]

    def answers() -> list:
        return [_send(analyst, body, f"essai={uuid.uuid4().hex}") for _ in range(6)]

    unknown = answers()  # the dataset, without that metric, is now in the workers' memory
    assert all(r.status_code == 400 and "nombre_essai" in r.json()["message"] for r in unknown)
    dataset_id = admin.find("/api/v1/dataset/", "table_name", virtual_reports)["id"]

    def counts() -> list[dict]:
        got = answers()
        assert all(r.status_code == 200 for r in got), got[0].text[:300]
        return [{row["service"]: row["nombre_essai"] for row in r.json()["result"][0]["data"]} for r in got]

    admin.put(f"/api/v1/dataset/{dataset_id}", {"metrics": [{"metric_name": "nombre_essai", "expression": "COUNT(*)"}]})
    once = counts()
    assert len(once[0]) == 6 and all(c == once[0] for c in once)
    metric_id = admin.get(f"/api/v1/dataset/{dataset_id}")["result"]["metrics"][0]["id"]
    doubled = {"id": metric_id, "metric_name": "nombre_essai", "expression": "COUNT(*) * 2"}
    admin.put(f"/api/v1/dataset/{dataset_id}", {"metrics": [doubled]})
    assert counts() == [{service: 2 * n for service, n in once[0].items()}] * 6


def test_a_period_that_moves_within_the_day_is_never_answered_before_the_checks(admin, users, table_request):
    """A period counted from "now", or one whose relative end the request moves, asks for other
    rows a minute later while the request's bytes stay the same (the query's ``time_range`` is
    the period Superset applies to its time filter, as the frontend sends it)."""
    body = table_request("mart_air_quality_hourly", ["station_id"], 10)
    for period, extras in (('DATEADD(DATETIME("now"), -7, day) : now', {}), ("Last week", {"relative_end": "now"})):
        body["queries"][0]["filters"] = [{"col": "hour_start", "op": "TEMPORAL_RANGE", "val": period}]
        body["queries"][0]["time_range"] = period
        body["queries"][0]["extras"] = {**body["queries"][0]["extras"], **extras}
        fresh = f"essai={uuid.uuid4().hex}"
        answers = [_post(users["analyste"], body, fresh) for _ in range(4)]
        assert not any(DIRECT in r.headers for r in answers), period


def test_a_starter_chart_s_period_is_answered_before_the_checks_for_the_day(admin, users):
    """The starter charts along time ask for the last months up to today (bounds that move only
    at midnight): the same request is answered directly the same day, with the same bytes."""
    warm(admin)
    requests = dashboard_requests(admin)["qualite-air"]
    body = next(b for b in requests.values() if b["queries"][0]["filters"])
    assert body["queries"][0]["filters"][0]["op"] == "TEMPORAL_RANGE"
    fresh = f"essai={uuid.uuid4().hex}"
    answers = [_post(users["analyste"], body, fresh) for _ in range(4)]
    assert DIRECT not in answers[0].headers and all(DIRECT in r.headers for r in answers[1:])
    assert len({r.content for r in answers}) == 1
    assert json.loads(answers[0].content)["result"][0]["rowcount"] > 0


def test_agents_asking_at_once_on_an_empty_cache_compute_each_chart_once(superset_instance, users, table_request):
    """``single_flight.py``: the requests that miss the same cache entry at the same time wait
    for the first one's rows instead of each running the SQL (both workers, many threads)."""
    count = {"expressionType": "SQL", "sqlExpression": "COUNT(*)", "label": f"n_{uuid.uuid4().hex[:8]}"}
    body = table_request("mart_air_quality_hourly", ["station_id", "pollutant"], 1000, [count])
    for entry in (superset_instance.home / "cache" / "data").glob("*"):
        entry.unlink(missing_ok=True)
    agent = users["analyste"]
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda i: _post(agent, body, f"agent={i}"), range(12)))
    computed = [a for a in answers if not json.loads(a.content)["result"][0]["is_cached"]]
    assert len(computed) == 1
    assert len({json.dumps(json.loads(a.content)["result"][0]["data"]) for a in answers}) == 1
