"""What the browser tests of the sign-on share: the infra/sso scripts, free ports, signing on
through the portal, the session cookie, and reading or changing a field of a LL::NG session."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
from pathlib import Path

import pyotp

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str):
    """infra/sso/<name>.py, loaded by path (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(f"hv_sso_{name}", ROOT / "infra" / "sso" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


idp, gateway = _load("idp"), _load("gateway")


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def sign_on(browser, stack, user: str, path: str, expect_totp: bool):
    """Open `path` on the gateway with no session: sent to the portal; sign on there."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(stack["url"] + path)
    assert page.url.startswith(stack["issuer"] + "/"), f"not sent to the login: {page.url}"
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
