"""`hyperviseur lake …`: look at the lake and its registry."""

from __future__ import annotations

import click
from rich.table import Table

from orchestration.cli.common import console, french_errors, lakehouse


@click.group()
def lake() -> None:
    """Consulter le lac de données (fichiers, registre des jeux de données)."""


@lake.command("check")
@french_errors
def check() -> None:
    """Vérifier que le lac est accessible avec la configuration actuelle."""
    lh = lakehouse()
    console.print(f"Lac accessible : [bold]{lh.settings.lake_url}[/] (stockage {lh.settings.backend})")


@lake.command("ls")
@click.argument("prefix", default="")
@french_errors
def ls(prefix: str) -> None:
    """Lister les objets du lac sous PREFIX (ex. raw/iot/)."""
    lh = lakehouse()
    objects = lh.storage.list(prefix)
    for o in objects:
        console.print(f"{o.size:>12}  {o.last_modified:%Y-%m-%d %H:%M}  {o.key}", highlight=False)
    console.print(f"{len(objects)} objet(s) sous {lh.storage.uri(prefix) if prefix else lh.settings.lake_url}")


@lake.command("datasets")
@click.option("--zone", default=None, help="Zone : raw, quarantine, curated, opendata.")
@french_errors
def datasets(zone: str | None) -> None:
    """Lister les jeux de données connus du registre."""
    lh = lakehouse()
    table = Table("Jeu de données", "Zone", "Service", "Niveau", "Chemin")
    for e in sorted(lh.registry.list(zone), key=lambda e: (e.zone, e.name)):
        table.add_row(e.name, e.zone, e.owner_service, e.level or "à classer", e.path)
    console.print(table)
