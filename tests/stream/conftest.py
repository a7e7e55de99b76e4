"""A private Mosquitto for tests that restart the broker (the shared one on 1883 stays up)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    """Mosquitto with persistence on a free loopback port; ``restart()`` keeps its sessions."""

    def __init__(self, run_dir: Path):
        self.host, self.port, self.dir = "127.0.0.1", _free_port(), run_dir
        self.proc: subprocess.Popen | None = None
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            pytest.skip("mosquitto absent : apt-get install -y mosquitto")
        self.binary = binary
        store = run_dir / "store"
        store.mkdir()
        shutil.chown(store, "mosquitto") if _has_user("mosquitto") else None
        self.conf = run_dir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} {self.host}\nallow_anonymous true\npersistence true\n"
            f"persistence_location {store}/\nautosave_interval 1\nmax_queued_messages 0\n"
            "max_inflight_messages 100\nlog_type error\n"
        )

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex((self.host, self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("mosquitto de test non démarré")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: mosquitto saves its persistence file before exiting
            self.proc.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture
def own_mosquitto():
    # Not under pytest's tmp_path: that is private to root and mosquitto drops to its own user,
    # which then could not write its persistence file (and would lose queued messages on restart).
    run_dir = Path(tempfile.mkdtemp(prefix="hv-mosquitto-"))
    run_dir.chmod(0o755)
    broker = Mosquitto(run_dir)
    broker.start()
    yield broker
    broker.stop()
    shutil.rmtree(run_dir, ignore_errors=True)
