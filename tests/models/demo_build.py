"""Build the marts of a small simulated demo territory with the repository's dbt project."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ingestion.demo.simulator import build_model, simulate
from lakehouse.encryption import ensure_key_file
from lakehouse.lake import Lake
from lakehouse.platform import Lakehouse
from orchestration.dbt_launcher import build_command
from orchestration.resources import DBT_PROJECT_DIR, dbt_env, dbt_executable, prepare_curated_dirs

DEMO = {"days": 14, "scale": 0.25, "seed": 42}


@dataclass
class BuiltDemo:
    lh: Lakehouse
    incidents: list[dict]
    dbt_output: str

    def query(self, sql: str) -> list[tuple]:
        con = self.lh.duckdb()
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def mart(self, name: str) -> str:
        return f"read_parquet('{self.lh.storage.uri(Lake.curated_key(name))}')"


def _run(cmd: list[str], env: dict, work: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=work, check=False)


def dbt_build(lh: Lakehouse, work: Path, *args: str) -> subprocess.CompletedProcess:
    """``dbt build`` of the repository's project on ``lh``'s lake (target and logs in ``work``)."""
    prepare_curated_dirs(lh)
    project = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    cmd = [dbt_executable(), "build", *project, "--target-path", str(work / "target"), *args]
    return _run(cmd, {**os.environ, **dbt_env(lh.settings)}, work)


def dbt_build_partitions(settings_env: dict, work: Path, mode: str = "auto", *args: str) -> subprocess.CompletedProcess:
    """``dbt build`` through the platform's launcher with ``--partitions mode``, as Dagster runs it,
    on the lake of ``settings_env`` (the ``HYPERVISEUR_*`` variables of this process left out)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERVISEUR_")} | settings_env
    return _run(build_command(mode, work / "target", *args), env, work)


def lake_before_its_last_day(work: Path, demo: dict) -> dict:
    """A local lake under ``work`` holding every day of the ``demo`` territory but the last one,
    which a test lands later: ``simulate(lh, periods=[(last_day, model.end)])``. Not built yet."""
    settings_env = {"HYPERVISEUR_DATA_DIR": str(work / "data")}
    lh = Lakehouse.from_env(settings_env)
    ensure_key_file(lh.settings)  # as `hyperviseur run` does: citizen reports are written encrypted
    model = build_model(days=demo["days"], scale=demo["scale"], seed=demo["seed"])
    last_day = model.end - 86400
    simulate(lh, files=False, periods=[(model.start, last_day)], **demo)
    return {
        "lh": lh,
        "env": settings_env,
        "work": work,
        "model": model,
        "last_day": datetime.fromtimestamp(last_day, UTC),
    }


def build_demo(lh: Lakehouse, work: Path) -> BuiltDemo:
    ensure_key_file(lh.settings)  # as `hyperviseur run` does: citizen reports are written encrypted
    result = simulate(lh, files=False, **DEMO)
    proc = dbt_build(lh, work)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return BuiltDemo(lh, [i.to_json() for i in result.incidents], proc.stdout)
