"""``hyperviseur audit …``: verify and read the authenticated, hash-chained audit log; manage its key."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from orchestration.cli.common import actor_option, console, french_errors, lakehouse


@click.group()
def audit() -> None:
    """Journal d'audit chaîné et signé : vérification, consultation, rétention, clé."""


@audit.command()
@french_errors
def verify():
    """Vérifier la chaîne, ses signatures et le point de contrôle externe ; nomme le premier
    enregistrement altéré, supprimé ou déplacé."""
    from lakehouse.audit import AuditLog

    log = AuditLog(lakehouse())
    result = log.verify()
    if result.ok:
        console.print(
            f"[green]journal intègre[/green] : {result.reason} (point de contrôle : {log.checkpoints.description})"
        )
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
    console.print(f"{n} enregistrement(s) retiré(s) du journal (conservation {log.retention} jours)")
    if log.undeleted:
        console.print(
            f"{log.undeleted} objet(s) non supprimable(s) (verrouillage du stockage) : hors de la chaîne, "
            "ils seront effacés par le stockage à la fin de leur rétention"
        )


@audit.command("init-key")
@french_errors
def init_key():
    """Créer la clé de signature du journal (HYPERVISEUR_AUDIT_KEY_FILE) si elle n'existe pas, hors du lac."""
    from lakehouse.audit import ensure_audit_key, load_audit_keys
    from lakehouse.settings import Settings

    settings = Settings.from_env()
    path = ensure_audit_key(settings)
    console.print(f"clé du journal d'audit : {path} (identifiant {load_audit_keys(settings).active_id})")


@audit.command("rotate-key")
@french_errors
def rotate_key():
    """Remplacer la clé de signature ; l'ancienne passe dans le trousseau (vérification des anciens enregistrements)."""
    from lakehouse.audit import audit_key_path, keyring_path, rotate_audit_key
    from lakehouse.settings import Settings

    settings = Settings.from_env()
    new_id = rotate_audit_key(settings)
    console.print(
        f"nouvelle clé {new_id} dans {audit_key_path(settings)} ; "
        f"anciennes clés conservées dans {keyring_path(audit_key_path(settings))}"
    )
