"""`hyperviseur lake …`: look at the lake and its registry."""

from __future__ import annotations

import click
from rich.table import Table

from orchestration.cli.common import actor_option, console, french_errors, lakehouse


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


@lake.command("verifier")
@click.option(
    "--zone",
    "zones",
    multiple=True,
    type=click.Choice(["raw", "quarantine"]),
    default=("raw", "quarantine"),
    show_default=True,
    help="Zone(s) à vérifier.",
)
@click.option("--isoler", is_flag=True, help="Mettre de côté (_meta/corrupt/) les lots absents ou altérés.")
@actor_option()
@french_errors
def verify(zones: tuple[str, ...], isoler: bool, actor: str) -> None:
    """Vérifier chaque lot contre l'empreinte de son manifeste ; code 1 si un lot est absent ou altéré.

    Un lot altéré fait échouer toute lecture de son jeu de données : avec --isoler, il est déplacé
    dans _meta/corrupt/ (avec sa raison, inscrite au journal d'audit) et la réingestion du fichier
    source le réécrit une fois.
    """
    from lakehouse.audit import AuditLog

    lh = lakehouse()
    audit = AuditLog(lh) if isoler else None
    checked, bad = 0, 0
    for entry in sorted(lh.registry.list(), key=lambda e: (e.zone, e.name)):
        if entry.zone not in zones:
            continue
        _, source, dataset = entry.path.rstrip("/").split("/", 2)
        checked += 1
        for key, reason in lh.lake.check_batches(entry.zone, source, dataset).items():
            bad += 1
            console.print(f"[red]lot défectueux[/] {key} : {reason}", highlight=False)
            if audit:
                target = lh.lake.isolate(entry.zone, source, dataset, key, reason)
                audit.append("lake.batch_isolated", actor, {"key": key, "reason": reason, "moved_to": target})
                console.print(f"  isolé dans {target}", highlight=False)
    console.print(f"{checked} jeu(x) de données vérifié(s), {bad} lot(s) défectueux")
    if bad and not isoler:
        raise SystemExit(1)
