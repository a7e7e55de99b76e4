"""Helpers of the live tests: the long-lived services as real subprocesses and their /readyz."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
HYPERVISEUR = Path(sys.executable).parent / "hyperviseur"


def readyz(port: int) -> tuple[int, dict]:
    """(status, JSON body) of a service's /readyz; (0, {}) when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError:
        return 0, {}


def wait_for(check, what: str, timeout: float = 60, log: Path | None = None):
    """Poll ``check()`` until it returns a true value (progress-based, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise AssertionError(f"{what} : délai dépassé\n{tail}")
        time.sleep(0.1)


class Service:
    """A `hyperviseur …` subprocess in its own session, its output in ``log``."""

    def __init__(self, argv: list[str], env: dict, log: Path, health_port: int):
        self.argv, self.env, self.log, self.health_port = argv, env, log, health_port
        self.proc: subprocess.Popen | None = None

    def start(self) -> Service:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [str(HYPERVISEUR), *self.argv],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self.ready, f"{self.argv[:2]} prêt", 90, self.log)
        return self

    def ready(self) -> dict | None:
        assert self.proc.poll() is None, f"{self.argv[:2]} arrêté :\n{self.log.read_text(errors='replace')[-3000:]}"
        status, body = readyz(self.health_port)
        return body if status == 200 else None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        self.proc = None
