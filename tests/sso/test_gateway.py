"""The Dagster UI behind the single sign-on (issue 14), in Chromium.

A real identity provider (infra/sso/idp.py), the real gateway (infra/sso/gateway.py: nginx +
LemonLDAP::NG's handler) and two real dagster-webservers on a tiny code location (the normal
one for Admin, a `--read-only` one for Steward), all on free loopback ports. Each role signs on
through the portal (password, then a pyotp TOTP code for Admin and Steward).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect
from signon import cookie_header, gateway, idp, llng_conf, open_at_login, session_field, sign_on
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from tests.ports import free_ports

ROOT = Path(__file__).resolve().parents[2]

DEFS = Path(__file__).with_name("dagster_defs.py")
LOCATION = DEFS.name  # a `-f` code location is named after its file
WEBSERVER = Path(sys.executable).parent / "dagster-webserver"
PERMISSIONS = "{ permissions { permission value } }"
LAUNCH = (
    "mutation { launchRun(executionParams: {selector: {repositoryLocationName: "
    + json.dumps(LOCATION)
    + ', repositoryName: "__repository__", jobName: "job_releves"}}) { __typename } }'
)


def _webserver(port: int, home: Path, log: Path, *extra: str) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [str(WEBSERVER), "-h", "127.0.0.1", "-p", str(port), "-f", str(DEFS), *extra],
            cwd=ROOT,
            env=dict(os.environ, DAGSTER_HOME=str(home)),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_location(port: int, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    """Until the webserver answers and its code location is loaded (a load error fails)."""
    query = "{ workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError { __typename "
    query += "... on PythonError { message } } } } } }"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"dagster-webserver exited:\n{log.read_text(errors='replace')[-2000:]}"
        try:
            r = requests.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=5)
            entries = r.json()["data"]["workspaceOrError"]["locationEntries"]
            loaded = entries and entries[0]["locationOrLoadError"]
            if loaded:
                assert loaded["__typename"] == "RepositoryLocation", loaded
                return
        except (requests.RequestException, ValueError, KeyError, TypeError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"dagster-webserver on {port} not ready:\n{log.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    base = tmp_path_factory.mktemp("gateway")
    # One instance per webserver here, so that both start at once (two first starts on one
    # fresh instance race on its schema migration; infra/local/services.py shares one instance
    # and starts the read-only webserver once the instance exists).
    homes = [base / "dagster-admin", base / "dagster-readonly"]
    for home in homes:
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port, admin_port, readonly_port = free_ports(3)
    procs: list[subprocess.Popen] = []
    try:
        # provider and gateway first: the webservers' code servers take random ports too
        sso = idp.start(base / "sso", port=0, ldap_port=0)
        gateway.start(base / "gateway", base / "sso", port, admin_port, readonly_port)
        procs.append(_webserver(admin_port, homes[0], base / "admin.log"))
        procs.append(_webserver(readonly_port, homes[1], base / "readonly.log", "--read-only"))
        _wait_location(admin_port, procs[0], base / "admin.log")
        _wait_location(readonly_port, procs[1], base / "readonly.log")
        yield {
            "url": f"http://127.0.0.1:{port}",
            "port": port,
            "admin_port": admin_port,
            "readonly_port": readonly_port,
            "issuer": sso["issuer"],
            "sso_dir": base / "sso",
            "users": json.loads((base / "sso" / "accounts.json").read_text())["users"],
        }
    finally:
        gateway.stop(base / "gateway", quiet=True)
        idp.stop(base / "sso")
        for proc in procs:  # throw-away instances: no graceful shutdown needed
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(15)


def graphql_in_page(page, query: str) -> dict:
    """POST /graphql from the page itself: the browser's cookie, Origin and the gateway."""
    return page.evaluate(
        """async (query) => {
            const r = await fetch('/graphql', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                               body: JSON.stringify({query})});
            return {status: r.status, body: r.status === 200 ? await r.json() : await r.text()};
        }""",
        query,
    )


def can_launch(page) -> bool:
    r = graphql_in_page(page, PERMISSIONS)
    assert r["status"] == 200, r
    perms = {p["permission"]: p["value"] for p in r["body"]["data"]["permissions"]}
    return perms["launch_pipeline_execution"]


WEBSOCKET_ACK = """async () => {
    const ws = new WebSocket(location.origin.replace('http', 'ws') + '/graphql', 'graphql-ws');
    return await new Promise((done) => {
        ws.onopen = () => ws.send(JSON.stringify({type: 'connection_init', payload: {}}));
        ws.onmessage = (e) => { done(JSON.parse(e.data).type); ws.close(); };
        ws.onerror = () => done('error');
        setTimeout(() => done('timeout'), 15000);
    });
}"""


@pytest.fixture(scope="module")
def admin(browser, stack):
    context, page = sign_on(browser, stack, "admin", "/assets/releves_eau", expect_totp=True)
    yield context, page
    context.close()


@pytest.fixture(scope="module")
def steward(browser, stack):
    context, page = sign_on(browser, stack, "referent", "/assets/releves_eau", expect_totp=True)
    yield context, page
    context.close()


# -- tests ----------------------------------------------------------------------------------------
def test_no_session_is_sent_to_the_login(browser, stack):
    context, page = open_at_login(browser, stack, "/runs")
    assert page.url.startswith(stack["issuer"] + "/?url=")
    context.close()
    # nothing reaches Dagster without a session: not the API, not the websocket
    r = requests.post(
        stack["url"] + "/graphql",
        json={"query": PERMISSIONS},
        headers={"Origin": stack["url"]},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 302 and r.headers["Location"].startswith(stack["issuer"] + "/")
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(f"ws://127.0.0.1:{stack['port']}/graphql", origin=stack["url"], subprotocols=["graphql-ws"])
    assert refused.value.response.status_code == 302


def test_admin_signs_on_with_totp_and_can_launch(admin):
    _context, page = admin
    expect(page.locator("button", has_text="Materialize").first).to_be_enabled(timeout=30000)
    assert can_launch(page) is True
    # Dagster's websocket (GraphQL subscriptions) goes through the gateway
    assert page.evaluate(WEBSOCKET_ACK) == "connection_ack"


def test_steward_gets_the_read_only_ui(steward, stack):
    context, page = steward
    expect(page.get_by_text("job_releves").first).to_be_visible(timeout=30000)
    materialize = page.locator("button", has_text="Materialize").first
    expect(materialize).to_be_visible()
    assert can_launch(page) is False
    expect(materialize).to_be_disabled()
    launch = graphql_in_page(page, LAUNCH)
    assert launch["status"] == 200 and launch["body"]["data"]["launchRun"]["__typename"] == "UnauthorizedError"
    assert page.evaluate(WEBSOCKET_ACK) == "connection_ack"
    # headers a client sends to claim another identity are overwritten by the gateway
    r = requests.post(
        stack["url"] + "/graphql",
        json={"query": PERMISSIONS},
        headers={
            "Origin": stack["url"],
            "Cookie": cookie_header(context),
            "Hv-Role": "admin",
            "Hv-User": "admin",
            "X-Forwarded-User": "admin",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 200
    assert {p["permission"]: p["value"] for p in r.json()["data"]["permissions"]}["launch_pipeline_execution"] is False


def test_analyst_is_refused_with_a_french_page(browser, stack):
    context, page = sign_on(browser, stack, "analyste", "/", expect_totp=False)
    response = page.goto(stack["url"] + "/assets")
    assert response.status == 403
    assert "Accès refusé" in page.content()
    assert "text/html; charset=utf-8" in response.headers["content-type"]
    # claiming a role does not help
    r = requests.get(
        stack["url"] + "/graphql",
        headers={"Cookie": cookie_header(context), "Hv-Role": "admin"},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 403
    context.close()


def test_forged_host_and_foreign_origin_are_refused(steward, stack):
    context, _page = steward
    cookie = cookie_header(context)
    url = stack["url"] + "/graphql"
    ok = requests.post(url, json={"query": PERMISSIONS}, headers={"Cookie": cookie, "Origin": stack["url"]}, timeout=10)
    assert ok.status_code == 200  # the session itself is valid
    for host in ("evil.example", f"evil.example:{stack['port']}", "127.0.0.1", f"localhost:{stack['port']}"):
        r = requests.get(
            stack["url"] + "/", headers={"Host": host, "Cookie": cookie}, allow_redirects=False, timeout=10
        )
        assert r.status_code == 421, (host, r.status_code)
    for headers in ({"Origin": "http://evil.example"}, {}):  # foreign Origin, or none on a POST
        r = requests.post(url, json={"query": PERMISSIONS}, headers={"Cookie": cookie, **headers}, timeout=10)
        assert r.status_code == 403, (headers, r.status_code)
    with pytest.raises(InvalidStatus) as refused:  # cross-site websocket hijacking
        ws_connect(
            f"ws://127.0.0.1:{stack['port']}/graphql",
            origin="http://evil.example",
            additional_headers={"Cookie": cookie},
            subprotocols=["graphql-ws"],
        )
    assert refused.value.response.status_code == 403


def test_logout_ends_access(admin, stack):
    context, page = admin
    assert can_launch(page) is True
    page.goto(stack["issuer"] + "/?logout=1")
    page.goto(stack["url"] + "/assets")
    assert page.url.startswith(stack["issuer"] + "/"), page.url
    expect(page.locator("input[name=password]")).to_be_visible()
    r = requests.get(stack["url"] + "/server_info", headers={"Cookie": cookie_header(context)}, allow_redirects=False)
    assert r.status_code == 302


def test_expired_session_is_sent_back_to_the_login(browser, stack, tmp_path):
    context, page = sign_on(browser, stack, "agent.voirie", "/", expect_totp=False)
    assert page.goto(stack["url"] + "/").status == 403  # signed on, not allowed: the session is live
    # the session was opened more than `timeout` seconds ago, as LL::NG itself would store it
    aged = int(time.time()) - llng_conf(stack)[1]["timeout"] - 60
    session_field(stack, context, tmp_path, "_utime", aged)
    page.goto(stack["url"] + "/")
    assert page.url.startswith(stack["issuer"] + "/"), page.url
    expect(page.locator("input[name=password]")).to_be_visible()
    context.close()


def test_everything_listens_on_loopback_only(stack):
    ports = {stack["port"], stack["admin_port"], stack["readonly_port"]}
    seen = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        port = int(local.split(":")[1], 16)
        if state == "0A" and port in ports:
            assert local.split(":")[0] == "0100007F", line
            seen.add(port)
    assert seen == ports
