"""Raw citizen reports with their personal columns decrypted: the platform's authorised read.

Personal columns are encrypted at rest in the raw zone (Parquet modular encryption, see
``lakehouse/encryption.py``) and DuckDB cannot decrypt them: this model reads the raw files
(DuckDB ``read_blob``, local or S3) and decrypts them with pyarrow and the platform's key file
(``HYPERVISEUR_KMS_KEY_FILE``, default ``<data dir>/keys/kms.json``). Files in clear (written
before encryption was on) read the same.
"""

import os


def model(dbt, session):
    from lakehouse.encryption import read_parquet_blobs
    from lakehouse.settings import Settings

    dbt.config(materialized="table")
    dbt.source("citizen", "reports")  # lineage: raw citizen.reports is this model's input
    files = session.execute(
        f"select filename, content from read_blob('{os.environ['HYPERVISEUR_LAKE_URL']}/raw/citizen/reports/**/*.parquet')"
    ).fetchall()
    return read_parquet_blobs(files, settings=Settings.from_env())
