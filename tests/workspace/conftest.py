"""The workspace's browser tests reuse the sign-on tests' helpers (tests/sso/signon.py) and
prerequisites: a missing Debian package is a failure, never a skip."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "sso"))
sys.path.insert(0, str(TESTS))
from browser import chromium  # noqa: E402


def _sso_conftest():
    spec = importlib.util.spec_from_file_location("hv_sso_conftest", TESTS / "sso" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def sso_ready():
    """The Debian packages of infra/sso/install.sh (tests/sso/conftest.py's list)."""
    missing = _sso_conftest()._missing()
    if missing:
        pytest.fail(
            f"paquets de l'authentification unique absents ({', '.join(missing)}) : lancer infra/sso/install.sh"
        )


@pytest.fixture(scope="module")
def browser(sso_ready):
    with chromium() as b:
        yield b
