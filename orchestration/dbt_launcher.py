"""``hyperviseur-dbt``: dbt, with its environment derived from the platform settings.

Dagster (through dagster-dbt) and the command line start dbt through this launcher, which
computes :func:`orchestration.resources.dbt_env` from ``lakehouse.settings`` and replaces
itself with the real dbt executable given that environment. The caller's process keeps its
own environment untouched, and dbt sees exactly what the settings say (including secrets
read from ``*_FILE`` files).
"""

from __future__ import annotations

import os
import sys

from lakehouse.errors import LakehouseError


def main() -> None:
    from orchestration.resources import CALLER_DIR_FLAG, dbt_env, dbt_executable

    args = sys.argv[1:]
    caller_dir = os.getcwd()
    if args[:1] == [CALLER_DIR_FLAG]:  # started by Dagster from another folder than dbt's
        caller_dir, args = args[1], args[2:]
    env = dict(os.environ)
    if args != ["--version"]:
        from lakehouse.settings import Settings

        dbt_dir = os.getcwd()
        os.chdir(caller_dir)  # relative settings (./data, .env) mean what they mean to the caller
        try:
            derived = dbt_env(Settings.from_env())
        except LakehouseError as exc:
            print(f"Erreur : {exc}", file=sys.stderr)
            sys.exit(2)
        finally:
            os.chdir(dbt_dir)
        # dbt's own variables set by the caller (dagster-dbt's per-invocation log folder) win.
        env.update({k: v for k, v in derived.items() if k.startswith("HYPERVISEUR_") or k not in env})
    exe = dbt_executable()
    os.execve(exe, [exe, *args], env)


if __name__ == "__main__":
    main()
