"""Background processes tracked by a PID file: start one in its own session, check it, stop it.

Shared by the sign-on scripts (idp.py, gateway.py) and infra/local/services.py. Those are run as
scripts and loaded by path, so they import this module as ``infra.sso.processes`` with the
repository's root put on ``sys.path``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def pid_alive(pid_file: Path) -> int | None:
    """The PID in ``pid_file`` if that process exists, else None."""
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


def tail(path: Path, n: int = 3000) -> str:
    """The last ``n`` characters of a log ("" if there is none)."""
    return path.read_text(errors="replace")[-n:] if path.exists() else ""


def spawn(argv: list[str], log: Path, pid_file: Path, env: dict | None = None, cwd: Path | None = None):
    """Start ``argv`` in its own session, stdout and stderr appended to ``log``, PID written."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    pid_file.write_text(f"{proc.pid}\n")
    return proc


def stop_pid(pid_file: Path, timeout: float = 10) -> bool:
    """SIGTERM the process group of the PID in ``pid_file``, SIGKILL after ``timeout`` seconds;
    the PID file is removed. False if it was not running."""
    pid = pid_alive(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        try:  # reap it if it is our child (this python process started it)
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    else:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    pid_file.unlink(missing_ok=True)
    return True
