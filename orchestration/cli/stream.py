"""`hyperviseur stream consume`: the MQTT consumer writing sensor streams to the raw zone."""

from __future__ import annotations

import click

from ingestion.stream.clock import SimulatedClock, wall_clock
from ingestion.stream.consumer import ConsumerConfig, StreamConsumer
from orchestration.cli.common import console, french_errors, lakehouse, simulated_now_option


@click.group()
def stream() -> None:
    """Ingestion en continu des capteurs (MQTT)."""


@stream.command()
@click.option("--hote", "host", default=None, help="Broker MQTT (défaut : HYPERVISEUR_MQTT_HOST ou 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port MQTT (défaut : HYPERVISEUR_MQTT_PORT ou 1883).")
@click.option(
    "--racine", "topic_root", default=None, help="Racine des sujets (défaut : HYPERVISEUR_MQTT_TOPIC_ROOT ou city)."
)
@click.option(
    "--id-client",
    "client_id",
    default="hyperviseur-stream",
    show_default=True,
    help="Identifiant fixe : la session persistante garde les messages pendant un arrêt.",
)
@click.option("--protocole", "protocol", type=click.Choice(["3.1.1", "5"]), default="3.1.1", show_default=True)
@click.option("--taille-lot", "batch_size", default=5000, show_default=True, help="Lignes par lot écrit.")
@click.option(
    "--latence-max", "max_latency", default=2.0, show_default=True, help="Délai maximal avant écriture d'un lot (s)."
)
@click.option("--duree-max", "max_seconds", type=float, default=None, help="Arrêter après cette durée (s).")
@click.option(
    "--arret-inactivite", "idle_exit", type=float, default=None, help="Arrêter après cette durée sans message (s)."
)
@click.option(
    "--broker-embarque", "embedded_broker", is_flag=True, help="Démarrer le broker embarqué (amqtt) sur 127.0.0.1."
)
@click.option(
    "--port-sante",
    "health_port",
    type=int,
    default=None,
    help="Servir /healthz et /readyz sur 127.0.0.1:PORT (service durable ; HYPERVISEUR_STREAM_HEALTH_PORT, 8091).",
)
@simulated_now_option
@french_errors
def consume(
    host,
    port,
    topic_root,
    client_id,
    protocol,
    batch_size,
    max_latency,
    max_seconds,
    idle_exit,
    embedded_broker,
    health_port,
    simulated_now,
) -> None:
    """Consommer <racine>/# et écrire des micro-lots validés dans la zone brute."""
    lh = lakehouse()
    mqtt = lh.settings.mqtt.at(host, port, topic_root)  # credentials and TLS: HYPERVISEUR_MQTT_*
    host, port, topic_root = mqtt.host, mqtt.port, mqtt.topic_root
    broker = None
    if embedded_broker:
        from ingestion.stream.broker import EmbeddedBroker

        broker = EmbeddedBroker(host, port).start()
        console.print(f"Broker embarqué démarré sur {host}:{port}")
    config = ConsumerConfig(
        client_id=client_id,
        protocol=protocol,
        batch_size=batch_size,
        max_latency_s=max_latency,
        mqtt=mqtt,
        clock=SimulatedClock(simulated_now) if simulated_now else wall_clock,
        health_port=health_port,
    )
    console.print(f"Écoute de mqtt://{host}:{port}/{topic_root}/# (Ctrl+C pour arrêter proprement) …")
    try:
        stats = StreamConsumer(lh, config).run(max_seconds=max_seconds, idle_exit_s=idle_exit, install_signals=True)
    except (ConnectionError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if broker:
            broker.stop()
    console.print(
        f"Messages reçus : {stats.messages} (dont {stats.redelivered} redélivrés), lots écrits : {stats.batches}"
    )
    console.print(
        f"Lignes en zone brute : {stats.rows_raw}, en quarantaine : {stats.rows_quarantined}, "
        f"doublons écartés : {stats.duplicates}, acquittements : {stats.acked}, "
        f"messages QoS 0 abandonnés (file pleine) : {stats.dropped}, reconnexions : {stats.reconnects}"
    )
