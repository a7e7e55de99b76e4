"""Free loopback ports for the servers tests start.

``free_ports`` is enough for a server that stays up for its test. ``restartable_port`` is for
servers that are killed and started again on the same ports: ``bind(("127.0.0.1", 0))`` hands
out a port from the kernel's ephemeral range, the range it also draws the local end of every
outgoing connection from. While a server is down, any connection made meanwhile may take one of
its ports, and the restart then fails (SeaweedFS exits with "Port allocation failed" when one of
its HTTP ports is held so). A port below that range is never given to an outgoing connection.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

from tests.conftest import services

LOWEST = 10_000  # above the ports of the services this machine may run (8333, 8088, 9333…)


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def restartable_port(offsets: tuple[int, ...] = (0,)) -> int:
    """A base port P such that every P + offset is free and below the ephemeral range."""
    highest = _ephemeral_start() - 1 - max(offsets)
    if highest < LOWEST:
        raise RuntimeError(f"the ephemeral port range starts too low ({_ephemeral_start()}) for offsets {offsets}")
    for _ in range(200):
        base = random.randint(LOWEST, highest)
        if all(services.bindable(base + offset) for offset in offsets):
            return base
    raise RuntimeError(f"no free port range below {_ephemeral_start()} for offsets {offsets}")


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports (held together while chosen, so none is given twice)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()
