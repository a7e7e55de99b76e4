"""The signed-on user of a page behind the sign-on gateway, and the checks every such page makes.

The gateway (infra/sso/gateway.py: nginx + LemonLDAP::NG's handler) is the only client of a
page's Unix socket (a mode-0700 directory), and it always sets the identity headers from the
handler's answer, overwriting a client's own (``GATEWAY_HEADERS`` in infra/sso/idp.py):
``Hv-User`` (uid), ``Hv-Name`` (cn, UTF-8), ``Hv-Groups`` (``; ``-separated),
``Hv-Auth-Level`` (LL::NG ``authenticationLevel``: 5 after the TOTP, 2 after a password alone)
and ``Hv-Session-Start`` (``_utime``). A page then checks again, itself:

- ``Host`` is exactly its public address (else 421: DNS rebinding);
- a state-changing request carries ``Origin: http://<public address>`` (else 403);
- its form carries the CSRF token, an HMAC (secret drawn at each start of the page) of the
  subject and of their session's start: a restart or a new session invalidates old forms;
- the second factor (level ≥ :data:`SECOND_FACTOR_LEVEL`) for the actions that need it.

Framework-free: ``headers`` is any mapping with ``get`` (``http.server``'s message, Starlette's
``Headers``), both of which decode header bytes as Latin-1.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from lakehouse.errors import LakehouseError

# LL::NG authenticationLevel of a session opened with the TOTP (idp.py totp2fAuthnLevel); password only: 2.
SECOND_FACTOR_LEVEL = 5
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Identity:
    """The signed-on user, as the gateway's handler states it (never from the client)."""

    subject: str
    name: str
    groups: tuple[str, ...]
    auth_level: int
    session_start: str

    def to_dict(self) -> dict:
        """What the audit log and the decisions record: subject, name, groups, level."""
        return {"sub": self.subject, "name": self.name, "groups": list(self.groups), "auth_level": self.auth_level}

    def in_any(self, groups) -> bool:
        return any(g in groups for g in self.groups)

    @property
    def second_factor(self) -> bool:
        return self.auth_level >= SECOND_FACTOR_LEVEL

    def label(self) -> str:
        """``Claire Dubois (astreinte ; Agent_eau, Operator)``, as the pages show who is signed on."""
        return f"{self.name} ({self.subject} ; {', '.join(self.groups)})"


def _header(headers, name: str) -> str:
    # HTTP servers decode header bytes as Latin-1; the handler sends UTF-8 (accented names)
    raw = headers.get(name) or ""
    try:
        return raw.encode("latin-1").decode("utf-8").strip()
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw.strip()


def identity_from_headers(headers) -> Identity | None:
    """The identity headers set by the gateway; None when the subject is missing."""
    subject = _header(headers, "Hv-User")
    if not subject:
        return None
    level = _header(headers, "Hv-Auth-Level")
    groups = tuple(sorted({g.strip() for g in _header(headers, "Hv-Groups").split(";") if g.strip()}))
    return Identity(
        subject=subject,
        name=_header(headers, "Hv-Name") or subject,
        groups=groups,
        auth_level=int(level) if level.isdigit() else 0,
        session_start=_header(headers, "Hv-Session-Start"),
    )


def request_refusal(method: str, headers, public_host: str) -> tuple[int, str] | None:
    """(status, French reason) when ``Host`` or ``Origin`` is not the page's own, else None."""
    if headers.get("Host") != public_host:
        return 421, f"hôte « {(headers.get('Host') or '')[:80]} » non reconnu"
    if method.upper() not in SAFE_METHODS and headers.get("Origin") != f"http://{public_host}":
        return 403, "origine de la requête absente ou étrangère à la page"
    return None


class CsrfTokens:
    """Form tokens bound to the user and to their sign-on session, valid until the page restarts."""

    def __init__(self, secret: bytes | None = None):
        self._secret = secret or secrets.token_bytes(32)

    def token(self, who: Identity) -> str:
        return hmac.new(self._secret, f"{who.subject}\0{who.session_start}".encode(), hashlib.sha256).hexdigest()

    def valid(self, who: Identity, token: str | None) -> bool:
        return bool(who.session_start) and hmac.compare_digest((token or "").encode(), self.token(who).encode())


CSRF_REFUSAL = "jeton anti-falsification (CSRF) absent ou invalide : recharger la page"


def private_socket(path) -> Path:
    """``path`` in a directory only this user can enter (created mode 0700), for a page the
    gateway alone may reach; a stale socket is removed, a live one (another page) refused."""
    path = Path(path).resolve()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.parent.stat()
    if st.st_uid != os.geteuid() or st.st_mode & 0o077:
        raise LakehouseError(
            f"le dossier {path.parent} de la socket doit être privé (mode 0700, propriétaire uid {os.geteuid()})"
        )
    if path.exists():
        with socket.socket(socket.AF_UNIX) as probe:
            if probe.connect_ex(str(path)) == 0:
                raise LakehouseError(f"une page écoute déjà sur {path}")
        path.unlink()
    return path


def bind_private_socket(path) -> socket.socket:
    """A listening Unix socket at :func:`private_socket` ``(path)``, mode 0600."""
    path = private_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(128)
    return sock
