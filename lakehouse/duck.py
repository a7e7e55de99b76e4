"""DuckDB sessions that read the lake on either backend, with no download at run time.

Extensions come from the ``duckdb-extension-*`` pip packages and are loaded by path. For
tools that run ``INSTALL x`` themselves (dbt-duckdb), :func:`extension_directory` lays the
same files out the way DuckDB's extension directory expects them, so ``INSTALL`` finds
them locally instead of downloading.
"""

from __future__ import annotations

import importlib.util
import platform
import shutil
from pathlib import Path

import duckdb

from lakehouse.errors import LakehouseError
from lakehouse.settings import LimitsSettings, Settings

PACKAGED_EXTENSIONS = ("httpfs", "spatial")  # the duckdb-extension-* packages the product installs
# Loading costs a connection ~0.07 s (httpfs) and ~0.25 s (spatial) on the 2-core reference machine:
# httpfs only when the lake is on S3, spatial only for the code that draws maps (open data).
SPATIAL = ("spatial",)


def _platform() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "linux_amd64", "amd64": "linux_amd64", "aarch64": "linux_arm64", "arm64": "linux_arm64"}.get(
        machine, f"linux_{machine}"
    )


def extension_file(name: str) -> Path:
    """Path of ``<name>.duckdb_extension`` shipped by the ``duckdb-extension-<name>`` package."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        raise LakehouseError(
            f"extension DuckDB « {name} » absente : installer le paquet duckdb-extension-{name}=={duckdb.__version__}"
        )
    path = (
        Path(next(iter(spec.submodule_search_locations)))
        / "extensions"
        / f"v{duckdb.__version__}"
        / f"{name}.duckdb_extension"
    )
    if not path.is_file():
        raise LakehouseError(
            f"extension DuckDB « {name} » introuvable pour DuckDB {duckdb.__version__} ({path}) : "
            f"aligner duckdb-extension-{name} sur duckdb=={duckdb.__version__}"
        )
    return path


def extension_directory(target: Path, names=PACKAGED_EXTENSIONS) -> Path:
    """Lay out ``<target>/v<version>/<platform>/<name>.duckdb_extension`` from the pip packages."""
    folder = Path(target) / f"v{duckdb.__version__}" / _platform()
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        src = extension_file(name)
        dst = folder / src.name
        if not dst.exists() or dst.stat().st_size != src.stat().st_size:
            shutil.copyfile(src, dst)
    return Path(target)


def s3_secret_sql(settings: Settings) -> str | None:
    """``CREATE SECRET`` statement for the configured S3 server, or None on the local backend."""
    s3 = settings.s3
    if not s3:
        return None

    def q(v: str) -> str:
        return "'" + v.replace("'", "''") + "'"

    return (
        "CREATE OR REPLACE SECRET hyperviseur_lake (TYPE s3, "
        f"KEY_ID {q(s3.access_key)}, SECRET {q(s3.secret_key)}, REGION {q(s3.region)}, "
        f"ENDPOINT {q(s3.host_port)}, URL_STYLE 'path', USE_SSL {'true' if s3.secure else 'false'}, "
        f"SCOPE {q('s3://' + s3.bucket)})"
    )


def connect(
    settings: Settings,
    database: str | Path = ":memory:",
    *,
    read_only: bool = False,
    extensions: tuple[str, ...] = (),
    config: dict | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open DuckDB with the lake's extensions loaded from disk and the S3 secret set.

    ``httpfs`` is loaded when the lake is on S3; ``extensions`` adds others (``SPATIAL``).

    Every connection is bounded by the platform's limits (``HYPERVISEUR_DUCKDB_MEMORY_LIMIT``,
    ``HYPERVISEUR_DUCKDB_THREADS``); ``config`` may lower them for one use.
    """
    cfg = {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
        "memory_limit": settings.limits.duckdb_memory_limit,
        "threads": settings.limits.duckdb_threads,
    }
    cfg.update(config or {})
    con = duckdb.connect(str(database), read_only=read_only, config=cfg)
    try:
        secret = s3_secret_sql(settings)
        for name in (("httpfs",) if secret else ()) + tuple(extensions):
            con.execute(f"LOAD '{extension_file(name)}'")
        if secret:
            con.execute(secret)
    except Exception:
        con.close()
        raise
    return con


def open_catalog(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A serving catalog file opened read-only to read its metadata: no extension, no lake
    access, bounded by the platform's DuckDB limits like every other connection."""
    limits = LimitsSettings.from_env()
    return duckdb.connect(
        str(path), read_only=True, config={"memory_limit": limits.duckdb_memory_limit, "threads": limits.duckdb_threads}
    )
