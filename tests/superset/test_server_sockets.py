"""What Superset's server listens on, and how it keeps its connections: only its TCP port on the
loopback address (no gunicorn control socket, which could add or kill workers); a connection it
answered stays open while idle for longer than gunicorn's default keep-alive (2 s), so a client
that reuses it a few seconds later (the warm-up after a refresh, an ingress's pooled
connections) is answered on it instead of having it closed under its request."""

from __future__ import annotations

import http.client
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from superset import service

pytestmark = pytest.mark.superset

IDLE_S = 3.0  # past gunicorn's default keep-alive, well within the one Superset is given
LISTENING_TCP = "0A"
ACCEPTS_CONNECTIONS = 0x10000  # __SO_ACCEPTCON in /proc/net/unix


def _processes(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *map(int, children)]


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _listening(inodes: set[str]) -> tuple[list[str], list[str]]:
    """(``address:port`` of the TCP sockets listening, paths of the Unix sockets listening)."""
    tcp = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == LISTENING_TCP and fields[9] in inodes:
                tcp.append(fields[1])
    unix = []
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[6] in inodes and int(fields[3], 16) & ACCEPTS_CONNECTIONS:
            unix.append(fields[7] if len(fields) > 7 else "(anonyme)")
    return tcp, unix


def test_the_server_listens_on_its_loopback_port_only(superset_instance):
    master = service.running_pid(superset_instance)
    assert master
    processes = _processes(master)
    assert len(processes) == 1 + int(superset_instance.env["HYPERVISEUR_SUPERSET_WORKERS"])
    tcp, unix = _listening(set().union(*map(_socket_inodes, processes)))
    port = urlsplit(superset_instance.url).port
    assert tcp == [f"0100007F:{port:04X}"]  # 127.0.0.1, little-endian as the kernel prints it
    assert unix == []


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
