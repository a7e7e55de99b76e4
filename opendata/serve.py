"""Serve the portal over HTTP on loopback (stdlib ``http.server``).

Local lake: the ``opendata/`` folder is served as files. S3 lake: each request is proxied
through the Storage API (the object is downloaded to a scratch file, then streamed), so
the portal needs no public bucket. Production puts a real web server or CDN in front.

Every request passes :class:`RequestGuard` before any file is looked up, with the limits of
``Settings.limits`` (``HYPERVISEUR_MAX_HTTP_BODY_BYTES``, ``HYPERVISEUR_MAX_HTTP_URL_BYTES``):

- ``Host`` must name the portal (the bind address, ``HYPERVISEUR_HOST`` or the host of
  ``HYPERVISEUR_OPENDATA_BASE_URL``), else 421: a DNS-rebinding page cannot read it;
  no or several ``Host`` headers: 400;
- request target longer than the URL limit: 414; body beyond the body limit: 413
  (a smaller body is read and dropped; chunked bodies: 411);
- a target that is not a path, bad percent escapes, text that is not UTF-8, control
  characters (NUL…), backslashes or ``.``/``..`` segments — encoded or not — in the path,
  or control characters in the query parameters: 400;
- methods other than GET and HEAD: 501.

Each refusal is a short French page (no stack trace) and closes the connection.

Paths under ``/api/explore/`` are answered by the records API (:mod:`opendata.api`), with
the client's address for its rate limit; everything else is a file of the ``opendata/`` zone.
"""

from __future__ import annotations

import logging
import mimetypes
import re
import shutil
import sys
import tempfile
import threading
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from lakehouse.errors import LakehouseError, ObjectNotFound
from opendata.api import PREFIX as API_PREFIX
from opendata.api import RecordsApi
from opendata.publish import base_url

ZONE = "opendata"
TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".jsonld": "application/ld+json",
    ".ttl": "text/turtle; charset=utf-8",
    ".parquet": "application/vnd.apache.parquet",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}
log = logging.getLogger(__name__)
ERROR_PAGE = "<!doctype html><html lang=fr><meta charset=utf-8><title>%(code)d</title><h1>%(code)d</h1><p>%(message)s</p></html>\n"
# French reason of each refusal the standard library itself may send (status line and page)
MESSAGES = {
    400: "Requête mal formée",
    404: "Page introuvable",
    411: "Longueur du corps requise (Content-Length)",
    413: "Corps de requête trop volumineux",
    414: "Adresse trop longue",
    421: "Nom d'hôte non servi par ce portail",
    431: "En-têtes de requête trop volumineux",
    501: "Méthode non prise en charge : le portail répond à GET et HEAD",
}
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
NOT_FOUND = "<!doctype html><html lang=fr><meta charset=utf-8><title>Page introuvable</title><h1>Page introuvable</h1><p><a href=/index.html>Retour aux jeux de données</a></p></html>"


def content_type(path: str) -> str:
    return TYPES.get(Path(path).suffix.lower()) or mimetypes.guess_type(path)[0] or "application/octet-stream"


class RequestGuard:
    """Checks every request against the portal's limits and host names (mixed into both handlers)."""

    max_body_bytes = 0  # set by make_server from Settings.limits
    max_url_bytes = 0
    hosts: frozenset[str] = frozenset()
    error_message_format = ERROR_PAGE
    default_request_version = "HTTP/1.0"  # garbage gets a status line too, never a bare HTTP/0.9 page
    error_content_type = "text/html; charset=utf-8"

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        refusal = self._refusal()
        if refusal is None:
            return True
        self._refuse(*refusal)
        return False

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Refusals of the standard library (bad request line, unknown method…) in French."""
        self._refuse(code, MESSAGES.get(code, "Requête refusée"))

    def _refuse(self, code: int, message: str) -> None:
        self.close_connection = True
        super().send_error(code, message)

    def _refusal(self) -> tuple[int, str] | None:
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1:
            return 400, "En-tête Host absent ou répété"
        if _hostname(hosts[0]) not in self.hosts:
            return 421, MESSAGES[421]
        if len(self.path.encode("latin-1")) > self.max_url_bytes:
            return 414, f"{MESSAGES[414]} (limite : {self.max_url_bytes} octets, HYPERVISEUR_MAX_HTTP_URL_BYTES)"
        body = self._body_refusal()
        if body:
            return body
        return _target_refusal(self.path)

    def _body_refusal(self) -> tuple[int, str] | None:
        if self.headers.get("Transfer-Encoding"):
            return 411, MESSAGES[411]
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            return None
        if len(lengths) > 1 or not lengths[0].strip().isdigit():
            return 400, "En-tête Content-Length invalide"
        size = int(lengths[0])
        if size > self.max_body_bytes:
            return 413, f"{MESSAGES[413]} (limite : {self.max_body_bytes} octets, HYPERVISEUR_MAX_HTTP_BODY_BYTES)"
        self.rfile.read(size)  # the portal uses no body: drop it, keep the connection in step
        return None


def _hostname(host: str) -> str:
    """``Host`` header without its port, lower case (``[::1]:8080`` → ``::1``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _target_refusal(target: str) -> tuple[int, str] | None:
    """Why a request target is malformed (see the module docstring), or None."""
    if not target.startswith("/"):
        return 400, "Adresse de requête invalide : un chemin commençant par / est attendu"
    if _BAD_ESCAPE.search(target) or _CONTROL.search(target):
        return 400, "Adresse de requête invalide : caractère interdit ou encodage % incorrect"
    parts = urlsplit(target)
    try:
        path = unquote(parts.path, errors="strict")
        params = parse_qsl(parts.query, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return 400, "Adresse de requête invalide : texte non UTF-8"
    if _CONTROL.search(path) or "\\" in path or any(seg in (".", "..") for seg in path.split("/")):
        return 400, "Chemin invalide : segment « . » ou « .. », barre oblique inverse ou caractère de contrôle"
    if any(_CONTROL.search(k + v) for k, v in params):
        return 400, "Paramètre de requête invalide : caractère de contrôle"
    return None


class ApiRoutes:
    """Sends ``/api/explore/…`` to the records API; other paths to the file handler."""

    api: RecordsApi | None = None  # set by make_server

    def do_GET(self):
        if not self._api(head_only=False):
            super().do_GET()

    def do_HEAD(self):
        if not self._api(head_only=True):
            super().do_HEAD()

    def _api(self, head_only: bool) -> bool:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        if self.api is None or not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            return False
        answer = self.api.handle(path, parts.query, self.client_address[0])
        self.send_response(answer.status, MESSAGES.get(answer.status))
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not head_only:
            self.wfile.write(answer.body)
        return True


class LocalHandler(RequestGuard, ApiRoutes, SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def log_message(self, fmt, *args):  # keep test and CLI output quiet
        pass


class StorageHandler(RequestGuard, ApiRoutes, BaseHTTPRequestHandler):
    """Answers GET/HEAD by reading ``opendata/<path>`` through the lake's Storage."""

    storage = None  # set by make_server

    def log_message(self, fmt, *args):
        pass

    def _key(self) -> str:
        path = unquote(urlsplit(self.path).path).lstrip("/")
        if path == "" or path.endswith("/"):
            path += "index.html"
        return f"{ZONE}/{path}"

    def _send(self, head_only: bool) -> None:
        key = self._key()
        try:
            with tempfile.NamedTemporaryFile(dir=self.storage.scratch_dir(), prefix="serve-") as tmp:
                self.storage.download(key, Path(tmp.name))
                size = Path(tmp.name).stat().st_size
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", content_type(key))
                self.send_header("Content-Length", str(size))
                self.end_headers()
                if not head_only:
                    with open(tmp.name, "rb") as f:
                        shutil.copyfileobj(f, self.wfile, 1 << 20)
        except (ObjectNotFound, LakehouseError):
            body = NOT_FOUND.encode()
            self.send_response(HTTPStatus.NOT_FOUND)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head_only:
                self.wfile.write(body)

    def do_GET(self):
        if not self._api(head_only=False):
            self._send(head_only=False)

    def do_HEAD(self):
        if not self._api(head_only=True):
            self._send(head_only=True)


class PortalServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """One log line (e.g. a client that hangs up mid-answer), never a traceback on the console."""
        log.warning("portail : requête de %s abandonnée (%s)", client_address[0], sys.exc_info()[1])


def allowed_hosts(settings, bind_host: str) -> frozenset[str]:
    """Host names the portal answers to: its bind address, the platform host, the public URL's host."""
    names = {bind_host, settings.host}
    if settings.opendata.base_url:
        names.add(urlsplit(settings.opendata.base_url).hostname or "")
    return frozenset(_hostname(n) for n in names if n)


def make_server(lh, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """A server for the lake's portal (not started); ``port=0`` picks a free port."""
    guard = {
        "max_body_bytes": lh.settings.limits.max_http_body_bytes,
        "max_url_bytes": lh.settings.limits.max_http_url_bytes,
        "hosts": allowed_hosts(lh.settings, host),
        "api": RecordsApi(lh, base_url(lh.settings)),
    }
    if lh.settings.s3:
        lh.storage.scratch_dir().mkdir(parents=True, exist_ok=True)
        handler = type("BoundStorageHandler", (StorageHandler,), {"storage": lh.storage, **guard})
    else:
        root = Path(lh.settings.lake_dir) / ZONE
        root.mkdir(parents=True, exist_ok=True)
        handler = partial(type("BoundLocalHandler", (LocalHandler,), guard), directory=str(root))
    server = PortalServer((host, port), handler)
    server.api = guard["api"]  # its records API (benchmarks, tests)
    return server


def serve_in_thread(lh, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start a server in a daemon thread; returns it and its base URL (for tests and tools)."""
    server = make_server(lh, host, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}/"
