"""Real-time paths of the embedded default: an in-process MQTT broker for the demo.

``make run`` has no external broker: the demo's live hours go through an embedded amqtt
broker to the stream ingestion consumer, and the whole demo period is replayed through it
to the alert engine (an independent consumer of the same topics), exactly as sensors would
publish in production where ``HYPERVISEUR_MQTT_HOST`` points to Mosquitto or EMQX.
"""

import socket
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime

import dagster as dg

from orchestration.resources import LakehouseResource

LIVE_HOURS = 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def embedded_broker():
    """An amqtt broker on a free loopback port for the duration of a step; yields the port."""
    from ingestion.stream.broker import EmbeddedBroker

    port = free_port()
    with EmbeddedBroker(port=port):
        yield port


def simulate_with_live_stream(lh, *, end: str, days: float, seed: int, scale: float):
    """Simulate the demo: files for the past, the last hours live over MQTT to the consumer."""
    from ingestion.demo.simulator import MqttTarget, simulate
    from ingestion.stream.consumer import ConsumerConfig, StreamConsumer

    with embedded_broker() as port:
        consumer = StreamConsumer(lh, ConsumerConfig(port=port, client_id="hyperviseur-demo"))
        thread = threading.Thread(target=lambda: consumer.run(idle_exit_s=3, max_seconds=300), daemon=True)
        thread.start()
        if not consumer.subscribed.wait(15):
            raise TimeoutError("le consommateur MQTT ne s'est pas abonné au broker embarqué")
        result = simulate(lh, end=datetime.fromisoformat(end).astimezone(UTC), days=days, seed=seed, scale=scale,
                          mqtt=MqttTarget(port=port, live_hours=LIVE_HOURS))
        thread.join(310)
    result.report.merge(consumer.stats.report)
    return result, consumer.stats


class AlertReplayConfig(dg.Config):
    """The demo period to replay through the alert engine (same defaults as the raw ingestion)."""

    days: float = 14
    scale: float = 1.0
    seed: int = 42
    end: str = "2026-03-15T00:00:00+00:00"


@dg.asset(
    key=dg.AssetKey(["alertes", "incidents"]),
    group_name="supervision",
    deps=[dg.AssetKey(["raw", "iot", "water_flow"])],
    description="Incidents ouverts, priorisés, avec leurs conséquences : le moteur d'alertes écoute les flux MQTT "
                "du territoire (rejoués ici sur un broker embarqué).",
)
def alert_incidents(context: dg.AssetExecutionContext, config: AlertReplayConfig,
                    lakehouse: LakehouseResource) -> dg.MaterializeResult:
    from alerting.engine import Engine, MqttRunner
    from ingestion.demo.publisher import model_messages, publish_stream
    from ingestion.demo.simulator import build_model

    lh = lakehouse.get()
    model = build_model(end=datetime.fromisoformat(config.end).astimezone(UTC), days=config.days,
                        seed=config.seed, scale=config.scale)
    engine = Engine(lh, root="city")
    live_from = max(model.start, model.end - int(LIVE_HOURS * 3600))
    # The past is evaluated in-process (as an engine catching up on history would);
    # the live hours arrive over MQTT like real sensors.
    for _, topic, payload in model_messages(model, model.start, live_from, "city"):
        engine.process(topic, payload)
    engine.tick()
    with embedded_broker() as port:
        runner = MqttRunner(engine, "127.0.0.1", port).start()
        try:
            history = engine.stats["messages"]
            sent = publish_stream(model_messages(model, live_from, model.end, "city"), host="127.0.0.1", port=port)
            deadline = time.monotonic() + 120
            while engine.stats["messages"] < history + sent and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            runner.stop()
    engine.save(force=True)
    incidents = engine.manager.open_incidents()
    for i in incidents[:10]:
        context.log.info(f"priorité {i.priority:.0f} — {i.title}")
    return dg.MaterializeResult(metadata={
        "messages": engine.stats["messages"],
        "messages_mqtt": sent,
        "messages_rejetes": engine.stats["rejected"],
        "incidents_ouverts": len(incidents),
        "incidents": dg.MetadataValue.json([{"titre": i.title, "priorite": round(i.priority, 1)} for i in incidents]),
    })
