"""One SQLAlchemy engine per DuckDB catalog and worker (``superset/duckdb_engines.py``), in
Superset's own virtualenv with its SQLAlchemy and DuckDB dialect: the same URL and arguments
give the same engine, every query still opens its own connection (each one through the connect
hook, where the lockdown runs) and closes it, and nothing else is kept."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

from superset import service

DUCKDB_ENGINES = Path(service.__file__).resolve().parent / "duckdb_engines.py"

SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys, types
    import duckdb, sqlalchemy
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import NullPool, QueuePool

    # the model module Superset calls create_engine from (importing Superset's own needs an app)
    core = types.ModuleType("superset.models.core")
    core.create_engine = sqlalchemy.create_engine
    sys.modules["superset.models.core"] = core
    sys.modules["superset.models"] = types.SimpleNamespace(core=core)
    spec = importlib.util.spec_from_file_location("duckdb_engines", sys.argv[1])
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    module.install()

    folder = sys.argv[2]
    for name in ("serving_public", "serving_masked"):
        duckdb.connect(f"{folder}/{name}.duckdb").close()
    connects = []
    event.listen(Engine, "connect", lambda dbapi_connection, record: connects.append(dbapi_connection))

    def engine(name, **kwargs):
        url = sqlalchemy.engine.make_url(f"duckdb:///{folder}/{name}.duckdb")
        return core.create_engine(url, **{"poolclass": NullPool, "connect_args": {"read_only": True}, **kwargs})

    public = engine("serving_public")
    same = [engine("serving_public") is public for _ in range(3)]
    masked = engine("serving_masked")
    other_args = engine("serving_public", connect_args={"read_only": True, "config": {"threads": 1}})
    pooled = engine("serving_public", poolclass=QueuePool)
    pooled_not_kept = pooled is not public and engine("serving_public", poolclass=QueuePool) is not pooled
    sqlite_url = sqlalchemy.engine.make_url(f"sqlite:///{folder}/meta.db")
    sqlite = [core.create_engine(sqlite_url, poolclass=NullPool) for _ in range(2)]

    closed_after = []
    for _ in range(3):
        with engine("serving_public").connect() as con:
            con.exec_driver_sql("SELECT 42").fetchall()
        closed_after.append(connects[-1].closed)  # NullPool: closed when given back, none is held
    for i in range(module.ENGINES_KEPT):
        duckdb.connect(f"{folder}/other_{i}.duckdb").close()
        engine(f"other_{i}")
    print(json.dumps({
        "same": same,
        "masked_distinct": masked is not public,
        "other_args_distinct": other_args is not public,
        "pooled_not_kept": pooled_not_kept,
        "sqlite_not_kept": sqlite[0] is not sqlite[1],
        "duckdb_connects": sum(type(c).__name__ == "ConnectionWrapper" for c in connects),
        "closed_after": closed_after,
        "oldest_dropped": engine("serving_public") is not public,
    }))
    """
)


def test_one_engine_per_catalog_and_a_connection_per_query(tmp_path):
    python = service.Instance.from_env().venv / "bin" / "python"
    out = subprocess.run(  # run away from the repository, whose superset/ folder would shadow Superset
        [str(python), "-c", SCRIPT, str(DUCKDB_ENGINES), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "same": [True, True, True],
        "masked_distinct": True,
        "other_args_distinct": True,
        "pooled_not_kept": True,
        "sqlite_not_kept": True,
        "duckdb_connects": 3,
        "closed_after": [True, True, True],
        "oldest_dropped": True,
    }
