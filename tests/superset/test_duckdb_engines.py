"""One SQLAlchemy engine per DuckDB catalog and worker, and each catalog kept open
(``superset/duckdb_engines.py``), in Superset's own virtualenv with its SQLAlchemy and DuckDB
dialect.

The same URL and arguments give the same engine; every query still opens its own connection
(through the connect hook, where the lockdown runs) and closes it; the catalog's instance,
locked down once, stays open between queries; a catalog replaced on disk is read anew, also
when a query was still running on the old file at the time of the replacement."""

from __future__ import annotations

import textwrap
from pathlib import Path

from in_superset_venv import run_script

from superset import service

FOLDER = Path(service.__file__).resolve().parent

SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, os, sys, types
    import duckdb, sqlalchemy
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import NullPool, QueuePool

    # the model module Superset calls create_engine from (importing Superset's own needs an app)
    core = types.ModuleType("superset.models.core")
    core.create_engine = sqlalchemy.create_engine
    sys.modules["superset.models.core"] = core
    sys.modules["superset.models"] = types.SimpleNamespace(core=core)

    def load(name):
        spec = importlib.util.spec_from_file_location(name, f"{sys.argv[1]}/{name}.py")
        module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
        return module

    engines, lockdown = load("duckdb_engines"), load("lockdown")
    engines.install()
    folder = sys.argv[2]

    def catalog(path, build):
        # a serving catalog (nothing in its scope) saying which build it is, written beside and
        # renamed over the previous one, as governance.serving does
        os.makedirs(os.path.dirname(path), exist_ok=True)
        con = duckdb.connect(path + ".tmp")
        con.execute("CREATE SCHEMA governance; CREATE TABLE governance.scope (path VARCHAR)")
        con.execute(f"CREATE TABLE build AS SELECT {build} AS build")
        con.close()
        os.replace(path + ".tmp", path)

    connects = []

    @event.listens_for(Engine, "connect")
    def lock_down(dbapi_connection, record):  # superset_config.py's connect hook
        new = lockdown.lock_down(dbapi_connection, folder) is not None
        setattr(dbapi_connection, engines.NEW_INSTANCE, new)
        connects.append((dbapi_connection, new))

    def engine(path, **kwargs):
        url = sqlalchemy.engine.make_url(f"duckdb:///{path}")
        return core.create_engine(url, **{"poolclass": NullPool, "connect_args": {"read_only": True}, **kwargs})

    def build(path):
        with engine(path).connect() as con:
            found = con.exec_driver_sql("SELECT build FROM build").scalar()
        return found, connects[-1][0].closed  # the query's own connection, closed when given back

    def new_instances(since):
        return sum(new for _c, new in connects[since:])

    public, masked = f"{folder}/serving_public.duckdb", f"{folder}/serving_masked.duckdb"
    catalog(public, 1); catalog(masked, 1)
    first = engine(public)
    same = [engine(public) is first for _ in range(3)]
    other_args = engine(public, connect_args={"read_only": True, "config": {"threads": 1}})
    pooled = engine(public, poolclass=QueuePool)
    pooled_not_kept = pooled is not first and engine(public, poolclass=QueuePool) is not pooled
    sqlite_url = sqlalchemy.engine.make_url(f"sqlite:///{folder}/meta.db")
    sqlite = [core.create_engine(sqlite_url, poolclass=NullPool) for _ in range(2)]

    since = len(connects)
    queries = [build(public) for _ in range(3)] + [build(masked)]
    opened = new_instances(since)

    catalog(public, 2)  # the nightly refresh
    since = len(connects)
    after_refresh = build(public)
    refresh_opened = new_instances(since)

    running = engine(public).connect()  # a query still running on build 2 ...
    running.exec_driver_sql("SELECT build FROM build").fetchall()
    catalog(public, 3)  # ... when build 3 replaces it
    during = build(public)
    running.close()
    after_running = [build(public) for _ in range(2)]

    for i in range(engines.ENGINES_KEPT):
        catalog(f"{folder}/other_{i}/serving_public.duckdb", 1)
        engine(f"{folder}/other_{i}/serving_public.duckdb")
    print(json.dumps({
        "same": same,
        "masked_distinct": engine(masked) is not first,
        "other_args_distinct": other_args is not first,
        "pooled_not_kept": pooled_not_kept,
        "sqlite_not_kept": sqlite[0] is not sqlite[1],
        "queries": queries,
        "instances_opened": opened,
        "after_refresh": after_refresh,
        "instances_opened_after_refresh": refresh_opened,
        "during": during,
        "after_running": after_running,
        "oldest_dropped": engine(public) is not first,
    }))
    """
)


def test_one_engine_per_catalog_and_the_catalog_kept_open_until_replaced(tmp_path):
    assert run_script(SCRIPT, str(FOLDER), str(tmp_path), cwd=tmp_path) == {
        "same": [True, True, True],
        "masked_distinct": True,
        "other_args_distinct": True,
        "pooled_not_kept": True,
        "sqlite_not_kept": True,
        # each query on its own connection, closed after; one instance per catalog, locked once
        "queries": [[1, True], [1, True], [1, True], [1, True]],
        "instances_opened": 1,  # the masked catalog's, at its first query
        "after_refresh": [2, True],
        "instances_opened_after_refresh": 1,
        # the query that joins the running one reads its file; once it ends, the new file
        "during": [2, True],
        "after_running": [[3, True], [3, True]],
        "oldest_dropped": True,
    }
