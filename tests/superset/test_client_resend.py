"""``superset/client.py`` sends a call once more when the server closed the connection under it
before answering, as browsers do (gunicorn closing an idle kept-alive connection as the next call
arrives), and only then: a call whose answer is late is not sent twice. Against a real HTTP/1.1
server on the loopback that drops the second call of each connection, or answers late."""

from __future__ import annotations

import http.server
import json
import threading
import time

import pytest
import requests

from superset.client import SupersetClient

CSRF = "/api/v1/security/csrf_token/"
LATE_S = 1.5


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, behaviour: str):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.received: list[tuple[int, str, bytes]] = []  # (connection, path, body)
        self.connections = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # kept-alive connections

    def setup(self):
        super().setup()
        self.server.connections += 1
        self.connection_number = self.server.connections
        self.calls = 0

    def _answer(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append((self.connection_number, self.path, body))
        self.calls += 1
        if self.server.behaviour == "drops the 2nd call of a connection" and self.calls == 2:
            self.close_connection = True  # closed unanswered, as at the keep-alive's expiry
            return
        if self.server.behaviour == "answers late" and self.path != CSRF:
            time.sleep(LATE_S)
        payload = json.dumps({"result": "jeton" if self.path == CSRF else "données"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def server(request):
    srv = _Server(request.param)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("server", ["drops the 2nd call of a connection"], indirect=True)
def test_a_call_dropped_on_a_closed_kept_alive_connection_is_sent_once_more(server):
    client = SupersetClient(server.url, requests.Session(), "analyste")  # 1st call: the CSRF token
    assert client.post("/api/v1/chart/data", {"graphique": 1}) == {"result": "données"}
    assert server.received == [
        (1, CSRF, b""),
        (1, "/api/v1/chart/data", b'{"graphique": 1}'),  # dropped unanswered
        (2, "/api/v1/chart/data", b'{"graphique": 1}'),  # on a new connection
    ]


@pytest.mark.parametrize("server", ["answers late"], indirect=True)
def test_a_call_answered_late_is_not_sent_twice(server):
    client = SupersetClient(server.url, requests.Session(), "analyste", timeout=LATE_S / 3)
    with pytest.raises(requests.ReadTimeout):
        client.post("/api/v1/chart/data", {"graphique": 1})
    time.sleep(LATE_S)
    assert [path for _c, path, _b in server.received] == [CSRF, "/api/v1/chart/data"]
