"""The governance tests' small lake (tests/governance/conftest.py: marts with the real column
names, a dbt manifest), loaded by path: tests/ is not a package."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "hv_governance_fixtures", Path(__file__).resolve().parents[1] / "governance" / "conftest.py"
)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
manifest, write_marts = _module.manifest, _module.write_marts
DATASET = "mart_citizen_reports"  # the mart whose proposals the browser tests review
# What the sign-on gateway states for a steward signed on with password + TOTP (tests in process)
STEWARD_HEADERS = {
    "Hv-User": "referent",
    "Hv-Name": "Nicolas Petit",
    "Hv-Groups": "Steward; Analyst",
    "Hv-Auth-Level": "5",
    "Hv-Session-Start": "1764520000",
}
