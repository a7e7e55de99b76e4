"""`hyperviseur opendata …`: publish public datasets, serve the citizens' portal."""

from __future__ import annotations

import click
from rich.table import Table

from orchestration.cli.common import actor_option, console, french_errors, lakehouse


@click.group()
def opendata() -> None:
    """Publier les données ouvertes et servir le portail citoyen."""


@opendata.command("publish")
@click.option(
    "--jeu",
    "datasets",
    multiple=True,
    help="Jeu de données à publier (répétable ; par défaut : tous ceux qui déclarent meta.opendata).",
)
@actor_option()
@french_errors
def publish_cmd(datasets: tuple[str, ...], actor: str) -> None:
    """Publier les jeux PUBLIC, approuvés et contrôlés ; refuser les autres en disant pourquoi."""
    from opendata.publish import publish

    lh = lakehouse()
    report = publish(lh, list(datasets) or None, actor=actor)
    table = Table("Jeu de données", "Résultat", "Détail")
    for name, version in report.published.items():
        table.add_row(name, "[green]publié[/]", f"version {version}")
    for name, version in report.unchanged.items():
        table.add_row(name, "inchangé", f"version {version} toujours en ligne")
    for name, reasons in report.refused.items():
        status = "[red]refusé, retiré du portail[/]" if name in report.withdrawn else "[red]refusé[/]"
        table.add_row(name, status, "\n".join(f"• {r}" for r in reasons))
    console.print(table)
    console.print(
        f"{len(report.online)} jeu(x) de données en ligne ; catalogue DCAT-AP et portail régénérés "
        f"dans {lh.settings.lake_url}/opendata/"
    )


@opendata.command("serve")
@click.option("--port", type=int, default=None, help="Port d'écoute (défaut : HYPERVISEUR_PORTAL_PORT, 8080).")
@french_errors
def serve_cmd(port: int | None) -> None:
    """Servir le portail open data sur 127.0.0.1 (Ctrl-C pour arrêter)."""
    from opendata.serve import make_server

    lh = lakehouse()
    server = make_server(lh, "127.0.0.1", port or lh.settings.portal_port)
    console.print(f"Portail open data : http://127.0.0.1:{server.server_address[1]}/index.html (Ctrl-C pour arrêter)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("Portail arrêté.")
    finally:
        server.server_close()
