"""``hyperviseur-dbt``: dbt, with its environment derived from the platform settings.

Dagster (through dagster-dbt) and the command line start dbt through this launcher, which
computes :func:`orchestration.resources.dbt_env` from ``lakehouse.settings`` and runs the
real dbt executable given that environment. The caller's process keeps its own environment
untouched, and dbt sees exactly what the settings say (including secrets read from
``*_FILE`` files).

Partial parsing per lake: dbt reuses a previous parse only when the profile's connection is
unchanged, and the connection (warehouse path, extension folder) differs from one lake to
the next, so the parse prepared by ``make`` never matches a run and every invocation paid a
full parse (~6 s here). The launcher keeps the last parse of each lake and dbt target in
``<data>/dbt/`` and hands it to the next invocation; dbt still checks it and parses again
whatever changed.

Day partitions: given ``--partitions auto`` (or ``complet``, a full refresh) before dbt's
arguments, the launcher plans the window of days the run rebuilds
(:mod:`orchestration.partitions`), hands its first day to dbt alone, and records it once
dbt succeeded. ``complet`` also gives ``dbt build`` (or ``run``) ``--full-refresh``, which
rebuilds the incremental models (the decrypted citizen reports).

Raw datasets the territory has not delivered yet are read as empty, not refused
(:mod:`orchestration.undelivered`): the launcher names them and dbt builds the rest.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from lakehouse.errors import LakehouseError

PARTIAL_PARSE = "partial_parse.msgpack"
PARTITIONS_FLAG = "--partitions"
PARTITION_MODES = ("auto", "complet")
FULL_REFRESH = "--full-refresh"
READS_DATA = {"build", "run", "test", "compile", "show", "retry"}  # dbt commands that read the raw zone


def build_command(mode: str, target_path: Path, *args: str) -> list[str]:
    """``dbt build`` of the repository's project through this launcher with ``--partitions mode``:
    the command Dagster's dbt asset amounts to (benchmarks and tests start it as is)."""
    from orchestration.resources import DBT_LAUNCHER, DBT_PROJECT_DIR

    project = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    launcher = Path(sys.executable).with_name(DBT_LAUNCHER)
    return [str(launcher), PARTITIONS_FLAG, mode, "build", *project, "--target-path", str(target_path), *args]


def _option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args[:-1] else None


def _target_path(args: list[str], env: dict[str, str]) -> Path:
    """Where this dbt invocation writes (``--target-path``, else dagster-dbt's variable, else dbt's
    default), relative to the project folder like dbt does."""
    target = Path(_option(args, "--target-path") or env.get("DBT_TARGET_PATH", "target"))
    return Path(_option(args, "--project-dir") or ".") / target


def _copy(src: Path, dst: Path) -> None:
    """Atomic copy: a concurrent reader sees the old file or the new one, never half of one."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def _run(exe: str, args: list[str], env: dict[str, str]) -> int:
    """dbt as a child whose interruption follows ours (dagster-dbt stops a run with SIGINT)."""
    child = subprocess.Popen([exe, *args], env=env)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda number, _frame: child.send_signal(number))
    return child.wait()


def main() -> None:
    from orchestration.resources import CALLER_DIR_FLAG, dbt_env, dbt_executable

    args = sys.argv[1:]
    caller_dir, partitions = os.getcwd(), None
    while args[:1] in ([CALLER_DIR_FLAG], [PARTITIONS_FLAG]) and len(args) > 1:
        if args[0] == CALLER_DIR_FLAG:  # started by Dagster from another folder than dbt's
            caller_dir = args[1]
        else:
            partitions = args[1]
        args = args[2:]
    if partitions is not None and partitions not in PARTITION_MODES:
        print(
            f"Erreur : {PARTITIONS_FLAG} {partitions} : valeurs possibles {', '.join(PARTITION_MODES)}", file=sys.stderr
        )
        sys.exit(2)
    env = dict(os.environ)
    exe = dbt_executable()
    if args == ["--version"]:
        os.execve(exe, [exe, *args], env)
    from lakehouse.platform import Lakehouse
    from lakehouse.settings import Settings

    dbt_dir = os.getcwd()
    os.chdir(caller_dir)  # relative settings (./data, .env) mean what they mean to the caller
    try:
        settings = Settings.from_env()
        derived = dbt_env(settings)
        saved = (settings.data_dir / "dbt" / f"{settings.dbt_target}-{PARTIAL_PARSE}").resolve()
        lh = Lakehouse(settings)
        window = _plan_partitions(lh, partitions == "complet") if partitions else None
        undelivered = _read_as_empty(lh, settings.data_dir / "dbt" / "undelivered") if READS_DATA & set(args) else {}
    except LakehouseError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        sys.exit(2)
    finally:
        os.chdir(dbt_dir)
    # dbt's own variables set by the caller (dagster-dbt's per-invocation log folder) win.
    env.update({k: v for k, v in derived.items() if k.startswith("HYPERVISEUR_") or k not in env})
    from orchestration import partitions as partition_plan
    from orchestration.undelivered import UNDELIVERED_ENV

    env.pop(partition_plan.WINDOW_ENV, None)
    env[UNDELIVERED_ENV] = json.dumps(undelivered, sort_keys=True)
    if window is not None and window.start is not None:
        env[partition_plan.WINDOW_ENV] = window.start.isoformat()
    if partitions == "complet" and FULL_REFRESH not in args and {"build", "run"} & set(args):
        args = [*args, FULL_REFRESH]  # the incremental models are rebuilt too
    parse = _target_path(args, env) / PARTIAL_PARSE
    if saved.exists():
        _copy(saved, parse)
    code = _run(exe, args, env)
    if parse.exists():  # written once parsed, whatever the run's outcome
        _copy(parse, saved)
    if window is not None and code == 0:
        built = partition_plan.record(lh, window, _target_path(args, env) / "run_results.json")
        print(f"Partitions journalières à jour : {', '.join(built) or 'aucune'}", file=sys.stderr, flush=True)
    sys.exit(code)


def _read_as_empty(lh, folder: Path) -> dict:
    """The raw datasets not delivered yet, each with its empty file, and the models built from them
    (:mod:`orchestration.undelivered`)."""
    from orchestration.undelivered import models_reading, prepare

    files = prepare(lh, folder)
    if files:
        print(
            f"Jeux de données bruts pas encore livrés, lus comme vides : {', '.join(sorted(files))}",
            file=sys.stderr,
            flush=True,
        )
    return {"sources": files, "models": models_reading(set(files)) if files else []}


def _plan_partitions(lh, full_refresh: bool):
    """The window of this run, the curated folders made for DuckDB's COPY."""
    from orchestration import partitions as partition_plan
    from orchestration.resources import lake_models, prepare_curated_dirs

    window = partition_plan.plan(lh, lake_models(("partitioned",)), full_refresh=full_refresh)
    prepare_curated_dirs(lh)
    print(f"Partitions journalières : {window.describe()}", file=sys.stderr, flush=True)
    return window


if __name__ == "__main__":
    main()
