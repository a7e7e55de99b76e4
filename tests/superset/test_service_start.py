"""Superset does not start on an address another process already serves: that server would
answer the health check in its place (a leftover Superset, another program)."""

from __future__ import annotations

import http.server
import threading

import pytest

from superset import service


class _Healthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args):
        pass


def test_a_port_served_by_another_process_is_refused_before_anything_starts(tmp_path):
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        port = other.server_address[1]
        inst = service.Instance.from_env(
            {"HYPERVISEUR_DATA_DIR": str(tmp_path), "HYPERVISEUR_SUPERSET_PORT": str(port)}
        )
        assert service.healthy(inst)  # what the start used to take for its own server
        with pytest.raises(service.SupersetError, match=f"port {port} .* déjà occupé"):
            service.start(inst, wait=5)
        assert not inst.pid_file.exists() and not service.initialised(inst)
    finally:
        other.shutdown()
        other.server_close()
