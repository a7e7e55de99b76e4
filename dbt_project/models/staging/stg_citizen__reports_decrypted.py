"""Raw citizen reports with their personal columns decrypted: the platform's authorised read.

Personal columns are encrypted at rest in the raw zone (Parquet modular encryption, see
``lakehouse/encryption.py``) and DuckDB cannot decrypt them: this model reads the raw files
(DuckDB ``read_blob``, local or S3) and decrypts them with pyarrow and the platform's key file
(``HYPERVISEUR_KMS_KEY_FILE``, default ``<data dir>/keys/kms.json``). Files in clear (written
before encryption was on) read the same.

Incremental by raw file, so a daily run decrypts the day's batches and not the whole history:
each row keeps the file it was read from (``_raw_file``) and that file's modification time. A
run decrypts only the files that are new or were rewritten since (a retried batch is rewritten
in place) and replaces their rows (``delete+insert`` on ``_raw_file``); the post-hook in
``_staging.yml`` deletes the rows of files no longer in the lake. The table is therefore always
the decryption of the raw files present, as a full refresh (``--full-refresh``, the launcher's
``complet`` mode) would rebuild it. A file's version is its modification time, to the second
(what the store gives, local or S3); a batch is only ever rewritten with the same rows (its id
derives from them), so one rewritten within the second of its first write would only keep its
first ``_ingested_at`` here. Before the first report is delivered, the table has its columns
and no row.
"""

import os

FILE_COLUMN = "_raw_file"
MODIFIED_COLUMN = "_raw_file_modified"


def _quoted(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _columns(session, relation) -> list[str]:
    return [c[0] for c in session.execute(f"select * from {relation} limit 0").description]


def _with_file(table, name, modified):
    """The rows of one raw file, with that file's name and version."""
    import pyarrow as pa

    rows = table.num_rows
    table = table.append_column(FILE_COLUMN, pa.array([name] * rows, pa.string()))
    return table.append_column(MODIFIED_COLUMN, pa.array([modified] * rows, pa.timestamp("us", tz="UTC")))


def model(dbt, session):
    import pyarrow as pa

    from ingestion.datasets import CITIZEN_REPORTS
    from lakehouse.encryption import read_parquet_blobs
    from lakehouse.lake import raw_schema
    from lakehouse.settings import Settings

    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="_raw_file",  # FILE_COLUMN: dbt reads literals only here
        on_schema_change="append_new_columns",
    )
    dbt.source("citizen", "reports")  # lineage: raw citizen.reports is this model's input
    files = f"read_blob('{os.environ['HYPERVISEUR_LAKE_URL']}/raw/citizen/reports/**/*.parquet')"
    unchanged = ""
    if dbt.is_incremental and FILE_COLUMN in _columns(session, dbt.this):
        # the files whose rows the table already holds, at their current version (a table built
        # before this model was incremental has no file column: every file is read again, and
        # the post-hook drops the rows without one)
        unchanged = (
            f"where not exists (select 1 from {dbt.this} t "
            f"where t.{FILE_COLUMN} = filename and t.{MODIFIED_COLUMN} = last_modified)"
        )
    # content is not selected: DuckDB lists the files without reading them
    changed = session.execute(f"select filename from {files} {unchanged} order by filename").fetchall()
    if not changed and dbt.is_incremental:
        return session.execute(f"select * from {dbt.this} limit 0").arrow()
    if not changed:  # no report delivered yet: the table, without a row
        return _with_file(raw_schema(CITIZEN_REPORTS.schema).empty_table(), None, None)
    blobs = session.execute(
        f"select filename, content, last_modified from read_blob([{', '.join(_quoted(f) for (f,) in changed)}])"
    ).fetchall()
    settings = Settings.from_env()
    tables = []
    for name, content, modified in blobs:
        tables.append(_with_file(read_parquet_blobs([(name, content)], settings=settings), name, modified))
    return pa.concat_tables(tables, promote_options="default")
