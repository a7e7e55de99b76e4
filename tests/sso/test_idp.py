"""The identity provider (issue 14): LemonLDAP::NG as OpenID Connect provider over OpenLDAP,
started by infra/sso/idp.py in a private run directory on free loopback ports.

Everything goes over plain HTTP as a relying party (Superset, later) would: discovery, the
portal's login form, the TOTP form, the token endpoint; ID tokens are checked against the
provider's JWKS (RS256, verified with `cryptography`) and TOTP codes computed with pyotp.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import stat
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import pyotp
import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from signon import idp, page_forms

REDIRECT_URI = "http://127.0.0.1:8088/oauth-authorized/hyperviseur"

# Missing packages (slapd, starman, LL::NG, nginx) fail every test here: see conftest.py.


@pytest.fixture(scope="module")
def sso(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("sso")
    state = idp.start(run_dir, port=0, ldap_port=0)
    try:
        accounts = json.loads((run_dir / "accounts.json").read_text())
        yield {"state": state, "accounts": accounts, "run_dir": run_dir}
    finally:
        idp.stop(run_dir)


@pytest.fixture(scope="module")
def discovery(sso):
    r = requests.get(sso["state"]["discovery"], timeout=10)
    r.raise_for_status()
    return r.json()


# -- a minimal relying party --------------------------------------------------------------------
def _form_with(html: str, field: str) -> dict | None:
    return next((f for f in page_forms(html) if field in f["fields"]), None)


def _submit(session: requests.Session, page: requests.Response, form: dict, values: dict) -> requests.Response:
    action = form["action"]
    url = page.url if action in ("", "#") else urljoin(page.url, action)
    data = {**form["fields"], **values}
    return session.post(url, data=data, allow_redirects=False, timeout=20)


def _follow_until_callback(session: requests.Session, r: requests.Response) -> requests.Response | str:
    """Follow the provider's redirects; return the code callback URL, or the last page."""
    for _ in range(10):
        if r.status_code not in (301, 302, 303, 307):
            return r
        location = urljoin(r.url, r.headers["Location"])
        if location.startswith(REDIRECT_URI):
            return location
        r = session.get(location, allow_redirects=False, timeout=20)
    raise AssertionError("too many redirects")


def authorize(sso, discovery, user: str, password: str, totp: str | None = None, client: str = "superset"):
    """Run the authorization-code flow up to the callback. Returns (callback URL or None, last
    page, session, state, nonce)."""
    session = requests.Session()
    state, nonce = secrets.token_urlsafe(8), secrets.token_urlsafe(8)
    params = {
        "response_type": "code",
        "client_id": client,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email groups",
        "state": state,
        "nonce": nonce,
    }
    page = session.get(f"{discovery['authorization_endpoint']}?{urlencode(params)}", allow_redirects=False, timeout=20)
    assert page.status_code == 200, page.text[:500]
    form = _form_with(page.text, "password")
    assert form is not None, "no login form"
    result = _follow_until_callback(session, _submit(session, page, form, {"user": user, "password": password}))
    if isinstance(result, requests.Response) and totp is not None:
        form = _form_with(result.text, "code")
        assert form is not None, f"no TOTP form:\n{result.text[:1500]}"
        code = totp() if callable(totp) else totp
        result = _follow_until_callback(session, _submit(session, result, form, {"code": code}))
    if isinstance(result, str):
        return result, None, session, state, nonce
    return None, result, session, state, nonce


def _b64url(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def verify_jwt(token: str, jwks: dict) -> dict:
    header_b64, payload_b64, sig_b64 = token.split(".")
    header = json.loads(_b64url(header_b64))
    assert header["alg"] == "RS256"
    key = next(k for k in jwks["keys"] if k.get("kid") == header.get("kid") or len(jwks["keys"]) == 1)
    public = rsa.RSAPublicNumbers(
        int.from_bytes(_b64url(key["e"]), "big"), int.from_bytes(_b64url(key["n"]), "big")
    ).public_key()
    # raises InvalidSignature when the token was not signed by the provider's key
    public.verify(_b64url(sig_b64), f"{header_b64}.{payload_b64}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return json.loads(_b64url(payload_b64))


def exchange(sso, discovery, callback: str, state: str, client: str = "superset") -> dict:
    query = parse_qs(urlparse(callback).query)
    assert query["state"] == [state]
    secret = sso["accounts"]["clients"][client]["client_secret"]
    r = requests.post(
        discovery["token_endpoint"],
        timeout=20,
        auth=(client, secret),
        data={"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": REDIRECT_URI},
    )
    assert r.status_code == 200, r.text
    return r.json()


# -- tests --------------------------------------------------------------------------------------
def test_discovery_and_loopback_only(sso, discovery):
    issuer = sso["state"]["issuer"]
    assert issuer == f"http://127.0.0.1:{sso['state']['port']}"
    assert discovery["issuer"] == issuer
    assert discovery["authorization_endpoint"].startswith(issuer)
    assert "code" in discovery["response_types_supported"]
    jwks = requests.get(discovery["jwks_uri"], timeout=10).json()
    assert jwks["keys"] and jwks["keys"][0]["kty"] == "RSA"
    # secrets are private to the run directory
    for name in ("accounts.json", "oidc-signing.key", "llng-key", "llng/conf/lmConf-1.json"):
        mode = stat.S_IMODE(os.stat(sso["run_dir"] / name).st_mode)
        assert mode == 0o600, (name, oct(mode))
    # both daemons listen on 127.0.0.1 only
    listening = Path("/proc/net/tcp").read_text().splitlines()[1:]
    ports = {sso["state"]["port"], sso["state"]["ldap_port"]}
    for line in listening:
        local, st = line.split()[1], line.split()[3]
        if st == "0A" and int(local.split(":")[1], 16) in ports:
            assert local.split(":")[0] == "0100007F", line
    assert not [
        ln
        for ln in Path("/proc/net/tcp6").read_text().splitlines()[1:]
        if ln.split()[3] == "0A" and int(ln.split()[1].split(":")[1], 16) in ports
    ]


def test_analyst_code_flow_id_token_groups(sso, discovery):
    user = sso["accounts"]["users"]["analyste"]
    callback, page, _s, state, nonce = authorize(sso, discovery, "analyste", user["password"])
    assert callback, f"no redirect to the RP:\n{page.text[:1500] if page is not None else ''}"
    tokens = exchange(sso, discovery, callback, state)
    jwks = requests.get(discovery["jwks_uri"], timeout=10).json()
    claims = verify_jwt(tokens["id_token"], jwks)
    assert claims["iss"] == sso["state"]["issuer"]
    assert claims["aud"] in ("superset", ["superset"]) or "superset" in claims["aud"]
    assert claims["nonce"] == nonce
    assert claims["sub"] == "analyste"
    assert claims["exp"] > time.time()
    assert claims["groups"] == ["Analyst"]
    assert claims["acr"] == "loa-2"  # password only
    assert claims["name"] == user["name"]
    assert claims["email"] == user["email"]
    # the access token opens the userinfo endpoint with the same claims
    info = requests.get(
        discovery["userinfo_endpoint"], timeout=10, headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ).json()
    assert info["sub"] == "analyste" and info["groups"] == ["Analyst"]


def test_wrong_password_refused(sso, discovery):
    callback, page, *_ = authorize(sso, discovery, "analyste", "not-the-password")
    assert callback is None
    assert _form_with(page.text, "password") is not None  # the login form again, with an error
    assert 'trmsg="5"' in page.text  # PE_BADCREDENTIALS
    callback, page, *_ = authorize(sso, discovery, "nobody", "x")
    assert callback is None


def test_steward_needs_totp(sso, discovery):
    user = sso["accounts"]["users"]["referent"]
    assert "Steward" in user["groups"] and user["totp_secret"]
    totp = pyotp.TOTP(user["totp_secret"])
    # a password alone stops at the second-factor form
    callback, page, *_ = authorize(sso, discovery, "referent", user["password"])
    assert callback is None and _form_with(page.text, "code") is not None
    # a wrong code is refused
    good = totp.now()
    wrong = f"{(int(good) + 500000) % 1000000:06d}"
    callback, page, *_ = authorize(sso, discovery, "referent", user["password"], totp=wrong)
    assert callback is None, "wrong TOTP accepted"
    assert "message-negative" in page.text
    # the right code completes the flow
    callback, page, _s, state, _n = authorize(sso, discovery, "referent", user["password"], totp=totp.now)
    assert callback, f"TOTP refused:\n{page.text[:1500] if page is not None else ''}"
    claims = verify_jwt(
        exchange(sso, discovery, callback, state)["id_token"], requests.get(discovery["jwks_uri"], timeout=10).json()
    )
    assert sorted(claims["groups"]) == ["Analyst", "Steward"]
    assert claims["acr"] == "loa-5"  # second factor presented


def test_operator_and_admin_need_totp(sso, discovery):
    for uid in ("astreinte", "admin"):
        user = sso["accounts"]["users"][uid]
        callback, page, *_ = authorize(sso, discovery, uid, user["password"])
        assert callback is None and _form_with(page.text, "code") is not None, uid
    user = sso["accounts"]["users"]["astreinte"]
    callback, _p, _s, state, _n = authorize(
        sso, discovery, "astreinte", user["password"], totp=pyotp.TOTP(user["totp_secret"]).now
    )
    claims = verify_jwt(
        exchange(sso, discovery, callback, state)["id_token"], requests.get(discovery["jwks_uri"], timeout=10).json()
    )
    assert sorted(claims["groups"]) == ["Agent_eau", "Operator"] and claims["acr"] == "loa-5"


def test_proxy_client_registered(sso, discovery):
    user = sso["accounts"]["users"]["agent.voirie"]
    session = requests.Session()
    params = {
        "response_type": "code",
        "client_id": "hyperviseur-proxy",
        "redirect_uri": sso["accounts"]["clients"]["hyperviseur-proxy"]["redirect_uris"][0],
        "scope": "openid groups",
        "state": "s",
    }
    page = session.get(f"{discovery['authorization_endpoint']}?{urlencode(params)}", timeout=20)
    form = _form_with(page.text, "password")
    r = _submit(session, page, form, {"user": "agent.voirie", "password": user["password"]})
    for _ in range(5):
        if r.status_code != 302 or r.headers["Location"].startswith(params["redirect_uri"]):
            break
        r = session.get(urljoin(r.url, r.headers["Location"]), allow_redirects=False, timeout=20)
    assert r.status_code == 302 and r.headers["Location"].startswith(params["redirect_uri"] + "?")
    assert "code=" in r.headers["Location"]
    # an unregistered redirect URI is refused
    bad = {**params, "redirect_uri": "http://127.0.0.1:9/evil"}
    r = session.get(f"{discovery['authorization_endpoint']}?{urlencode(bad)}", allow_redirects=False, timeout=20)
    assert not (r.status_code == 302 and r.headers.get("Location", "").startswith("http://127.0.0.1:9/"))


def test_totp_enrolled_for_privileged_roles_only(sso):
    users = sso["accounts"]["users"]
    for uid, u in users.items():
        needs = bool(set(u["groups"]) & {"Steward", "Admin", "Operator"})
        assert bool(u.get("totp_secret")) == needs, uid
    assert {g for u in users.values() for g in u["groups"]} >= {
        "Agent_eau",
        "Agent_voirie",
        "Analyst",
        "Steward",
        "Operator",
        "Admin",
    }


def test_restart_keeps_secrets(sso):
    before = (sso["run_dir"] / "accounts.json").read_text()
    key = (sso["run_dir"] / "oidc-signing.key").read_text()
    status = idp.status(sso["run_dir"])
    assert status["portal_running"] and status["slapd_running"]
    # a second start while running is a no-op
    again = idp.start(sso["run_dir"], port=0, ldap_port=0)
    assert again["issuer"] == sso["state"]["issuer"]
    assert (sso["run_dir"] / "accounts.json").read_text() == before
    assert (sso["run_dir"] / "oidc-signing.key").read_text() == key


def test_login_page_assets_served(sso, discovery):
    """The portal's CSS/JS (Debian's packaged copies) are served by the same PSGI app, so a
    browser gets a styled login page; the portal's admin endpoints are not exposed."""
    page = requests.get(discovery["authorization_endpoint"], timeout=10)
    local = [u for u in re.findall(r'(?:href|src)="(/[^"]+)"', page.text) if u.endswith((".css", ".js"))]
    assert local
    for path in local:
        assert requests.get(sso["state"]["issuer"] + path, timeout=10).status_code == 200, path
    for path in ("/config", "/sessions/global", "/adminSessions"):
        assert requests.get(sso["state"]["issuer"] + path, timeout=10).status_code == 403, path


def test_operator_step_up_reauthentication(sso, discovery):
    """Closing or cancelling an incident (issue 14): the operators' page asks the provider for
    a fresh authentication (OIDC max_age); LL::NG then asks to renew the session, the password
    and the TOTP again, and the new ID token carries a fresh auth_time and acr loa-5."""
    user = sso["accounts"]["users"]["astreinte"]
    totp = pyotp.TOTP(user["totp_secret"])
    jwks = requests.get(discovery["jwks_uri"], timeout=10).json()
    callback, _p, session, state, _n = authorize(sso, discovery, "astreinte", user["password"], totp=totp.now)
    first = verify_jwt(exchange(sso, discovery, callback, state)["id_token"], jwks)
    time.sleep(2.1)  # older than max_age=1
    params = {
        "response_type": "code",
        "client_id": "superset",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid groups",
        "state": "step-up",
        "max_age": "1",
    }
    r = session.get(f"{discovery['authorization_endpoint']}?{urlencode(params)}", allow_redirects=False, timeout=20)
    asked = []
    for _ in range(6):
        if isinstance(r, str):
            break
        answers = {
            "confirm": lambda: {},
            "password": lambda: {"user": "astreinte", "password": user["password"]},
            "code": lambda: {"code": totp.now()},
        }
        field, form = next(((f, _form_with(r.text, f)) for f in answers if _form_with(r.text, f)), (None, None))
        assert form is not None, r.text[:1500]
        values = answers[field]()
        asked.append(field)
        r = _follow_until_callback(session, _submit(session, r, form, values))
    assert isinstance(r, str), "no code after re-authentication"
    assert asked == ["confirm", "password", "code"]
    again = verify_jwt(exchange(sso, discovery, r, "step-up")["id_token"], jwks)
    assert again["auth_time"] > first["auth_time"] and again["acr"] == "loa-5"
