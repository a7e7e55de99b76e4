"""Superset's sign-on through the authority's OpenID Connect provider (issue 14).

Loaded by ``superset_config.py`` inside Superset's own virtualenv (``CUSTOM_SECURITY_MANAGER``).

- Who: the ID token Authlib has verified (signature against the provider's JWKS, issuer,
  audience, expiry, nonce) gives the user: ``sub`` is the Superset username, ``groups`` the
  directory groups. Nothing is read from the browser.
- Roles: ``AUTH_ROLES_MAPPING`` (directory group -> Superset roles) applied at EVERY login,
  replacing the user's roles: removed from a group in the directory, a user loses the role at
  the next sign-on. A user none of whose groups maps to a role is refused (and loses any role
  still stored, which also ends the rights of a session still open: Flask-Login reloads the
  user and its roles at every request).
- Password database: off for everyone but the break-glass administrator named by
  ``BREAK_GLASS_ADMIN`` (the provisioning's account, REST API ``/api/v1/security/login``,
  provider ``db``); the web login page only offers the provider. No provider user may take
  the break-glass name.
- API clients: a bearer JWT from ``/api/v1/security/login`` also authenticates the request
  for Flask-Login, so endpoints the ``Public`` role may read serve the token's user, not an
  anonymous visitor (before, the break-glass client also logged in through the password form
  to get a session cookie).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request

from superset.security import SupersetSecurityManager

log = logging.getLogger(__name__)

PROVIDER = "hyperviseur"  # the name in the callback URL /oauth-authorized/<PROVIDER>
SCOPES = "openid profile email groups"


def oauth_providers(issuer: str, client_id: str, client_secret: str) -> list[dict]:
    """``OAUTH_PROVIDERS``: one OpenID Connect provider, endpoints and keys from its discovery
    document (fetched by Authlib at the first sign-on, not at start-up)."""
    return [
        {
            "name": PROVIDER,
            "icon": "fa-key",
            "token_key": "access_token",
            "remote_app": {
                "client_id": client_id,
                "client_secret": client_secret,
                "server_metadata_url": issuer.rstrip("/") + "/.well-known/openid-configuration",
                "client_kwargs": {"scope": SCOPES},
            },
        }
    ]


def roles_mapping(services: list[str]) -> dict[str, list[str]]:
    """Directory group -> Superset roles: the roles ``superset/access.py`` provisions, by the
    same names (``Agent_<service>`` for every service of ``access.yaml``)."""
    mapping = {"Admin": ["Admin"], "Steward": ["Steward"], "Analyst": ["Analyst"]}
    mapping.update({f"Agent_{service}": [f"Agent_{service}"] for service in services})
    return mapping


class HyperviseurSecurityManager(SupersetSecurityManager):
    """Superset's security manager with the rules of the module docstring."""

    @property
    def break_glass_admin(self) -> str | None:
        return current_app.config.get("BREAK_GLASS_ADMIN") or None

    def get_oauth_user_info(self, provider: str, resp: dict[str, Any]) -> dict[str, Any]:
        claims = resp.get("userinfo")  # the verified ID token (Authlib, "openid" scope)
        if provider != PROVIDER or not claims or not claims.get("sub"):
            log.warning("sign-on refused: no verified ID token from provider %s", provider)
            return {}
        groups = claims.get("groups") or []
        return {
            "username": claims["sub"],
            "first_name": claims.get("given_name") or claims.get("name") or claims["sub"],
            "last_name": claims.get("family_name") or "",
            "email": claims.get("email") or "",
            "role_keys": [groups] if isinstance(groups, str) else list(groups),
        }

    def auth_user_oauth(self, userinfo: dict[str, Any]):
        username = userinfo.get("username")
        if not username:
            return None
        if username == self.break_glass_admin:
            log.warning("sign-on refused: %s is the break-glass account's name", username)
            return None
        roles = list(self.get_roles_from_keys(userinfo.get("role_keys", [])))
        user = self.find_user(username=username)
        if user is not None and not user.is_active:
            return None
        if not roles:
            log.warning("sign-on refused: %s is in no group with a Superset role", username)
            if user is not None and user.roles:
                user.roles = []
                self.update_user(user)
            return None
        if user is None:
            user = self.add_user(
                username=username,
                first_name=userinfo["first_name"],
                last_name=userinfo["last_name"],
                email=userinfo["email"] or f"{username}@sso.invalid",
                role=roles,
            )
            if not user:
                log.error("sign-on: could not create the Superset user %s", username)
                return None
        else:
            user.roles = roles
            user.first_name, user.last_name = userinfo["first_name"], userinfo["last_name"]
            user.email = userinfo["email"] or user.email
            self.update_user(user)
        self.update_user_auth_stat(user)
        return user

    def auth_user_db(self, username: str, password: str):
        if not username or username != self.break_glass_admin:
            log.warning("password login refused for %s: sign on through the identity provider", username)
            return None
        return super().auth_user_db(username, password)

    def auth_user_ldap(self, username: str, password: str):
        log.warning("LDAP login refused for %s: sign on through the identity provider", username)
        return None

    def request_loader(self, request):
        user = super().request_loader(request)
        if user is not None or not request.headers.get("Authorization", "").startswith("Bearer "):
            return user
        try:
            verify_jwt_in_request()
        except Exception:  # invalid, expired or not a FAB token: no user, the endpoint decides
            return None
        return self.load_user(get_jwt_identity())
