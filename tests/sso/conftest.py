"""Single sign-on tests: the Debian packages of infra/sso/install.sh are prerequisites, and a
missing one is a failure (never a skip)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from browser import chromium

PROGRAMS = ("slapd", "slapadd", "starman", "nginx", "perl", "openssl")
PERL_MODULES = (
    Path("/usr/share/perl5/Lemonldap/NG/Portal/Main.pm"),
    Path("/usr/share/perl5/Lemonldap/NG/Handler/Server/Nginx.pm"),
)


def _missing() -> list[str]:
    missing = [p for p in PROGRAMS if not (shutil.which(p) or Path("/usr/sbin", p).exists())]
    return missing + [str(m) for m in PERL_MODULES if not m.exists()]


@pytest.fixture(autouse=True, scope="session")
def sso_prerequisites():
    missing = _missing()
    if missing:
        pytest.fail(
            f"paquets de l'authentification unique absents ({', '.join(missing)}) : lancer infra/sso/install.sh"
        )


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b
