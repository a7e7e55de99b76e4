"""Helpers shared by CLI modules: build the lakehouse and print French errors."""

from __future__ import annotations

import functools
import getpass
import sys

import click
from rich.console import Console

from lakehouse.errors import LakehouseError
from lakehouse.platform import Lakehouse

console = Console()


def french_errors(fn):
    """Turn platform errors into a one-line French message and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LakehouseError as exc:
            click.secho(f"Erreur : {exc}", fg="red", err=True)
            sys.exit(1)

    return wrapper


def lakehouse() -> Lakehouse:
    lh = Lakehouse.from_env()
    lh.storage.check()
    return lh


def actor_option(help_text: str = "Personne inscrite au journal d'audit pour cette action."):
    """The one option naming who acts (``--par``), the current system user by default."""
    return click.option(
        "--par", "actor", default=lambda: getpass.getuser(), show_default="utilisateur courant", help=help_text
    )
