"""A small simulated demo territory and its marts, built once per test module."""

from __future__ import annotations

import pytest

from lakehouse.audit import ensure_audit_key
from lakehouse.platform import Lakehouse
from tests.models.demo_build import BuiltDemo, build_demo


@pytest.fixture(scope="module")
def local_demo(tmp_path_factory) -> BuiltDemo:
    work = tmp_path_factory.mktemp("demo_local")
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(work / "data")})
    ensure_audit_key(lh.settings)
    return build_demo(lh, work)
