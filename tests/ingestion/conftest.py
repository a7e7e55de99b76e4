"""Connector tests run on a configured platform: its raw-encryption key exists (the data
folder's default key file), as ``hyperviseur demo run`` or an operator would have set up."""

from __future__ import annotations

import pytest

from lakehouse.encryption import create_key_file


@pytest.fixture(autouse=True)
def raw_encryption_key(tmp_path):
    return create_key_file(tmp_path / "data" / "keys" / "kms.json")


@pytest.fixture(scope="session")
def french_exports(tmp_path_factory):
    """Invented Paris road-counter exports (CSV and OpenDataSoft JSON), written once per session."""
    from french_export_samples import write_french_exports

    return write_french_exports(tmp_path_factory.mktemp("french_exports"))
