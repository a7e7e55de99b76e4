"""Serve the portal over HTTP on loopback (stdlib ``http.server``).

Local lake: the ``opendata/`` folder is served as files. S3 lake: each request is proxied
through the Storage API (the object is downloaded to a scratch file, then streamed), so
the portal needs no public bucket. Production puts a real web server or CDN in front.
"""

from __future__ import annotations

import mimetypes
import shutil
import tempfile
import threading
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lakehouse.errors import LakehouseError, ObjectNotFound

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
NOT_FOUND = "<!doctype html><html lang=fr><meta charset=utf-8><title>Page introuvable</title><h1>Page introuvable</h1><p><a href=/index.html>Retour aux jeux de données</a></p></html>"


def content_type(path: str) -> str:
    return TYPES.get(Path(path).suffix.lower()) or mimetypes.guess_type(path)[0] or "application/octet-stream"


class LocalHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def log_message(self, fmt, *args):  # keep test and CLI output quiet
        pass


class StorageHandler(BaseHTTPRequestHandler):
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
        self._send(head_only=False)

    def do_HEAD(self):
        self._send(head_only=True)


def make_server(lh, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """A server for the lake's portal (not started); ``port=0`` picks a free port."""
    if lh.settings.s3:
        lh.storage.scratch_dir().mkdir(parents=True, exist_ok=True)
        handler = type("BoundStorageHandler", (StorageHandler,), {"storage": lh.storage})
    else:
        root = Path(lh.settings.lake_dir) / ZONE
        root.mkdir(parents=True, exist_ok=True)
        handler = partial(LocalHandler, directory=str(root))
    return ThreadingHTTPServer((host, port), handler)


def serve_in_thread(lh, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start a server in a daemon thread; returns it and its base URL (for tests and tools)."""
    server = make_server(lh, host, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}/"
