"""Superset configuration of the benchmark's baseline: the repository's, plus ONE single catalog.

``bench_superset.py`` compares today's per-clearance catalogs with the previous layout
(every schema in one DuckDB file) on the same Superset instance. The production connect
hook refuses any file that is not ``serving_<clearance>.duckdb``; this configuration (used
by the benchmark only, through ``SUPERSET_CONFIG_PATH``) runs the repository's
``superset/superset_config.py`` unchanged and lets exactly one more file through the same
lockdown code path: the baseline catalog named by ``HYPERVISEUR_BENCH_SINGLE_CATALOG``,
allowed to read the files of its ``governance.scope`` (every zone). Same limits, same
settings, same locked configuration: only the layout differs.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

_BASE = Path(__file__).resolve().parents[1] / "superset" / "superset_config.py"
_SINGLE = Path(os.environ["HYPERVISEUR_BENCH_SINGLE_CATALOG"]).resolve()

_spec = importlib.util.spec_from_file_location("hyperviseur_superset_config", _BASE)
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)
_production_scope = _base._lockdown.catalog_scope


def _catalog_scope(con, lake_url: str) -> tuple[str, list[str]]:
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    if Path(path).resolve() != _SINGLE:
        return _production_scope(con, lake_url)
    return "single", [r[0] for r in con.execute("SELECT path FROM governance.scope ORDER BY 1").fetchall()]


_base._lockdown.catalog_scope = _catalog_scope
globals().update({k: v for k, v in vars(_base).items() if k.isupper()})
