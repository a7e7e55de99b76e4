"""dbt functions for sqlfluff's jinja templater (library_path of the repository's ``.sqlfluff``).

sqlfluff lints the models without dbt, a database or a profile (``apply_dbt_builtins``);
its stand-in ``var()`` returns a placeholder string, which the models cannot index or
iterate (``var('atmo_bounds_ugm3')['no2']``). These take precedence over the stand-ins:
``var`` returns the real ``vars`` of ``dbt_project.yml`` (the business constants, read
from their one definition), ``env_var`` a placeholder value, ``builtins.source`` (the project overrides ``source``) a
name, ``fromjson`` Python's.
"""

import json
from pathlib import Path

import yaml

_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project.yml"
_VARS = (yaml.safe_load(_PROJECT.read_text(encoding="utf-8")) or {}).get("vars") or {}


def var(name, default=None):
    return _VARS.get(name, default)


def env_var(name, default=None):
    return default if default is not None else f"env_{name.lower()}"


fromjson = json.loads


class builtins:  # dbt's name for its own functions
    @staticmethod
    def source(source_name, table_name):
        return f"{source_name}_{table_name}"
