"""The environment that points a command (subprocess or CliRunner) at a test's lakehouse."""

from __future__ import annotations


def lake_env(lh) -> dict[str, str | None]:
    """``HYPERVISEUR_DATA_DIR`` and the ``HYPERVISEUR_S3_*`` variables of ``lh``'s settings; the
    S3 ones are None (to unset) when the lake is on the local disk."""
    s3 = lh.settings.s3
    return {
        "HYPERVISEUR_DATA_DIR": str(lh.settings.data_dir),
        "HYPERVISEUR_S3_ENDPOINT": s3.endpoint if s3 else None,
        "HYPERVISEUR_S3_ACCESS_KEY": s3.access_key if s3 else None,
        "HYPERVISEUR_S3_SECRET_KEY": s3.secret_key if s3 else None,
        "HYPERVISEUR_S3_BUCKET": s3.bucket if s3 else None,
    }
