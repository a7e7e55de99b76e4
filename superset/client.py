"""Minimal Superset REST client: session or break-glass JWT, CSRF token, JSON calls, paging, assets import."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from lakehouse.errors import LakehouseError


class SupersetApiError(LakehouseError):
    """A Superset API call failed; the message names the call and Superset's answer."""


class SentAgainOnClosedConnection(Retry):
    """Send a call once more when the connection was closed before any answer came, as browsers
    do: gunicorn closes a kept-alive connection when it has been idle for its keep-alive, and a
    call sent at that moment is dropped unread ("Remote end closed connection without
    response"), whatever its method. A server that refuses connections, a read that times out
    (the call may be running) or an answer already started are not sent again."""

    def __init__(self, **kwargs):
        kwargs.setdefault("total", 1)
        super().__init__(
            **{
                **kwargs,
                "connect": 0,
                "status": 0,
                "other": 0,
                "redirect": False,
                "allowed_methods": None,
                "respect_retry_after_header": False,  # a 429 is the caller's to wait for
            }
        )

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if isinstance(error, ReadTimeoutError):
            raise error.with_traceback(_stacktrace)
        return super().increment(method, url, response, error, _pool, _stacktrace)


class SupersetClient:
    """One authenticated session: its cookies (Superset's session, the CSRF secret) and CSRF token.

    People sign on through the identity provider (issue 14): a browser-like ``requests`` session
    that went through the OpenID Connect login is wrapped as it is. The break-glass
    administrator (provisioning, harvest) logs in with :meth:`break_glass`, the only password
    login Superset still accepts, and sends its JWT with every call.
    """

    def __init__(self, base_url: str, session: requests.Session, username: str, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session
        self.session.mount(self.base_url + "/", HTTPAdapter(max_retries=SentAgainOnClosedConnection()))
        self.session.headers["Referer"] = self.base_url
        self.username = username
        self.session.headers["X-CSRFToken"] = self.get("/api/v1/security/csrf_token/")["result"]

    @classmethod
    def break_glass(cls, base_url: str, username: str, password: str, timeout: float = 60.0) -> SupersetClient:
        """The break-glass administrator: a JWT from ``/api/v1/security/login`` (provider ``db``)."""
        session = requests.Session()
        resp = _post_login(
            session,
            base_url.rstrip("/") + "/api/v1/security/login",
            timeout,
            json={"username": username, "password": password, "provider": "db", "refresh": False},
        )
        if resp.status_code != 200:
            raise SupersetApiError(f"connexion à Superset refusée pour « {username} » ({resp.status_code})")
        session.headers["Authorization"] = "Bearer " + resp.json()["access_token"]
        return cls(base_url, session, username, timeout)

    def request(self, method: str, path: str, *, ok=(200, 201), **kwargs) -> Any:
        resp = self.session.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
        if resp.status_code not in ok:
            raise SupersetApiError(f"{method} {path} : {resp.status_code} {resp.text[:500]}")
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            return resp.text

    def get(self, path: str, **kwargs) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, payload: Any = None, **kwargs) -> Any:
        return self.request("POST", path, json=payload, **kwargs)

    def put(self, path: str, payload: Any = None, **kwargs) -> Any:
        return self.request("PUT", path, json=payload, **kwargs)

    def delete(self, path: str, **kwargs) -> Any:
        return self.request("DELETE", path, **kwargs)

    def _pages(self, path: str, filters: list[dict] | None, page_size: int, extra: dict) -> Iterator[dict]:
        """Every page body of a list endpoint (rison ``q`` built as JSON, which Superset also accepts)."""
        page = 0
        while True:
            q = {"page": page, "page_size": page_size, **extra}
            if filters:
                q["filters"] = filters
            body = self.get(path, params={"q": _rison(q)})
            yield body
            if len(body.get("result", [])) < page_size:
                return
            page += 1

    def iterate(self, path: str, filters: list[dict] | None = None, page_size: int = 100, **extra) -> Iterator[dict]:
        """Every row of a list endpoint."""
        for body in self._pages(path, filters, page_size, extra):
            yield from body.get("result", [])

    def iterate_with_ids(
        self, path: str, filters: list[dict] | None = None, page_size: int = 100, **extra
    ) -> Iterator[tuple[int, dict]]:
        """``(id, row)`` of every row of a list endpoint, from the ``ids`` Flask-AppBuilder returns
        beside ``result`` (for endpoints whose rows do not carry their id, e.g. ``/api/v1/log/``)."""
        for body in self._pages(path, filters, page_size, extra):
            yield from zip(body.get("ids", []), body.get("result", []), strict=True)

    def find(self, path: str, column: str, value: Any) -> dict | None:
        for row in self.iterate(path, [{"col": column, "opr": "eq", "value": value}]):
            if row.get(column) == value:
                return row
        return None

    def import_assets(self, bundle: bytes, passwords: dict | None = None) -> None:
        """``POST /api/v1/assets/import/``: overwrite databases, datasets, charts, dashboards."""
        data = {"passwords": json.dumps(passwords or {})}
        self.request(
            "POST", "/api/v1/assets/import/", files={"bundle": ("bundle.zip", bundle, "application/zip")}, data=data
        )


def _post_login(session: requests.Session, url: str, timeout: float, **kwargs) -> requests.Response:
    """Login calls are rate-limited by Superset (HTTP 429): wait and retry a few times."""
    for attempt in range(6):
        resp = session.post(url, timeout=timeout, **kwargs)
        if resp.status_code != 429:
            return resp
        time.sleep(1 + attempt)
    return resp


def _rison(value: Any) -> str:
    """Encode a value as rison (the query format of Superset's list endpoints)."""
    if value is True:
        return "!t"
    if value is False:
        return "!f"
    if value is None:
        return "!n"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        if value and all(c.isalnum() or c in "-_./~" for c in value) and not value[0].isdigit() and value[0] not in "-":
            return value
        return "'" + value.replace("!", "!!").replace("'", "!'") + "'"
    if isinstance(value, dict):
        return "(" + ",".join(f"{_rison(str(k))}:{_rison(v)}" for k, v in value.items()) + ")"
    if isinstance(value, (list, tuple)):
        return "!(" + ",".join(_rison(v) for v in value) + ")"
    raise TypeError(f"non encodable en rison : {type(value).__name__}")
