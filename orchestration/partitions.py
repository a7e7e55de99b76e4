"""The window of days a dbt run rebuilds in the day-partitioned models.

Models materialised ``partitioned`` (``dbt_project/macros/partitions.sql``) reduce the
sensor readings once per day: one Parquet file per day under
``curated/<model>/<column>=<day>/``. A run rebuilds the partitions from the window's first
day on and reads only the raw batches ingested from a little before it (raw is partitioned
by ingest day); the marts then read these compact partitions. So the daily cost follows the
new data, not the age of the lake.

The window starts :attr:`~lakehouse.settings.Settings.partition_lookback_days` before the
earliest ingest day among the raw batches written since the previous successful build: a
reading arriving that many days late still lands in its day. Every day is rebuilt (a full
refresh) on demand, the first time, and whenever a partitioned model has no partition yet.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from governance.catalog import curated_prefix
from lakehouse.platform import Lakehouse

WINDOW_ENV = "HYPERVISEUR_PARTITION_WINDOW_START"  # read by the dbt macros, set for dbt alone
STATE_KEY = "_meta/partitions/dbt_window.json"
# The raw datasets the staging models read through `raw_window` (macros/partitions.sql).
WINDOWED_RAW_PREFIX = "raw/iot/"
# Written when a run is planned: its modification time is the start of the run by the
# store's own clock, the clock of the raw files it is compared with.
CLOCK_KEY = "_meta/partitions/run_started"
_INGEST_DAY = re.compile(r"/ingest_date=(\d{4}-\d{2}-\d{2})/")


@dataclass(frozen=True)
class Window:
    start: date | None  # None: full refresh
    reason: str
    started_at: datetime
    models: tuple[str, ...] = ()  # the partitioned models of the project

    def describe(self) -> str:
        what = f"partitions à partir du {self.start.isoformat()}" if self.start else "reconstruction complète"
        return f"{what} ({self.reason})"


def _has_partitions(lh: Lakehouse, model: str) -> bool:
    return any(o.key.endswith(".parquet") for o in lh.storage.list(curated_prefix(model)))


def _ingest_days(lh: Lakehouse, since: datetime | None) -> list[date]:
    days = []
    for o in lh.storage.list(WINDOWED_RAW_PREFIX):
        match = _INGEST_DAY.search("/" + o.key)
        if match and o.key.endswith(".parquet") and (since is None or o.last_modified >= since):
            days.append(date.fromisoformat(match.group(1)))
    return days


def _store_now(lh: Lakehouse) -> datetime:
    lh.storage.write_bytes(CLOCK_KEY, datetime.now(UTC).isoformat().encode())
    return next(o.last_modified for o in lh.storage.list(CLOCK_KEY) if o.key == CLOCK_KEY)


def _state(lh: Lakehouse) -> dict[str, datetime]:
    """When each partitioned model's last successful build started."""
    if not lh.storage.exists(STATE_KEY):
        return {}
    built = json.loads(lh.storage.read_bytes(STATE_KEY)).get("models", {})
    return {m: datetime.fromisoformat(t) for m, t in built.items()}


def plan(lh: Lakehouse, models: list[str], *, full_refresh: bool = False) -> Window:
    """The window of the next run (see the module's docstring).

    One window for the whole invocation, whatever models it selects: it starts early enough
    for the model built longest ago, so a job building some of them (the hourly one) never
    makes another miss the batches that arrived in between.
    """
    now = _store_now(lh)
    if full_refresh:
        return Window(None, "demandée", now, tuple(models))
    built = _state(lh)
    missing = [m for m in models if m not in built or not _has_partitions(lh, m)]
    if missing:
        return Window(None, f"première construction de {', '.join(missing)}", now, tuple(models))
    since = min(built[m] for m in models)
    lookback = timedelta(days=lh.settings.partition_lookback_days)
    new_days = _ingest_days(lh, since)
    if new_days:
        return Window(min(new_days) - lookback, f"lots reçus depuis le {since:%Y-%m-%d %H:%M} UTC", now, tuple(models))
    every_day = _ingest_days(lh, None)
    if not every_day:
        return Window(None, "aucune mesure brute", now, tuple(models))
    return Window(max(every_day) - lookback, "aucun lot nouveau : derniers jours reconstruits", now, tuple(models))


def record(lh: Lakehouse, window: Window, run_results: Path) -> list[str]:
    """After a successful invocation: the partitioned models it built count the batches written
    from this run's start on next time. Returns those models."""
    results = json.loads(run_results.read_text()) if run_results.exists() else {"results": []}
    done = [
        r["unique_id"].rsplit(".", 1)[1]
        for r in results["results"]
        if r["unique_id"].startswith("model.") and r.get("status") == "success"
    ]
    built = _state(lh)
    partitioned = [m for m in done if m in set(window.models)]
    built.update({m: window.started_at for m in partitioned})
    state = {
        "models": {m: t.isoformat() for m, t in sorted(built.items())},
        "last_window_start": window.start and window.start.isoformat(),
    }
    lh.storage.write_bytes(STATE_KEY, json.dumps(state, indent=1).encode())
    return partitioned
