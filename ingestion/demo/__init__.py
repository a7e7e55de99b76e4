"""Demo territory "Val-de-Lys": referential, seeded series with injected incidents, MQTT replay.

Entry points: ``simulate`` (series → files → raw zone), ``publish`` (replay over MQTT),
``write_seeds`` (the referential as dbt seeds).
"""

from ingestion.demo.publisher import publish
from ingestion.demo.simulator import DEFAULT_END, INCIDENTS_KEY, MqttTarget, SimulationResult, simulate
from ingestion.demo.territory import build_territory, write_seeds

__all__ = [
    "DEFAULT_END",
    "INCIDENTS_KEY",
    "MqttTarget",
    "SimulationResult",
    "build_territory",
    "publish",
    "simulate",
    "write_seeds",
]
