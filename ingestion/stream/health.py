"""``/healthz`` and ``/readyz`` of a long-lived service, on a tiny loopback HTTP listener.

``/healthz`` answers 200 while the process serves requests (liveness: Kubernetes restarts a
process that stops answering); ``/readyz`` answers 200 when ``ready()`` says the service does
its job (connected and subscribed to the broker…), 503 otherwise (readiness). Both bodies are
the JSON of ``ready()``'s details (lag, counters), which ``hyperviseur status`` reads.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger(__name__)

Readiness = Callable[[], tuple[bool, dict]]


class HealthServer:
    """``HealthServer(name, port, ready).start()``; port 0 picks a free one (``.port``)."""

    def __init__(self, name: str, port: int, ready: Readiness, host: str = "127.0.0.1"):
        self.name, self.ready = name, ready
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split("?")[0]
                if path not in ("/healthz", "/readyz"):
                    self._send(404, {"erreur": "chemin inconnu (/healthz, /readyz)"})
                    return
                try:
                    ok, details = outer.ready()
                except Exception as exc:  # a probe never crashes the service
                    ok, details = False, {"erreur": str(exc)}
                body = {"service": outer.name, "pret": ok, **details}
                self._send(200 if path == "/healthz" or ok else 503, body)

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body, ensure_ascii=False, default=str).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def start(self) -> HealthServer:
        threading.Thread(target=self.server.serve_forever, daemon=True, name=f"health-{self.name}").start()
        log.info("santé de %s sur http://127.0.0.1:%d/healthz et /readyz", self.name, self.port)
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
