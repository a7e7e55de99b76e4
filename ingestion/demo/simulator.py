"""Run the demo simulation: series → source files → raw zone (through the pipeline).

``simulate`` generates the period one UTC day at a time and dataset by dataset, so memory
stays bounded whatever ``scale``; each chunk is written as a source file in the inbox
(CSV for sensors, JSON lines for reports, posts and events, so file connectors can
re-ingest them) and through ``ingestion.pipeline.write_chunk`` with a deterministic batch
id (re-running the same simulation overwrites, never duplicates). With ``mqtt``, the last
hours of the period are published over MQTT instead, for the stream consumer to ingest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from ingestion.datasets import CANONICAL
from ingestion.demo import citizens, sensors
from ingestion.demo.incidents import Incident, from_json, plan_incidents, to_json
from ingestion.demo.model import DemoModel, days_between, epoch, to_datetime, utc
from ingestion.demo.territory import build_territory
from ingestion.pipeline import IngestReport, register, write_chunk
from ingestion.spec import DatasetSpec
from lakehouse.platform import Lakehouse

DEFAULT_END = datetime(2026, 3, 15, tzinfo=UTC)
INCIDENTS_KEY = "_meta/demo/incidents.json"
GENERATORS: dict[str, Callable[[DemoModel, int, int], pa.Table]] = {**sensors.GENERATORS, **citizens.GENERATORS}
JSONL_DATASETS = set(citizens.GENERATORS)


@dataclass(frozen=True)
class MqttTarget:
    """Where and how to publish the live part of a simulation."""

    host: str = "127.0.0.1"
    port: int = 1883
    topic_root: str = "city"
    live_hours: float = 2.0  # the last hours of the period go over MQTT instead of files
    speed: float | None = None  # simulated seconds per wall second; None = as fast as possible
    protocol: str = "3.1.1"


@dataclass
class SimulationResult:
    start: datetime
    end: datetime
    seed: int
    scale: float
    incidents: list[Incident]
    report: IngestReport
    files: list[Path] = field(default_factory=list)
    published: int = 0  # MQTT messages published (live part)

    @property
    def sensor_readings(self) -> int:
        return sum(c.rows_in for name, c in self.report.datasets.items() if name in sensors.GENERATORS)


def build_model(
    *, end: datetime | str = DEFAULT_END, days: float = 14, seed: int = 42, scale: float = 1.0
) -> DemoModel:
    end = to_datetime(end)
    start = end - timedelta(days=days)
    territory = build_territory()
    return DemoModel(territory, seed, epoch(start), epoch(end), scale, plan_incidents(territory, seed, start, end))


def iter_chunks(model: DemoModel, t0: int, t1: int, datasets=None) -> Iterator[tuple[DatasetSpec, int, int, pa.Table]]:
    """(spec, window start, window end, table) for every dataset and UTC day of [t0, t1)."""
    for w0, w1 in days_between(t0, t1):
        for name, generate in GENERATORS.items():
            if datasets is None or name in datasets:
                yield CANONICAL[name], w0, w1, generate(model, w0, w1)


def run_tag(model: DemoModel) -> str:
    """Short id of a simulation's parameters, part of its batch ids."""
    text = f"{model.seed}/{model.scale}/{model.start}/{model.end}"
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _source_file(root: Path, spec: DatasetSpec, w0: int, table: pa.Table) -> Path:
    folder = root / spec.source / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    stamp = utc(w0).strftime("%Y-%m-%dT%H%M")
    if spec.qualified_name in JSONL_DATASETS:
        path = folder / f"{stamp}.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            for row in table.to_pylist():
                f.write(json.dumps({k: _json_value(v) for k, v in row.items()}, ensure_ascii=False) + "\n")
    else:
        path = folder / f"{stamp}.csv"
        pacsv.write_csv(table, path)
    return path


def _json_value(v):
    return v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v


def simulate(
    lh: Lakehouse,
    *,
    end: datetime | str = DEFAULT_END,
    days: float = 14,
    seed: int = 42,
    scale: float = 1.0,
    out_dir: Path | None = None,
    mqtt: MqttTarget | None = None,
    files: bool = True,
    on_chunk: Callable[[str, int], None] | None = None,
    periods: list[tuple[int, int]] | None = None,
) -> SimulationResult:
    """Simulate Val-de-Lys over the ``days`` before ``end`` and land it in the raw zone.

    ``out_dir`` (default ``<data_dir>/demo/inbox``) receives the source files unless
    ``files`` is false (benchmarks at large scale). ``on_chunk(dataset, rows)`` reports
    progress. ``periods`` (epoch ``[start, end)`` intervals) lands only those parts of the
    period (the rest is already in the lake): the ground truth then keeps the incidents stored
    before and adds those of the new parts. Returns counts per dataset, the incidents and the
    files written.
    """
    model = build_model(end=end, days=days, seed=seed, scale=scale)
    inbox = Path(out_dir) if out_dir else lh.settings.data_dir / "demo" / "inbox"
    split = model.end - int(mqtt.live_hours * 3600) if mqtt else model.end
    split = max(split, model.start)
    parts = [(model.start, model.end)] if periods is None else periods
    parts = [(max(a, model.start), min(b, model.end)) for a, b in parts if a < model.end and b > model.start]
    tag = run_tag(model)
    incidents = model.incidents if periods is None else _ground_truth(lh, model.incidents, parts, tag)
    result = SimulationResult(utc(model.start), utc(model.end), seed, scale, incidents, IngestReport(f"demo:{tag}"))
    for spec in CANONICAL.values():
        if spec.qualified_name in GENERATORS:
            register(lh, spec)
    chunks = (c for a, b in parts if a < split for c in iter_chunks(model, a, min(b, split)))
    for spec, w0, _, table in chunks:
        stamp = utc(w0).strftime("%Y%m%dT%H%M")
        origin = f"demo/{spec.source}/{spec.name}/{stamp}"
        if files and table.num_rows:
            path = _source_file(inbox, spec, w0, table)
            result.files.append(path)
            origin = str(path)
        if table.num_rows:
            # each simulated day lands in the raw partition of that day, as if ingested then
            write_chunk(
                lh,
                spec,
                table,
                origin,
                result.report,
                batch_id=f"demo-{tag}-{spec.name}-{stamp}",
                ingest_date=utc(w0).date(),
            )
        if on_chunk:
            on_chunk(spec.qualified_name, table.num_rows)
    lh.lake.write_json(INCIDENTS_KEY, to_json(incidents))
    if files:
        inbox.mkdir(parents=True, exist_ok=True)
        (inbox / "incidents.json").write_text(json.dumps(to_json(incidents), ensure_ascii=False, indent=1))
    for a, b in ((max(a, split), b) for a, b in parts if b > split) if mqtt else ():
        from ingestion.demo.publisher import publish_model

        result.published += publish_model(
            model,
            a,
            b,
            host=mqtt.host,
            port=mqtt.port,
            topic_root=mqtt.topic_root,
            speed=mqtt.speed,
            protocol=mqtt.protocol,
        )
    return result


def _ground_truth(lh: Lakehouse, planned: list[Incident], parts: list[tuple[int, int]], tag: str) -> list[Incident]:
    """The stored ground truth and the ``planned`` incidents that overlap the new ``parts`` (an id
    already taken by an earlier simulation gets this one's tag)."""
    stored = [from_json(d) for d in lh.lake.read_json(INCIDENTS_KEY)] if lh.storage.exists(INCIDENTS_KEY) else []
    taken = {i.incident_id for i in stored}
    new = [i for i in planned if any(epoch(i.start) < b and epoch(i.end) > a for a, b in parts)]
    return stored + [replace(i, incident_id=f"{i.incident_id}-{tag}") if i.incident_id in taken else i for i in new]
