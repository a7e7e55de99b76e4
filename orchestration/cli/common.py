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


simulated_now_option = click.option(
    "--horloge-simulee",
    "simulated_now",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]),
    default=None,
    help="Rejeu de démonstration seulement : juger les horodatages par rapport à cette date "
    "(UTC, ex. 2026-03-15) et non à l'horloge murale.",
)
"""The date the stream's timestamps are judged against in a demonstration replay (``--horloge-simulee``)."""


def period_options(scale: bool):
    """The simulated period of the demo (``--jours``, ``--graine``, ``--fin``, and ``--echelle``)."""
    from lakehouse.settings import DemoSettings

    options = [
        click.option(
            "--jours",
            "days",
            type=float,
            default=lambda: DemoSettings.from_env().days,
            show_default="14 ou HYPERVISEUR_DEMO_DAYS",
            help="Durée simulée, en jours, avant --fin.",
        ),
        click.option(
            "--graine", "seed", default=42, show_default=True, help="Graine aléatoire (même graine = mêmes données)."
        ),
        click.option(
            "--fin",
            "end",
            default=lambda: DemoSettings.from_env().end.isoformat(),
            show_default="2026-03-15T00:00:00+00:00 ou HYPERVISEUR_DEMO_END",
            help="Fin de la période simulée (ISO 8601, UTC).",
        ),
    ]
    if scale:
        options.append(
            click.option(
                "--echelle",
                "scale",
                default=1.0,
                show_default=True,
                help="Multiplie la fréquence des capteurs (≈ 60 → 10 M mesures).",
            )
        )

    def decorate(fn):
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate
