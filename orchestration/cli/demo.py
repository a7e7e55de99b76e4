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


@demo.command(name="simuler")
@click.option("--echelle", "scale", default=1.0, show_default=True, help="Multiplie la fréquence des capteurs.")
@click.option("--graine", "seed", default=42, show_default=True, help="Graine aléatoire du territoire.")
@click.option("--pas", "step_s", default=5.0, show_default=True, help="Secondes entre deux envois.")
@click.option(
    "--intervalle-incidents",
    "mean_interval_s",
    default=2700.0,
    show_default=True,
    help="Durée moyenne (s) entre deux incidents injectés au hasard (0 : aucun).",
)
@click.option(
    "--rattrapage",
    "catch_up_s",
    default=86400.0,
    show_default=True,
    help="Au démarrage, publier au plus vite au plus ces secondes du passé non encore publiées.",
)
@click.option(
    "--port-sante",
    "health_port",
    type=int,
    default=None,
    help="Port de /healthz et /readyz sur 127.0.0.1 (défaut : HYPERVISEUR_SIMULATOR_HEALTH_PORT ou 8093 ; 0 : libre).",
)
@french_errors
def simulate_live(
    scale: float, seed: int, step_s: float, mean_interval_s: float, catch_up_s: float, health_port: int | None
) -> None:
    """Faire vivre le territoire : les capteurs simulés publient en temps réel (service durable, démo seulement)."""
    import signal
    import threading

    from ingestion.stream.health import HealthServer
    from lakehouse.settings import LiveSettings
    from orchestration.demo.live import LiveSimulator

    lh = lakehouse()
    port = LiveSettings.from_env().simulator_health_port if health_port is None else health_port
    sim = LiveSimulator(
        lh.settings.mqtt,
        lh.settings.data_dir,
        seed=seed,
        scale=scale,
        step_s=step_s,
        mean_interval_s=mean_interval_s,
        max_catch_up_s=catch_up_s,
    )
    health = HealthServer("simulateur du territoire", port, sim.health).start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    mqtt = lh.settings.mqtt
    console.print(
        f"Territoire Val-de-Lys en direct sur mqtt://{mqtt.host}:{mqtt.port}/{mqtt.topic_root}/# "
        f"(santé : http://127.0.0.1:{health.port}/readyz ; Ctrl+C pour arrêter)"
    )
    try:
        sim.run(stop)
    except (ConnectionError, OSError, TimeoutError) as exc:
        raise click.ClickException(f"broker MQTT {mqtt.host}:{mqtt.port} : {exc}") from exc
    finally:
        health.stop()
    console.print(f"{sim.published} message(s) publiés, {len(sim.injected)} incident(s) injectés.")


@demo.command(name="incident")
@click.argument("name", metavar="GENRE")
@click.argument("entity_id", metavar="ENTITE")
@click.option(
    "--attente", "wait_s", default=30.0, show_default=True, help="Attente maximale de la prise en compte (s)."
)
@french_errors
def incident(name: str, entity_id: str, wait_s: float) -> None:
    """Injecter un incident dans le territoire en direct (fuite, pollution, embouteillage, eclairage, signalements).

    Exemple : ``hyperviseur demo incident fuite SEC03``."""
    import json
    import time
    import urllib.request

    from lakehouse.settings import LiveSettings
    from orchestration.demo.live import INCIDENT_KINDS, request_incident

    lh = lakehouse()
    url = f"http://127.0.0.1:{LiveSettings.from_env().simulator_health_port}/readyz"

    def taken() -> list[str] | None:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return json.loads(r.read())["demandes_traitees"]
        except (OSError, ValueError, KeyError):
            return None

    if taken() is None:
        raise click.ClickException(
            f"le simulateur du territoire ne répond pas sur {url} : le démarrer (make run, ou hyperviseur demo simuler)"
        )
    try:
        rid = request_incident(lh.settings.data_dir, name, entity_id)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    deadline = time.monotonic() + wait_s
    while rid not in (taken() or []):
        if time.monotonic() > deadline:
            raise click.ClickException(f"demande {rid} non prise en compte par le simulateur après {wait_s:g} s")
        time.sleep(0.2)
    label = INCIDENT_KINDS[name][2]
    console.print(
        f"[green]Incident « {name} » injecté sur le {label} {entity_id}[/] : il façonne les mesures à partir de "
        "maintenant ; les règles le lèveront à leur rythme (une fuite à la fin de la prochaine fenêtre de nuit)."
    )


@demo.command(name="broker")
@click.option(
    "--port", type=int, default=None, help="Port sur 127.0.0.1 (défaut : HYPERVISEUR_DEMO_MQTT_PORT ou 1884)."
)
@click.option(
    "--client",
    "clients",
    multiple=True,
    required=True,
    help="Nom d'utilisateur admis (répétable), avec le mot de passe HYPERVISEUR_DEMO_MQTT_PASSWORD (ou _FILE).",
)
def broker(port: int | None, clients: tuple[str, ...]) -> None:
    """Broker MQTT embarqué de la démonstration (amqtt, boucle locale), service durable de `make run`.

    Seuls les clients nommés par --client, avec le mot de passe HYPERVISEUR_DEMO_MQTT_PASSWORD, se
    connectent (client anonyme ou mauvais mot de passe refusés) ; leurs sessions persistantes
    gardent les messages publiés pendant leur absence."""
    import signal
    import threading

    from ingestion.stream.broker import EmbeddedBroker
    from lakehouse.settings import LiveSettings

    live = LiveSettings.from_env()
    if not live.demo_mqtt_password:
        raise click.ClickException(
            "HYPERVISEUR_DEMO_MQTT_PASSWORD (ou HYPERVISEUR_DEMO_MQTT_PASSWORD_FILE) obligatoire : "
            "le broker de démonstration n'accepte que des clients authentifiés"
        )
    port = port or live.demo_mqtt_port
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    users = dict.fromkeys(clients, live.demo_mqtt_password)
    try:
        embedded = EmbeddedBroker(port=port, users=users).start()  # named sessions survive their clients' restarts
    except (OSError, RuntimeError) as exc:
        raise click.ClickException(f"broker MQTT embarqué sur 127.0.0.1:{port} : {exc}") from exc
    console.print(f"Broker MQTT embarqué sur mqtt://127.0.0.1:{port}, clients admis : {', '.join(clients)}")
    stop.wait()
    embedded.stop()
