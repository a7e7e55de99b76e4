"""Local DuckDB copies of the published versions, for the records API.

A sorted page (``order_by … limit``) on a Parquet file reads every matching row: DuckDB's
Parquet reader does not visit row groups in the order of their statistics. A native DuckDB
table does (its Top-N reads the row groups whose min/max can still enter the page, and
stops), so a sorted page of 10 M rows costs milliseconds instead of a full scan. The API
therefore copies the Parquet file of each *published* version, once, into a DuckDB file of
its own, ``<data dir>/opendata-api/<dataset>-<version>.duckdb`` (one table, ``records``:
the Parquet's rows in the same order), built in a background thread; the Parquet file
answers until the copy is ready. The copy is attached read-only to the API's database; a
newer published version gets a new copy and the older copies of that dataset are detached
and deleted. Nothing in a copy is not in the published Parquet it was made from.

A group-by reads every row, sorted or not. So the copy also holds a *rollup* of each
categorical column (text, boolean, integer, date: :data:`ROLLUP_TYPES`; at most
:data:`ROLLUP_MAX_COLUMNS`) with at most :data:`ROLLUP_MAX_GROUPS` values: one row per value
with every aggregate the API accepts (:func:`opendata.odsql.rollup_measures`); a grouping on
such a column without ``where`` reads those few rows (table ``rollups``: column -> its table).
Each rollup costs one pass over the rows when the copy is built; measurements, coordinates
and instants (DOUBLE, DECIMAL, TIMESTAMP) get none.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from pathlib import Path

from opendata import odsql
from opendata.export import quote, sql_string

FOLDER = "opendata-api"  # under the data dir
TABLE = "records"
ROLLUPS = "rollups"  # column_name -> table_name
ROLLUP_MAX_GROUPS = 10_000  # distinct values (approximate) of a column that gets a rollup
ROLLUP_MAX_COLUMNS = 8  # rollups of one copy (one pass over the rows each)
ROLLUP_TYPES = {"VARCHAR", "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "DATE"}
VERSION = re.compile(r"^[0-9]{8}T[0-9]{9}Z$")  # opendata.publish._version
DATASET = re.compile(r"^[a-z0-9_]{1,128}$")
log = logging.getLogger(__name__)


def folder(settings) -> Path:
    return Path(settings.data_dir) / FOLDER


def path(settings, dataset: str, version: str) -> Path:
    return folder(settings) / f"{dataset}-{version}.duckdb"


def build(lh, dataset: str, version: str, parquet_uri: str) -> Path:
    """Write the copy of one published version (if absent) and return its path.

    Its own connection, bounded like the API's database; the file appears under its final
    name only once complete."""
    final = path(lh.settings, dataset, version)
    if final.exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}")
    limits = {"memory_limit": lh.settings.opendata.api_memory_limit, "threads": lh.settings.limits.duckdb_threads}
    try:
        con = lh.duckdb(str(tmp), config=limits)
        try:
            con.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM read_parquet({sql_string(parquet_uri)})")
            _rollups(con)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        tmp.replace(final)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return final


def _rollups(con) -> None:
    """One rollup per categorical column with few values, and the ``rollups`` table naming them."""
    columns = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {TABLE})").fetchall())
    con.execute(f"CREATE TABLE {ROLLUPS} (column_name VARCHAR, table_name VARCHAR)")
    names = [n for n, sql_type in columns.items() if sql_type in ROLLUP_TYPES]
    if not names:
        return
    distinct = con.execute(
        "SELECT " + ", ".join(f"approx_count_distinct({quote(n)})" for n in names) + f" FROM {TABLE}"
    ).fetchone()
    grouped = [n for n, count in zip(names, distinct) if count <= ROLLUP_MAX_GROUPS][:ROLLUP_MAX_COLUMNS]
    measures = ", ".join(odsql.rollup_measures(columns))
    for i, name in enumerate(grouped):
        table = f"rollup_{i}"
        con.execute(f"CREATE TABLE {table} AS SELECT {quote(name)}, {measures} FROM {TABLE} GROUP BY ALL")
        con.execute(f"INSERT INTO {ROLLUPS} VALUES (?, ?)", [name, table])


class Copies:
    """The copies attached to one API database: which version of which dataset is ready, the
    background builds, the retirement of older versions."""

    def __init__(self, lh, connection):
        self.lh = lh
        self.connection = connection  # callable: the API's database
        self.attached: dict[str, tuple[str, str, dict]] = {}  # dataset -> (version, alias, rollups)
        self.pending: set[tuple[str, str]] = set()
        self.failed: set[tuple[str, str]] = set()  # not retried: the Parquet file answers
        self.lock = threading.Lock()
        self.build_lock = threading.Lock()  # one build at a time (memory)
        self.attach_lock = threading.Lock()  # an attachment and the retirement of older copies

    @staticmethod
    def alias(dataset: str, version: str) -> str:
        return f"copy_{dataset}_{version.lower()}"

    def table(self, dataset: str, version: str, parquet_uri: str) -> tuple[str, dict[str, str]] | None:
        """SQL name of the copy of this version and of its rollups (column -> SQL name) if it is
        attached, else None (a build starts)."""
        if not (DATASET.match(dataset) and VERSION.match(version)):
            return None
        with self.lock:
            current = self.attached.get(dataset)
            if current and current[0] == version:
                return f"{quote(current[1])}.{TABLE}", current[2]
            if (dataset, version) in self.pending or (dataset, version) in self.failed:
                return None
            self.pending.add((dataset, version))
        threading.Thread(target=self._prepare, args=(dataset, version, parquet_uri), daemon=True).start()
        return None

    def wait(self, dataset: str, version: str, parquet_uri: str) -> tuple[str, dict[str, str]] | None:
        """Build and attach now (benchmarks, tests); returns what :meth:`table` then returns."""
        with self.lock:
            self.pending.add((dataset, version))
        self._prepare(dataset, version, parquet_uri)
        return self.table(dataset, version, parquet_uri)

    def _prepare(self, dataset: str, version: str, parquet_uri: str) -> None:
        try:
            with self.build_lock:
                file = build(self.lh, dataset, version, parquet_uri)
            with self.attach_lock:
                self._attach(dataset, version, file)
        except Exception:  # the Parquet file keeps answering
            log.exception("API : copie locale de %s %s impossible", dataset, version)
            with self.lock:
                self.failed.add((dataset, version))
        finally:
            with self.lock:
                self.pending.discard((dataset, version))

    def _attach(self, dataset: str, version: str, file: Path) -> None:
        con = self.connection().cursor()  # its own handle: request threads use theirs
        alias = self.alias(dataset, version)
        with self.lock:
            if self.attached.get(dataset, ("",))[0] == version:
                return
            con.execute(f"ATTACH {sql_string(str(file))} AS {quote(alias)} (READ_ONLY)")
            listed = con.execute(f"SELECT column_name, table_name FROM {quote(alias)}.{ROLLUPS}").fetchall()
            rollups = {column: f"{quote(alias)}.{quote(table)}" for column, table in listed}
            previous = self.attached.get(dataset)
            self.attached[dataset] = (version, alias, rollups)
        if previous:
            try:
                con.execute(f"DETACH {quote(previous[1])}")
            except Exception as exc:  # still in use: stays attached, unused, until the portal restarts
                log.info("API : copie %s non détachée : %s", previous[1], exc)
        con.close()
        for old in folder(self.lh.settings).glob(f"{dataset}-*.duckdb"):
            if old != file and VERSION.match(old.name[len(dataset) + 1 : -len(".duckdb")]):
                old.unlink(missing_ok=True)
