"""What Superset's server listens on: only its TCP port on the loopback address, no gunicorn
control socket (which could add or kill workers)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from superset import service

pytestmark = pytest.mark.superset

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
