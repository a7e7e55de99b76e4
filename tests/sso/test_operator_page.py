"""The operators' incident page behind the single sign-on (issue 14), in Chromium.

A real identity provider (infra/sso/idp.py), the real gateway (infra/sso/gateway.py
``--application alerts``: nginx + LemonLDAP::NG's handler) and the real page
(``hyperviseur alerts page --servir --socket``, a subprocess on a Unix socket in a private
directory) on a small stored incidents state. The Operator signs on with password + pyotp TOTP,
acknowledges and closes incidents through the buttons; the audit log names them.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyotp
import pytest
import requests
from playwright.sync_api import expect
from signon import cookie_header, refused_without_session, session_field, sign_on, socket_page

from alerting.engine import Engine
from alerting.store import AlertStore
from lakehouse.audit import AuditLog, ensure_audit_key
from lakehouse.platform import Lakehouse
from tests.incident_samples import incident

ROOT = Path(__file__).resolve().parents[2]

HYPERVISEUR = Path(sys.executable).parent / "hyperviseur"


def _incident(n: int, title: str, priority: float) -> dict:
    now = time.time()
    return incident(n, title=title, priority=priority, opened_at=now - 600, updated_at=now - 60)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    base = tmp_path_factory.mktemp("operators")
    data = base / "data"
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(data)})
    ensure_audit_key(lh.settings)
    AlertStore(lh).save(
        [
            _incident(1, "Fuite probable — secteur Nord", 80),
            _incident(2, "Chute de pression — secteur Sud", 60),
            _incident(3, "Turbidité — réservoir Est", 50),
        ],
        "",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERVISEUR_")}
    env["HYPERVISEUR_DATA_DIR"] = str(data)
    with socket_page(base, [str(HYPERVISEUR), "alerts", "page", "--servir"], env, "alerts") as page:
        yield page | {"lh": lh}


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', html).group(1)


def actions(stack) -> list[dict]:
    return [a for _, a in AlertStore(stack["lh"]).actions_after("")]


@pytest.fixture(scope="module")
def operator(browser, stack):
    context, page = sign_on(browser, stack, "astreinte", "/", expect_totp=True)
    yield context, page
    context.close()


# -- tests ----------------------------------------------------------------------------------------
def test_no_session_is_sent_to_the_login(browser, stack):
    refused_without_session(browser, stack, "/", "/clore/INC-3")
    assert actions(stack) == []


def test_operator_acknowledges_and_closes_with_their_identity(operator, stack, tmp_path):
    context, page = operator
    assert (
        session_field(stack, context, tmp_path, "authenticationLevel") == "5"
    )  # the TOTP login's level (totp2fAuthnLevel)
    expect(page.locator("#session")).to_contain_text("Claire Dubois (astreinte ; Agent_eau, Operator)")
    for n in (1, 2, 3):
        expect(page.locator(f"#INC-{n}")).to_contain_text("ouvert")
    page.locator("#INC-1").get_by_role("button", name="Prendre en compte").click()
    page.wait_for_url(stack["url"] + "/")
    expect(page.locator("#INC-1")).to_contain_text("pris en compte")
    expect(page.locator("#INC-1 .acquitte")).to_contain_text("par Claire Dubois (astreinte)")
    page.locator("#INC-2").get_by_role("button", name="Clore").click()
    page.wait_for_url(stack["url"] + "/")
    expect(page.locator("#INC-2")).to_contain_text("clos par Claire Dubois (astreinte)")
    expect(page.locator("#INC-2").get_by_role("button")).to_have_count(0)

    identity = {"sub": "astreinte", "name": "Claire Dubois", "groups": ["Agent_eau", "Operator"], "auth_level": 5}
    records = [r for r in AuditLog(stack["lh"]).records() if r["event_type"].startswith("incident.")]
    assert [(r["event_type"], r["actor"], r["payload"]["incident_id"]) for r in records] == [
        ("incident.ack", "astreinte", "INC-1"),
        ("incident.close", "astreinte", "INC-2"),
    ]
    for r in records:
        assert {k: r["payload"][k] for k in identity} == identity
    assert AuditLog(stack["lh"]).verify().ok
    acts = actions(stack)
    assert [(a["action"], a["incident_id"], a["actor"], a["identity"]) for a in acts] == [
        ("ack", "INC-1", "astreinte", identity),
        ("close", "INC-2", "astreinte", identity),
    ]
    # the engine applies them with the identity: incident fields and history
    engine = Engine(stack["lh"], channels=False, anomalies=False, persist=False)
    engine.manager.load(AlertStore(stack["lh"]).load()["incidents"])
    engine._apply_actions(AlertStore(stack["lh"]).actions_after(""))
    inc1, inc2 = engine.manager.incidents["INC-1"], engine.manager.incidents["INC-2"]
    assert (inc1.status, inc1.acked_by, inc1.acked_identity) == ("acknowledged", "astreinte", identity)
    assert (inc2.status, inc2.closed_by, inc2.closed_identity) == ("closed", "astreinte", identity)
    assert inc2.history[-1]["evenement"] == "clos par Claire Dubois (astreinte ; Agent_eau, Operator)"
    assert inc2.history[-1]["par"] == identity


def test_post_without_csrf_token_foreign_origin_or_forged_host_is_refused(operator, stack):
    context, page = operator
    cookie = cookie_header(context)
    before = len(actions(stack))
    token = csrf_of(page.content())
    url = stack["url"] + "/acquitter/INC-3"
    for data in ({}, {"csrf": "0" * 64}, {"csrf": token[:-1] + ("0" if token[-1] != "0" else "1")}):
        r = requests.post(url, data=data, headers={"Cookie": cookie, "Origin": stack["url"]}, allow_redirects=False)
        assert r.status_code == 403 and "CSRF" in r.text, (data, r.status_code, r.text)
    for headers in ({"Origin": "http://evil.example"}, {}):  # cross-site Origin, or none on a POST
        r = requests.post(url, data={"csrf": token}, headers={"Cookie": cookie, **headers}, allow_redirects=False)
        assert r.status_code == 403, (headers, r.status_code)
    for host in ("evil.example", f"evil.example:{stack['port']}", f"localhost:{stack['port']}"):  # DNS rebinding
        for method in ("get", "post"):
            r = requests.request(
                method,
                stack["url"] + ("/" if method == "get" else "/acquitter/INC-3"),
                data={"csrf": token},
                headers={"Host": host, "Cookie": cookie, "Origin": stack["url"]},
                allow_redirects=False,
            )
            assert r.status_code == 421, (host, method, r.status_code)
    assert len(actions(stack)) == before
    # the same request with the page's token goes through: the refusals above are the checks' doing,
    # and identity headers a client adds are replaced by the gateway's
    r = requests.post(
        url,
        data={"csrf": token},
        headers={"Cookie": cookie, "Origin": stack["url"], "Hv-User": "admin", "Hv-Name": "Faux", "Hv-Groups": "Admin"},
        allow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert actions(stack)[-1]["actor"] == "astreinte" and actions(stack)[-1]["identity"]["name"] == "Claire Dubois"


def test_closing_needs_the_second_factor(operator, stack, tmp_path):
    """A session below level 5 (as after a password alone) may acknowledge but not close; the
    refusal links to the portal's step-up (second factor only), after which closing works."""
    context, page = operator
    session_field(stack, context, tmp_path, "authenticationLevel", 2)
    page.goto(stack["url"] + "/")
    page.locator("#INC-3").get_by_role("button", name="Clore").click()
    expect(page.locator("h1")).to_have_text("Second facteur requis")
    expect(page.locator("body")).to_contain_text("demande le second facteur (code TOTP)")
    assert not [a for a in actions(stack) if a["action"] == "close" and a["incident_id"] == "INC-3"]
    page.locator("#second-facteur").click()  # LL::NG's session upgrade: confirm, password, TOTP
    assert page.url.startswith(stack["issuer"] + "/upgradesession"), page.url
    page.locator("form button[type=submit]").first.click()
    page.fill("input[name=password]", stack["users"]["astreinte"]["password"])
    page.press("input[name=password]", "Enter")
    page.wait_for_selector("input[name=code]", timeout=20000)
    page.fill("input[name=code]", pyotp.TOTP(stack["users"]["astreinte"]["totp_secret"]).now())
    page.press("input[name=code]", "Enter")
    page.wait_for_url(stack["url"] + "/", timeout=30000)
    assert session_field(stack, context, tmp_path, "authenticationLevel") == "5"
    page.locator("#INC-3").get_by_role("button", name="Clore").click()
    page.wait_for_url(stack["url"] + "/")
    expect(page.locator("#INC-3")).to_contain_text("clos par Claire Dubois (astreinte)")
    [close] = [a for a in actions(stack) if a["action"] == "close" and a["incident_id"] == "INC-3"]
    assert close["identity"]["auth_level"] == 5


def test_admin_may_use_the_page(browser, stack):
    context, page = sign_on(browser, stack, "admin", "/", expect_totp=True)
    expect(page.locator("#session")).to_contain_text("Thomas Garnier (admin ; Admin)")
    expect(page.locator("#INC-3")).to_be_visible()
    context.close()


def test_analyst_is_refused_with_a_french_page(browser, stack):
    context, page = sign_on(browser, stack, "analyste", "/", expect_totp=False)  # signed on, then refused
    response = page.goto(stack["url"] + "/")
    assert response.status == 403
    assert "Accès refusé" in page.content() and "Opérateur d'astreinte" in page.content()
    r = requests.post(
        stack["url"] + "/acquitter/INC-3",
        data={"csrf": "0" * 64},
        headers={"Cookie": cookie_header(context), "Origin": stack["url"], "Hv-Groups": "Operator"},
        allow_redirects=False,
    )
    assert r.status_code == 403
    context.close()


def test_the_page_cannot_be_reached_around_the_gateway(stack):
    sock = stack["sock"]
    assert (sock.parent.stat().st_mode & 0o777) == 0o700 and (sock.stat().st_mode & 0o777) == 0o600
    # the page process listens on no TCP port: its only socket is the Unix one
    inodes = {
        os.readlink(f"/proc/{stack['page_pid']}/fd/{fd}")[8:-1]
        for fd in os.listdir(f"/proc/{stack['page_pid']}/fd")
        if os.readlink(f"/proc/{stack['page_pid']}/fd/{fd}").startswith("socket:[")
    }
    assert inodes
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            assert line.split()[9] not in inodes, line
    # another local user (nobody) cannot even connect to it, let alone send identity headers; a
    # socket beside its folder, open to all, is reachable by the same probe (the probe works)
    probe = (
        "use IO::Socket::UNIX; my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]);"
        "if (!$s) { print $!{EACCES} ? 'refused' : qq(error $!); exit }"
        "print $s qq(POST /clore/INC-1 HTTP/1.0\\r\\nHv-User: admin\\r\\nHv-Groups: Admin\\r\\n\\r\\n);"
        "print 'connected'"
    )
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "perl", "-e", probe]
    with socket.socket(socket.AF_UNIX) as control:
        control.bind(str(stack["shared"] / "control.sock"))
        control.listen(1)
        os.chmod(stack["shared"] / "control.sock", 0o666)
        r = subprocess.run([*nobody, str(stack["shared"] / "control.sock")], capture_output=True, text=True, timeout=30)
        assert r.stdout.strip() == "connected", (r.stdout, r.stderr)
    r = subprocess.run([*nobody, str(sock)], capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == "refused", (r.stdout, r.stderr)
    assert not [a for a in actions(stack) if a["incident_id"] == "INC-1" and a["action"] == "close"]
