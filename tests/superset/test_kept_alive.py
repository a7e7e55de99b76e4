"""A connection Superset answered stays open while idle for longer than gunicorn's default
keep-alive (2 s): a client that reuses it a few seconds later (the warm-up after a refresh, an
ingress's pooled connections) is answered on it instead of having it closed under its request."""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.superset

IDLE_S = 3.0  # past gunicorn's default keep-alive, well within the one Superset is given


def test_a_connection_reused_after_a_few_idle_seconds_is_answered_on_the_same_socket(superset_instance):
    url = urlsplit(superset_instance.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request("GET", "/health")
        first = conn.getresponse()
        assert first.status == 200 and first.read() == b"OK"
        socket_before = conn.sock.getsockname()
        time.sleep(IDLE_S)
        conn.request("GET", "/health")  # http.client does not reconnect an open connection
        again = conn.getresponse()
        assert again.status == 200 and again.read() == b"OK"
        assert conn.sock.getsockname() == socket_before
    finally:
        conn.close()
