"""`hyperviseur superset …`: start/stop Superset, provision it, harvest its query log.

The repo's ``superset/`` package is imported when a command runs, not when the CLI loads,
so the other commands keep working on installs without it.
"""

from __future__ import annotations

from pathlib import Path

import click

from orchestration.cli.common import console, french_errors, lakehouse


def _instance():
    from superset import service

    return service.Instance.from_env()


@click.group()
def superset() -> None:
    """Tableaux de bord et SQL Lab (Apache Superset, environnement .venv-superset)."""


@superset.command()
@french_errors
def init() -> None:
    """Initialiser Superset (secrets, base de métadonnées, compte admin, rôles par défaut)."""
    from superset import service

    inst = _instance()
    service.init(inst)
    console.print(f"Superset initialisé dans {inst.home}")


@superset.command()
@french_errors
def start() -> None:
    """Démarrer Superset (gunicorn) et attendre qu'il réponde."""
    from superset import service

    inst = _instance()
    service.start(inst)
    console.print(service.login_banner(inst))


@superset.command()
@french_errors
def stop() -> None:
    """Arrêter Superset."""
    from superset import service

    stopped = service.stop(_instance())
    console.print("Superset arrêté" if stopped else "Superset n'était pas démarré")


@superset.command()
@french_errors
def status() -> None:
    """Dire si Superset répond."""
    from superset import service

    inst = _instance()
    up = service.running_pid(inst) and service.healthy(inst)
    console.print(f"Superset {'en marche' if up else 'arrêté'} ({inst.url})")
    if not up:
        raise SystemExit(3)


@superset.command(name="provision")
@click.option(
    "--manifeste",
    "manifest",
    type=click.Path(path_type=Path),
    default=None,
    help="Manifeste dbt (descriptions des colonnes, certification ; défaut : HYPERVISEUR_DBT_MANIFEST).",
)
@french_errors
def provision_cmd(manifest: Path | None) -> None:
    """Créer ou mettre à jour base, jeux de données, tableaux de bord, rôles et RLS (idempotent)."""
    from superset import service
    from superset.client import SupersetApiError
    from superset.provision import provision

    inst = _instance()
    if not service.healthy(inst):
        raise service.SupersetError(f"Superset ne répond pas sur {inst.url} : lancer « hyperviseur superset start »")
    report = provision(inst, manifest=manifest or inst.settings.dbt_manifest)
    console.print(f"Jeux de données : {len(report.datasets)} — règles RLS : {report.rls_rules}")
    for slug, roles in report.dashboards.items():
        console.print(f"  tableau de bord [bold]{slug}[/] : {', '.join(roles) or 'administrateurs seulement'}")
    for slug in report.skipped_dashboards:
        console.print(f"  [yellow]tableau de bord {slug} ignoré : marts absents du catalogue de service[/]")
    try:
        _warm(inst)
    except SupersetApiError as exc:  # provisioned all the same: the dashboards compute on first display
        console.print(f"[yellow]{exc}[/]")


def _warm(inst) -> None:
    from superset.provision import admin_client
    from superset.warm import warm

    report = warm(admin_client(inst))
    console.print(
        f"Cache préchauffé : {report.charts} graphiques des tableaux de bord de départ et "
        f"{report.replayed} requêtes récentes des navigateurs en {report.seconds:.1f} s"
    )


@superset.command(name="prechauffer")
@french_errors
def warm_cmd() -> None:
    """Recalculer et mettre en cache les graphiques des tableaux de bord de départ (après une mise à jour des marts)."""
    from superset import service

    inst = _instance()
    if not service.healthy(inst):
        raise service.SupersetError(f"Superset ne répond pas sur {inst.url} : lancer « hyperviseur superset start »")
    _warm(inst)


@superset.command()
@french_errors
def bundle() -> None:
    """Régénérer superset/assets (graphiques et tableaux de bord) depuis superset/dashboards.yaml."""
    from superset.bundle import write_assets

    files = write_assets()
    console.print(f"{len(files)} fichiers écrits dans superset/assets")


@superset.command()
@french_errors
def harvest() -> None:
    """Copier le journal des requêtes de Superset dans le journal d'audit de la plateforme."""
    from superset.harvest import harvest_queries
    from superset.provision import admin_client

    lh = lakehouse()
    count = harvest_queries(lh, admin_client(_instance()))
    console.print(f"{count} requête(s) ajoutée(s) au journal d'audit")
