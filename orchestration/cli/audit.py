"""``hyperviseur audit …``: verify and read the hash-chained audit log."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from orchestration.cli.common import actor_option, console, french_errors, lakehouse


@click.group()
def audit() -> None:
    """Journal d'audit chaîné : vérification, consultation, rétention."""


@audit.command()
@french_errors
def verify():
    """Vérifier la chaîne ; nomme le premier enregistrement altéré, supprimé ou déplacé."""
    from lakehouse.audit import AuditLog

    result = AuditLog(lakehouse()).verify()
    if result.ok:
        console.print(f"[green]journal intègre[/green] : {result.reason}")
        return
    console.print(f"[red]journal altéré[/red] à l'enregistrement {result.first_bad_index} : {result.reason}")
    sys.exit(2)


@audit.command()
@click.option(
    "--derniers",
    "last",
    default=20,
    show_default=True,
    type=click.IntRange(1, 100000),
    help="Nombre d'enregistrements affichés.",
)
@french_errors
def show(last):
    """Afficher les derniers enregistrements."""
    from lakehouse.audit import AuditLog

    t = Table()
    for col in ("n°", "date", "événement", "auteur", "détail"):
        t.add_column(col)
    for r in AuditLog(lakehouse()).records()[-last:]:
        t.add_row(str(r["seq"]), r["at"], r["event_type"], r["actor"], str(r["payload"])[:100])
    console.print(t)


@audit.command()
@actor_option()
@french_errors
def purge(actor):
    """Supprimer les enregistrements plus anciens que la durée de conservation (HYPERVISEUR_AUDIT_RETENTION_DAYS)."""
    from lakehouse.audit import AuditLog

    log = AuditLog(lakehouse())
    n = log.purge(actor=actor)
    console.print(f"{n} enregistrement(s) supprimé(s) (conservation {log.retention} jours)")
