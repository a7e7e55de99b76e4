"""Run a script with Superset's own virtualenv (its libraries, not the repository's)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from superset import service


def run_script(script: str, *args: str, cwd: Path) -> dict:
    """The JSON object the script prints last. ``cwd`` lies outside the repository, whose
    ``superset/`` folder would shadow Superset."""
    python = service.Instance.from_env().venv / "bin" / "python"
    out = subprocess.run(
        [str(python), "-c", script, *args], capture_output=True, text=True, check=True, timeout=300, cwd=cwd
    )
    return json.loads(out.stdout.strip().splitlines()[-1])
