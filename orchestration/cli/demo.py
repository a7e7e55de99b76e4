"""`hyperviseur demo …`: simulate the Val-de-Lys territory, replay it over MQTT, write its seeds."""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ingestion.demo import INCIDENTS_KEY, publish, simulate, write_seeds
from ingestion.demo.simulator import GENERATORS
from orchestration.cli.common import console, french_errors, lakehouse, period_options

KIND_FR = {
    "leak": "fuite",
    "pollution_peak": "pic de pollution",
    "traffic_jam": "embouteillage",
    "lamp_failure_cluster": "panne d'éclairage groupée",
    "report_burst": "afflux de signalements",
}
ENTITY_FR = {
    "sector": "secteur",
    "station": "station",
    "segment": "tronçon",
    "circuit": "circuit",
    "district": "quartier",
}


@click.group()
def demo() -> None:
    """Territoire de démonstration Val-de-Lys (données simulées avec incidents)."""


@demo.command()
@period_options(scale=True)
@click.option(
    "--dossier",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Dossier des fichiers sources (défaut : <données>/demo/inbox).",
)
@click.option("--sans-fichiers", "no_files", is_flag=True, help="Ne pas écrire les fichiers sources (bancs d'essai).")
@french_errors
def generate(days: float, scale: float, seed: int, end: str, out_dir: Path | None, no_files: bool) -> None:
    """Simuler le territoire et déposer les données dans la zone brute du lac."""
    lh = lakehouse()
    n_days = max(1, int(-(-days // 1)))
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("Simulation", total=n_days * len(GENERATORS))
        result = simulate(
            lh,
            end=end,
            days=days,
            seed=seed,
            scale=scale,
            out_dir=out_dir,
            files=not no_files,
            on_chunk=lambda name, rows: progress.advance(task),
        )
    table = Table(title=f"Val-de-Lys du {result.start:%d/%m/%Y %H:%M} au {result.end:%d/%m/%Y %H:%M} (UTC)")
    for col in ("Jeu de données", "Lignes reçues", "Zone brute", "Quarantaine", "Doublons"):
        table.add_column(col, justify="left" if col == "Jeu de données" else "right")
    for name, c in sorted(result.report.datasets.items()):
        table.add_row(
            name,
            f"{c.rows_in:,}".replace(",", " "),
            f"{c.rows_raw:,}".replace(",", " "),
            str(c.rows_quarantined),
            str(c.duplicates),
        )
    console.print(table)
    console.print(f"Mesures de capteurs : [bold]{result.sensor_readings:,}[/]".replace(",", " "))
    console.print(
        f"Fichiers sources : {len(result.files)}" + (f" dans {result.files[0].parents[2]}" if result.files else "")
    )
    console.print(
        f"Incidents injectés ({len(result.incidents)}), vérité terrain dans {lh.storage.uri(INCIDENTS_KEY)} :"
    )
    for inc in result.incidents:
        console.print(
            f"  • {KIND_FR[inc.kind]} — {ENTITY_FR[inc.entity_type]} {inc.entity_id} "
            f"({inc.start:%d/%m %H:%M} → {inc.end:%d/%m %H:%M} UTC)"
        )


@demo.command(name="publish")
@click.option("--hote", "host", default=None, help="Broker MQTT (défaut : HYPERVISEUR_MQTT_HOST ou 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port MQTT (défaut : HYPERVISEUR_MQTT_PORT ou 1883).")
@click.option(
    "--racine", "topic_root", default=None, help="Racine des sujets (défaut : HYPERVISEUR_MQTT_TOPIC_ROOT ou city)."
)
@click.option(
    "--debut",
    "start",
    default=None,
    help="Début de la relecture (ISO 8601) ; défaut : les dernières heures de la période.",
)
@click.option("--heures", "hours", default=1.0, show_default=True, help="Durée relue, en heures simulées.")
@click.option(
    "--vitesse", "speed", default=None, type=float, help="Secondes simulées par seconde réelle (défaut : au plus vite)."
)
@period_options(scale=False)
@click.option("--protocole", "protocol", type=click.Choice(["3.1.1", "5"]), default="3.1.1", show_default=True)
@french_errors
def publish_cmd(host, port, topic_root, start, hours, speed, days, seed, end, protocol) -> None:
    """Rejouer les séries du territoire sur MQTT (QoS 1)."""
    from lakehouse.settings import Settings

    mqtt = Settings.from_env().mqtt.at(host, port, topic_root)  # credentials and TLS: HYPERVISEUR_MQTT_*
    host, port, topic_root = mqtt.host, mqtt.port, mqtt.topic_root
    console.print(f"Publication sur mqtt://{host}:{port}/{topic_root}/# …")
    try:
        n = publish(
            start=start, hours=hours, speed=speed, seed=seed, days=days, end=end, protocol=protocol, mqtt_settings=mqtt
        )
    except (ConnectionError, OSError, TimeoutError) as exc:
        raise click.ClickException(f"broker MQTT {host}:{port} : {exc}") from exc
    console.print(f"[green]{n:,} message(s) publiés et acquittés par le broker.[/]".replace(",", " "))


@demo.command()
@click.option(
    "--dossier", "seeds_dir", type=click.Path(path_type=Path), default=Path("dbt_project/seeds"), show_default=True
)
def seeds(seeds_dir: Path) -> None:
    """Réécrire les référentiels du territoire (graines dbt)."""
    for path in write_seeds(seeds_dir):
        console.print(f"écrit : {path}")
