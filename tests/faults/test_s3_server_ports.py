"""The private S3 server's ports: taken ports are named before anything starts, and the ports a
restart needs are ones no outgoing connection can take meanwhile."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import services
from tests.faults.conftest import SERVICES
from tests.ports import _ephemeral_start, restartable_port


def test_restart_ports_lie_below_the_ephemeral_range_and_are_free():
    base = restartable_port(services.S3_PORT_OFFSETS)
    ports = services.s3_ports(base)
    assert max(ports) < _ephemeral_start(), ports
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


@pytest.mark.parametrize(
    "offset, listening",
    [
        # the local end of an outgoing connection: bound, not listening (SeaweedFS exits: "Port allocation failed")
        pytest.param(1, False, id="master-port-held-by-a-connection"),
        # a listener on a gRPC port (SeaweedFS would pick another one, which `weed shell` would not find)
        pytest.param(10002, True, id="volume-grpc-port-listened-on"),
    ],
)
def test_start_refuses_a_taken_port_and_names_it(tmp_path, offset, listening):
    base = restartable_port(services.S3_PORT_OFFSETS)
    taken = base + offset
    env = dict(os.environ, HYPERVISEUR_RUN_DIR=str(tmp_path), HYPERVISEUR_TEST_S3_PORT=str(base))
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", taken))
        if listening:
            squatter.listen()
        t0 = time.monotonic()
        done = subprocess.run(
            [sys.executable, str(SERVICES), "start", "s3"], env=env, capture_output=True, text=True, timeout=120
        )
        elapsed = time.monotonic() - t0
    subprocess.run([sys.executable, str(SERVICES), "stop", "s3"], env=env, capture_output=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert str(taken) in done.stderr and "already used" in done.stderr, done.stderr
    assert not (tmp_path / "s3.pid").exists(), "a server was started although one of its ports was taken"
    assert elapsed < 30, f"the refusal took {elapsed:.0f} s"
