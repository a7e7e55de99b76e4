"""What the browser tests of the sign-on share: the infra/sso scripts, free ports, signing on
through the portal, the session cookie, and reading or changing a field of a LL::NG session."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import pyotp
import requests
from playwright.sync_api import expect

from tests.ports import free_ports

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str):
    """infra/sso/<name>.py, loaded by path (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(f"hv_sso_{name}", ROOT / "infra" / "sso" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


idp, gateway = _load("idp"), _load("gateway")


def open_at_login(browser, stack, path: str):
    """Open `path` on the gateway in a new browser context with no session: the portal's login
    form must be what shows. Returns the context (for the caller to close) and the page."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(stack["url"] + path)
    assert page.url.startswith(stack["issuer"] + "/"), f"not sent to the login: {page.url}"
    expect(page.locator("input[name=user]")).to_be_visible()
    expect(page.locator("input[name=password]")).to_be_visible()
    return context, page


def refused_without_session(browser, stack, path: str, post_path: str) -> None:
    """With no session, opening `path` shows the portal's login, and a POST to `post_path`
    carrying forged identity headers never reaches the page: it is sent to the login."""
    context, page = open_at_login(browser, stack, path)
    assert page.url.startswith(stack["issuer"] + "/?url=")
    context.close()
    r = requests.post(
        stack["url"] + post_path,
        data={"csrf": "0" * 64},
        headers={"Origin": stack["url"], "Hv-User": "admin", "Hv-Groups": "Admin", "Hv-Auth-Level": "5"},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 302 and r.headers["Location"].startswith(stack["issuer"] + "/")


def sign_on(browser, stack, user: str, path: str, expect_totp: bool):
    """Open `path` on the gateway with no session: sent to the portal; sign on there."""
    context, page = open_at_login(browser, stack, path)
    account = stack["users"][user]
    page.fill("input[name=user]", user)
    page.fill("input[name=password]", account["password"])
    page.press("input[name=password]", "Enter")
    if expect_totp:
        page.wait_for_selector("input[name=code]", timeout=20000)  # the second factor is asked
        page.fill("input[name=code]", pyotp.TOTP(account["totp_secret"]).now())
        page.press("input[name=code]", "Enter")
    page.wait_for_url(stack["url"] + path, timeout=30000)
    if not expect_totp:
        assert page.locator("input[name=code]").count() == 0
    return context, page


class _Forms(HTMLParser):
    """Every <form> of a page: action, method, id and its named <input> values."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append(
                {
                    "action": a.get("action") or "",
                    "method": (a.get("method") or "get").lower(),
                    "id": a.get("id"),
                    "fields": {},
                }
            )
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value") or ""


def page_forms(html: str) -> list[dict]:
    """The forms of an HTML page, for the tests that post them as a browser would."""
    parser = _Forms()
    parser.feed(html)
    return parser.forms


@contextmanager
def socket_page(base: Path, command: list[str], env: dict, application: str):
    """The identity provider, ``command`` serving a page on a Unix socket (``--socket``,
    ``--hote``, ``--portail`` appended) and the gateway's ``application`` in front of it, all
    under ``base``; stopped on exit. Yields what the sign-on tests need of the stack.

    The socket's folder sits in a folder every local user may enter (mode 0755), and the page
    creates its private one (mode 0700): what keeps other users out is that folder, not the
    test's own directories."""
    (port,) = free_ports(1)
    public = f"127.0.0.1:{port}"
    shared = Path(tempfile.mkdtemp(prefix=f"hv-{application}-", dir="/tmp"))
    shared.chmod(0o755)
    sock = shared / "page" / "page.sock"
    log = base / "page.log"
    proc = None
    try:
        sso = idp.start(base / "sso", port=0, ldap_port=0)
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [*command, "--socket", str(sock), "--hote", public, "--portail", sso["issuer"]],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while not sock.exists():
            assert proc.poll() is None, f"page exited:\n{log.read_text(errors='replace')[-2000:]}"
            assert time.monotonic() < deadline, f"page not listening:\n{log.read_text(errors='replace')[-2000:]}"
            time.sleep(0.1)
        gateway.start(base / "gateway", base / "sso", port, application=application, upstream_socket=sock)
        yield {
            "url": f"http://{public}",
            "port": port,
            "issuer": sso["issuer"],
            "sso_dir": base / "sso",
            "users": json.loads((base / "sso" / "accounts.json").read_text())["users"],
            "sock": sock,
            "shared": shared,
            "page_pid": proc.pid,
            "log": log,
        }
    finally:
        gateway.stop(base / "gateway", quiet=True)
        idp.stop(base / "sso")
        if proc is not None:
            _stop(proc)
        shutil.rmtree(shared, ignore_errors=True)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the page's group; on a starved machine a process may not be scheduled to exit
    in time (or a thread holds the interpreter while loading a language model, so the signal
    handler waits): then SIGKILL, and say what it was doing (kernel state and wait channel)."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        status = Path(f"/proc/{proc.pid}/status")
        state = next((line for line in status.read_text().splitlines() if line.startswith("State")), "?")
        wchan = Path(f"/proc/{proc.pid}/wchan").read_text(errors="replace")
        print(f"page {proc.pid} still running 5 s after SIGTERM ({state}, wchan {wchan}): SIGKILL", file=sys.stderr)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(15)


def cookie_header(context) -> str:
    return "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())


SESSION_FIELD = r"""
use strict;
use JSON qw(from_json);
use Lemonldap::NG::Common::Session;
my ( $confFile, $id, $field, $value ) = @ARGV;
local $/;
open my $c, '<', $confFile or die "$confFile: $!";
my $conf = from_json(<$c>);
my $s = Lemonldap::NG::Common::Session->new( {
    storageModule        => $conf->{globalStorage},
    storageModuleOptions => $conf->{globalStorageOptions},
    cacheModule          => $conf->{localSessionStorage},
    cacheModuleOptions   => $conf->{localSessionStorageOptions},
    id                   => $id,
    kind                 => 'SSO',
} );
die $s->error if $s->error;
print $s->data->{$field}, "\n";
$s->update( { $field => $value } ) if length $value;
die $s->error if $s->error;
"""


def llng_conf(stack) -> tuple[Path, dict]:
    """The provider's LL::NG configuration file and its content."""
    conf_file = stack["sso_dir"] / "llng" / "conf" / "lmConf-1.json"
    return conf_file, json.loads(conf_file.read_text())


def session_field(stack, context, tmp_path, field: str, value: object = None) -> str:
    """``field`` of the browser's LL::NG session as the portal stored it (before it is set to
    ``value``, when given)."""
    conf_file, conf = llng_conf(stack)
    session_id = next(c["value"] for c in context.cookies() if c["name"] == conf["cookieName"])
    script = tmp_path / "session-field.pl"
    script.write_text(SESSION_FIELD)
    out = subprocess.run(
        ["perl", str(script), str(conf_file), session_id, field, "" if value is None else str(value)],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()
