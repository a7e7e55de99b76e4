"""Fault-injection fixtures: a private SeaweedFS that a test may kill and restart.

The shared test server (``s3_server``) is never touched: the private one is launched by the
same script (``infra/local/services.py start s3``) with its own run folder and ports, so
killing it disturbs no other test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakehouse.encryption import create_key_file
from tests.conftest import services
from tests.ports import restartable_port

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "infra" / "local" / "services.py"


class PrivateS3:
    """One SeaweedFS of this test only: ``start()``, ``kill()`` (SIGKILL, data kept), ``stop()``."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.port = restartable_port(services.S3_PORT_OFFSETS)
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.bucket = "hyperviseur-test"

    def _services(self, *args: str) -> None:
        env = dict(os.environ, HYPERVISEUR_RUN_DIR=str(self.run_dir), HYPERVISEUR_TEST_S3_PORT=str(self.port))
        done = subprocess.run([sys.executable, str(SERVICES), *args, "s3"], env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"services.py {' '.join(args)} s3 (port {self.port}): {done.stderr[-3000:]}")

    def start(self) -> float:
        """Start (or restart on the same data); returns the seconds it took."""
        t0 = time.monotonic()
        self._services("start")
        return time.monotonic() - t0

    def kill(self) -> None:
        pid = int((self.run_dir / "s3.pid").read_text())
        os.killpg(pid, signal.SIGKILL)
        while _port_open(self.port):
            time.sleep(0.05)

    def stop(self) -> None:
        self._services("stop")

    def env(self, data_dir: Path, **extra: str) -> dict:
        import json

        creds = json.loads((self.run_dir / "s3-credentials.json").read_text())
        return {
            "HYPERVISEUR_DATA_DIR": str(data_dir),
            "HYPERVISEUR_S3_ENDPOINT": self.endpoint,
            "HYPERVISEUR_S3_ACCESS_KEY": creds["access_key"],
            "HYPERVISEUR_S3_SECRET_KEY": creds["secret_key"],
            "HYPERVISEUR_S3_BUCKET": self.bucket,
            **extra,
        }


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def private_s3(tmp_path_factory):
    server = PrivateS3(tmp_path_factory.mktemp("private-s3"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def raw_encryption_key(tmp_path):
    """The platform's raw-encryption key, as an operator or ``hyperviseur demo run`` creates it."""
    return create_key_file(tmp_path / "data" / "keys" / "kms.json")
