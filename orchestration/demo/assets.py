"""Demo assets: the simulated territory fills the raw zone, and its streams are replayed
through the alert engine.

``make run`` has no external broker: the demo's live hours go through an embedded amqtt
broker to the stream ingestion consumer, and the whole demo period is replayed through it
to the alert engine (an independent consumer of the same topics), exactly as sensors would
publish in production where ``HYPERVISEUR_MQTT_HOST`` points to Mosquitto.

The demo replays a fixed past period: its consumer and engine judge the plausibility of event
times against the simulated time of the replay (``SimulatedClock``), where the production
location keeps the wall clock.
"""

import socket
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime

import dagster as dg

from lakehouse.audit import ensure_audit_key
from lakehouse.encryption import ensure_key_file
from lakehouse.platform import Lakehouse
from lakehouse.settings import MqttSettings
from orchestration.assets.raw import Counts, InboxConfig, ingest_inbox, raw_ingestion_asset
from orchestration.resources import LakehouseResource

LIVE_HOURS = 2.0
TODAY = "aujourdhui"  # `--fin aujourdhui`: the period ends at midnight UTC today
ALERT_INCIDENTS = dg.AssetKey(["alerting", "incidents"])


class DemoPeriod(dg.Config):
    """The simulated period; ``end`` empty means the demo end of the settings, ``aujourdhui``
    midnight UTC today (``make run``: the backfill ends where the live simulator takes over)."""

    days: float = 14
    scale: float = 1.0
    seed: int = 42
    end: str = ""

    def end_utc(self, lh: Lakehouse) -> datetime:
        if self.end == TODAY:
            return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return datetime.fromisoformat(self.end).astimezone(UTC) if self.end else lh.settings.demo.end


class DemoRawConfig(DemoPeriod, InboxConfig):
    """Without ``files``, simulate the territory; with them (inbox sensor), ingest them."""


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


def embedded_settings(lh: Lakehouse, port: int) -> MqttSettings:
    """The embedded broker: anonymous, on loopback, with the platform's topic root."""
    return MqttSettings(host="127.0.0.1", port=port, topic_root=lh.settings.mqtt.topic_root)


def simulate_with_live_stream(lh: Lakehouse, *, end: datetime, days: float, seed: int, scale: float):
    """Simulate the demo: files for the past, the last hours live over MQTT to the consumer.
    Only the parts of the period the lake does not hold yet (``ingestion.demo.coverage``: an
    earlier run, the live simulator) are simulated, then the period is recorded as covered."""
    from ingestion.demo import coverage
    from ingestion.demo.model import DAY
    from ingestion.demo.simulator import MqttTarget, simulate
    from ingestion.stream.clock import SimulatedClock
    from ingestion.stream.consumer import ConsumerConfig, StreamConsumer

    data_dir = lh.settings.data_dir
    period = (int(end.timestamp() - days * DAY), int(end.timestamp()))
    gaps = coverage.missing(coverage.held(data_dir), *period)
    with embedded_broker() as port:
        local = embedded_settings(lh, port)
        config = ConsumerConfig(client_id="hyperviseur-demo", mqtt=local, clock=SimulatedClock(end))
        consumer = StreamConsumer(lh, config)
        thread = threading.Thread(target=lambda: consumer.run(idle_exit_s=3, max_seconds=300), daemon=True)
        thread.start()
        if not consumer.subscribed.wait(15):
            raise TimeoutError("le consommateur MQTT ne s'est pas abonné au broker embarqué")
        result = simulate(
            lh,
            end=end,
            days=days,
            seed=seed,
            scale=scale,
            mqtt=MqttTarget(port=port, topic_root=local.topic_root, live_hours=LIVE_HOURS),
            periods=gaps,
        )
        thread.join(310)
    result.report.merge(consumer.stats.report)
    coverage.record(data_dir, *period)
    return result, consumer.stats


def fill_demo(context: dg.AssetExecutionContext, lh: Lakehouse, config: DemoRawConfig) -> Counts:
    from ingestion.demo.simulator import GENERATORS

    if config.files:
        return ingest_inbox(context, lh, config)
    ensure_key_file(lh.settings)  # the demo lake encrypts its simulated personal columns with its own key
    ensure_audit_key(lh.settings)  # and signs its audit log with its own key
    result, _ = simulate_with_live_stream(
        lh, end=config.end_utc(lh), days=config.days, seed=config.seed, scale=config.scale
    )
    counts = {n: (c.rows_in, c.rows_raw, c.rows_quarantined) for n, c in result.report.datasets.items()}
    # A period the lake already holds lands nothing new: every dataset is still reported (0 rows
    # in, 0 out), so the graph rebuilds its marts on what the lake holds (the live hours included).
    return {name: (0, 0, 0) for name in GENERATORS} | counts


demo_raw_datasets = raw_ingestion_asset(
    fill_demo,
    DemoRawConfig,
    "Territoire de démonstration Val-de-Lys simulé (les dernières heures en direct par MQTT), "
    "ou fichiers déposés dans la boîte de réception.",
)


@dg.asset(
    key=ALERT_INCIDENTS,
    group_name="supervision",
    deps=[dg.AssetKey(["raw", "iot", "water_flow"])],
    description="Incidents ouverts, priorisés, avec leurs conséquences : le moteur d'alertes écoute les flux MQTT "
    "du territoire de démonstration (rejoués ici sur un broker embarqué).",
)
def alert_incidents(
    context: dg.AssetExecutionContext, config: DemoPeriod, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    from alerting.engine import Engine
    from alerting.runner import MqttRunner
    from ingestion.demo.publisher import model_messages, publish_stream
    from ingestion.demo.simulator import build_model
    from ingestion.stream.clock import SimulatedClock

    lh = lakehouse.get()
    root = lh.settings.mqtt.topic_root
    model = build_model(end=config.end_utc(lh), days=config.days, seed=config.seed, scale=config.scale)
    now = SimulatedClock(model.start)  # the replay's simulated time
    engine = Engine(lh, root=root, clock=now)
    live_from = max(model.start, model.end - int(LIVE_HOURS * 3600))
    # The past is evaluated in-process (as an engine catching up on history would);
    # the live hours arrive over MQTT like real sensors.
    for ts, topic, payload in model_messages(model, model.start, live_from, root):
        now.set(ts)
        engine.process(topic, payload)
    engine.tick()
    now.set(model.end)
    with embedded_broker() as port:
        local = embedded_settings(lh, port)
        runner = MqttRunner(engine, mqtt=local).start()
        try:
            history = engine.stats["messages"]
            sent = publish_stream(model_messages(model, live_from, model.end, root), mqtt_settings=local)
            deadline = time.monotonic() + 120
            while engine.stats["messages"] < history + sent and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            runner.stop()
    engine.save(force=True)
    incidents = engine.manager.open_incidents()
    for i in incidents[:10]:
        context.log.info(f"priorité {i.priority:.0f} — {i.title}")
    return dg.MaterializeResult(
        metadata={
            "messages": engine.stats["messages"],
            "messages_mqtt": sent,
            "messages_rejetes": engine.stats["rejected"],
            "messages_hors_fenetre": engine.stats["out_of_window"],
            "incidents_ouverts": len(incidents),
            "incidents": dg.MetadataValue.json(
                [{"titre": i.title, "priorite": round(i.priority, 1)} for i in incidents]
            ),
        }
    )
