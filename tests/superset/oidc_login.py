"""Sign a directory user on to Superset through the identity provider: with ``requests`` only
(the API tests), or in Chromium (the browser tests).

Superset's ``/login/hyperviseur`` sends the browser to the provider's authorization endpoint;
the portal's login form (and, for Steward/Admin/Operator, its TOTP form, code from pyotp) is
posted as a browser would; the provider redirects to Superset's callback, which opens the
Superset session. What is left in the ``requests`` session is that browser session.
"""

from __future__ import annotations

from urllib.parse import urljoin

import pyotp
import requests
from signon import page_forms

PROVIDER = "hyperviseur"  # superset/sign_on.py PROVIDER


def _post_form(session: requests.Session, page: requests.Response, field: str, values: dict) -> requests.Response:
    """Fill and post the form of ``page`` that has ``field``, following redirects."""
    form = next((f for f in page_forms(page.text) if field in f["fields"]), None)
    if form is None:
        raise AssertionError(f"pas de formulaire « {field} » sur {page.url} :\n{page.text[:1000]}")
    action = form["action"]
    url = page.url if action in ("", "#") else urljoin(page.url, action)
    return session.post(url, data={**form["fields"], **values}, timeout=30)


def sign_on(superset_url: str, account: dict, user: str) -> requests.Session:
    """A session signed on to Superset as ``user`` (``account``: its entry of the provider's
    ``accounts.json``). Whether Superset let the user in is for the caller to check."""
    session = requests.Session()
    page = session.get(f"{superset_url}/login/{PROVIDER}", timeout=30)
    page = _post_form(session, page, "password", {"user": user, "password": account["password"]})
    if account.get("totp_secret"):
        page = _post_form(session, page, "code", {"code": pyotp.TOTP(account["totp_secret"]).now()})
    return session


def browser_sign_on(page, superset_url: str, issuer: str, account: dict, user: str) -> None:
    """In Chromium: the address of Superset's provider button (the login page itself is checked
    by test_sign_on.py), the portal's password form, the TOTP form when the provider asks for it
    (only then: ``account`` has a TOTP secret); returns once back on Superset."""
    page.goto(f"{superset_url}/login/{PROVIDER}", wait_until="commit")
    page.wait_for_url(issuer + "/**", timeout=30_000)
    page.fill("input[name=user]", user)
    page.fill("input[name=password]", account["password"])
    page.press("input[name=password]", "Enter")
    if account.get("totp_secret"):
        page.wait_for_selector("input[name=code]", timeout=20_000)
        page.fill("input[name=code]", pyotp.TOTP(account["totp_secret"]).now())
        page.press("input[name=code]", "Enter")
    page.wait_for_url(superset_url + "/**", timeout=30_000, wait_until="commit")
