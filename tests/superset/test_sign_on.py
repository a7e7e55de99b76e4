"""Superset signs on through the identity provider (issue 14), in Chromium and over HTTP.

The session's real provider (infra/sso/idp.py: LemonLDAP::NG + OpenLDAP) and real Superset
(``conftest.py``): each role signs on through the portal (pyotp TOTP for Steward and Admin) and
lands in Superset with the roles of its directory groups; roles follow the directory at every
login (groups changed with ``ldapmodify`` in the provider's directory); a user in no group with
a Superset role is refused; logging out ends both sessions; the password database takes no
login but the break-glass administrator's, through the REST API.
"""

from __future__ import annotations

import subprocess

import pytest
import requests
from browser import chromium
from oidc_login import browser_sign_on, sign_on

from superset.client import SupersetClient

pytestmark = [pytest.mark.superset, pytest.mark.browser]

# directory login -> Superset roles it must get (conftest's provider: infra/sso/idp.py PEOPLE)
ROLES = {
    "agent.eau": {"Agent_eau"},
    "analyste": {"Analyst"},
    "referent": {"Steward", "Analyst"},
    "admin": {"Admin"},
}


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _roles(client, url: str) -> set[str] | None:
    """The signed-on user's Superset roles (``/api/v1/me/roles/``), None when not signed on
    (an anonymous visitor, whose roles would be ``Public``'s), empty when Superset refuses to list
    them. ``client``: a browser context's ``request`` (Playwright) or a ``requests`` session."""
    me = client.get(url + "/api/v1/me/")
    if _status(me) != 200 or me.json()["result"].get("is_anonymous"):
        return None
    roles = client.get(url + "/api/v1/me/roles/")
    return set(roles.json()["result"]["roles"]) if _status(roles) == 200 else set()


def _status(response) -> int:
    return response.status if hasattr(response, "status") else response.status_code


def _set_group(sso_provider, user: str, group: str, member: bool) -> None:
    """Add ``user`` to, or remove it from, a group of the provider's directory."""
    suffix = "dc=val-de-lys,dc=fr"
    ldif = (
        f"dn: cn={group},ou=groups,{suffix}\nchangetype: modify\n{'add' if member else 'delete'}: member\n"
        f"member: uid={user},ou=people,{suffix}\n"
    )
    password_file = sso_provider["run_dir"] / "ldap-manager.tmp"
    password_file.write_text(sso_provider["ldap_manager"]["manager_password"])
    password_file.chmod(0o600)
    try:
        subprocess.run(
            [
                "ldapmodify",
                "-x",
                "-H",
                sso_provider["ldap_url"],
                "-D",
                f"cn=manager,{suffix}",
                "-y",
                str(password_file),
            ],
            input=ldif,
            text=True,
            check=True,
            capture_output=True,
        )
    finally:
        password_file.unlink()


@pytest.mark.parametrize("user", list(ROLES))
def test_each_role_signs_on_through_the_provider(browser, superset_instance, provisioned, sso_provider, user):
    account = sso_provider["users"][user]
    context = browser.new_context(locale="fr-FR")
    try:
        page = context.new_page()
        # the TOTP form is awaited for the accounts with a second factor; the others must land in
        # Superset right after the password (a TOTP form would stop them on the portal)
        assert bool(account.get("totp_secret")) == (user in ("referent", "admin"))
        browser_sign_on(page, superset_instance.url, sso_provider["issuer"], account, user)
        page.wait_for_url("**/superset/welcome/**", timeout=60_000, wait_until="commit")
        assert _roles(context.request, superset_instance.url) == ROLES[user]
        me = context.request.get(superset_instance.url + "/api/v1/me/").json()["result"]
        assert me["username"] == user and me["email"] == account["email"]
    finally:
        context.close()


def test_logout_ends_superset_and_the_sign_on(browser, superset_instance, provisioned, sso_provider):
    context = browser.new_context(locale="fr-FR")
    try:
        page = context.new_page()
        browser_sign_on(
            page, superset_instance.url, sso_provider["issuer"], sso_provider["users"]["analyste"], "analyste"
        )
        page.wait_for_url("**/superset/welcome/**", timeout=60_000, wait_until="commit")
        page.goto(superset_instance.url + "/logout/")
        page.wait_for_url(sso_provider["issuer"] + "/**", timeout=30_000, wait_until="commit")  # the provider's logout
        assert _roles(context.request, superset_instance.url) is None
        # the sign-on session is gone too: the provider asks for the password again
        page.goto(superset_instance.url + "/login/hyperviseur")
        page.wait_for_selector("input[name=password]", timeout=30_000)
        assert page.url.startswith(sso_provider["issuer"])
    finally:
        context.close()


def test_login_page_offers_only_the_provider(browser, superset_instance, provisioned):
    context = browser.new_context(locale="fr-FR")
    try:
        page = context.new_page()
        page.goto(superset_instance.url + "/superset/welcome/")
        page.wait_for_url("**/login/**", timeout=30_000)
        page.wait_for_selector('a[href^="/login/hyperviseur"]', timeout=30_000)
        assert page.locator("input[type=password]").count() == 0
    finally:
        context.close()


def test_roles_follow_the_directory_at_each_login(browser, superset_instance, provisioned, sso_provider):
    """astreinte (Operator, which has no Superset role, and Agent_eau) joins Analyst, leaves it,
    then leaves Agent_eau: refused at the next sign-on, and the session it still had open loses
    its roles at once."""
    url, account = superset_instance.url, sso_provider["users"]["astreinte"]

    def roles_after_sign_on() -> set[str] | None:
        return _roles(sign_on(url, account, "astreinte"), url)

    assert roles_after_sign_on() == {"Agent_eau"}
    _set_group(sso_provider, "astreinte", "Analyst", member=True)
    try:
        assert roles_after_sign_on() == {"Agent_eau", "Analyst"}
    finally:
        _set_group(sso_provider, "astreinte", "Analyst", member=False)
    still_open = sign_on(url, account, "astreinte")
    assert _roles(still_open, url) == {"Agent_eau"}
    _set_group(sso_provider, "astreinte", "Agent_eau", member=False)
    try:
        context = browser.new_context(locale="fr-FR")
        try:
            page = context.new_page()
            browser_sign_on(page, url, sso_provider["issuer"], account, "astreinte")
            page.wait_for_url("**/login/**", timeout=30_000, wait_until="commit")  # back to Superset's login: refused
            assert _roles(context.request, url) is None
        finally:
            context.close()
        assert not _roles(still_open, url)  # the session it still had open: no role left
    finally:
        _set_group(sso_provider, "astreinte", "Agent_eau", member=True)


def test_password_login_only_for_the_break_glass_admin(superset_instance, admin, sso_provider):
    """A directory user given a local password (as the former password database had) cannot use
    it, neither on the login form nor on the REST API; the break-glass administrator can, on the
    API only."""
    url = superset_instance.url
    signed_on = SupersetClient(url, sign_on(url, sso_provider["users"]["agent.eau"], "agent.eau"), "agent.eau")
    user = admin.find("/api/v1/security/users/", "username", "agent.eau")
    roles = [r["id"] for r in admin.get(f"/api/v1/security/users/{user['id']}")["result"]["roles"]]
    admin.put(f"/api/v1/security/users/{user['id']}", {"password": "mot-de-passe-local-1", "roles": roles})
    api = requests.post(
        url + "/api/v1/security/login",
        json={"username": "agent.eau", "password": "mot-de-passe-local-1", "provider": "db"},
        timeout=30,
    )
    assert api.status_code == 401
    form = requests.Session()
    page = form.get(url + "/login/", timeout=30)
    token = page.text.split('name="csrf_token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    posted = form.post(
        url + "/login/",
        data={"username": "agent.eau", "password": "mot-de-passe-local-1", "csrf_token": token},
        timeout=30,
    )
    assert posted.status_code in (400, 403, 405)
    assert _roles(form, url) is None
    for provider in ("db", "ldap"):
        r = requests.post(
            url + "/api/v1/security/login",
            json={
                "username": "agent.eau",
                "password": sso_provider["users"]["agent.eau"]["password"],
                "provider": provider,
            },
            timeout=30,
        )
        assert r.status_code == 401, provider
    # the break-glass administrator: REST API only, and no one signs on through the provider as it
    assert SupersetClient.break_glass(url, superset_instance.admin_user, superset_instance.admin_password)
    assert signed_on.get("/api/v1/me/")["result"]["username"] == "agent.eau"
