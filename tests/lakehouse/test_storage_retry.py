"""S3 faults: transient ones (server unreachable) are retried with a bounded backoff, refusals never."""

from __future__ import annotations

import socket
import time

import pytest

from lakehouse.errors import StorageError
from lakehouse.platform import Lakehouse
from lakehouse.storage import MAX_ATTEMPTS, StorageUnavailable
from tests.conftest import s3_env


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # released on close: nothing listens there


def test_unreachable_server_is_retried_within_the_budget(tmp_path):
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    lh = Lakehouse.from_env(
        {
            "HYPERVISEUR_DATA_DIR": str(tmp_path / "data"),
            "HYPERVISEUR_S3_ENDPOINT": endpoint,
            "HYPERVISEUR_S3_ACCESS_KEY": "cle",
            "HYPERVISEUR_S3_SECRET_KEY": "secret",
            "HYPERVISEUR_S3_BUCKET": "lac",
            "HYPERVISEUR_S3_RETRY_S": "3",
        }
    )
    t0 = time.monotonic()
    with pytest.raises(StorageUnavailable) as err:
        lh.storage.write_bytes("_meta/x.json", b"{}")
    elapsed = time.monotonic() - t0
    message = str(err.value)
    assert f"serveur S3 injoignable à {endpoint}" in message and "HYPERVISEUR_S3_ENDPOINT" in message
    assert "abandon après" in message and "HYPERVISEUR_S3_RETRY_S=3" in message
    assert 2 <= lh.storage.retries < MAX_ATTEMPTS  # backoff 0.5 s, 1 s, … bounded by the 3 s budget
    assert 1.4 < elapsed < 6


@pytest.mark.s3
def test_refusals_are_not_retried(s3_server, fresh_bucket, tmp_path):
    env = s3_env(s3_server, tmp_path / "data", fresh_bucket)
    lh = Lakehouse.from_env({**env, "HYPERVISEUR_S3_SECRET_KEY": "mauvais-secret"})
    t0 = time.monotonic()
    with pytest.raises(StorageError) as err:
        lh.storage.write_bytes("_meta/x.json", b"{}")
    assert not isinstance(err.value, StorageUnavailable)
    assert err.value.variable == "HYPERVISEUR_S3_SECRET_KEY"
    assert lh.storage.retries == 0 and time.monotonic() - t0 < 2
