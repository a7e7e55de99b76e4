"""Inbox sensor: a file dropped in ``<data_dir>/inbox/<connector>/…`` (or under the
``inbox/<connector>/`` prefix of the bucket) is ingested by that connector.

The connector is named by the first folder, so the sensor stays generic: any connector
registered in ``ingestion.sources`` works without touching this module. The cursor keeps
each file's size and modification time, so a file rewritten in place is ingested again.
"""

from __future__ import annotations

import json

import dagster as dg

from lakehouse.platform import Lakehouse
from orchestration.assets.raw import RAW_OP

INBOX = "inbox"
SKIPPED_SUFFIXES = (".tmp", ".part", ".crdownload")


def _connectors() -> set[str]:
    try:
        from ingestion.sources import available

        return set(available())
    except ImportError:  # a connector module is missing: nothing can be ingested yet
        return set()


def inbox_files(lh: Lakehouse) -> dict[str, str]:
    """``{"connector|location": signature}`` for every file waiting in the inbox."""
    found: dict[str, str] = {}
    if lh.settings.s3:
        for obj in lh.storage.list(f"{INBOX}/"):
            parts = obj.key.split("/")
            if len(parts) >= 3 and not obj.key.endswith(SKIPPED_SUFFIXES):
                found[f"{parts[1]}|{lh.storage.uri(obj.key)}"] = f"{obj.size}:{obj.last_modified.timestamp()}"
        return found
    root = lh.settings.data_dir / INBOX
    if not root.is_dir():
        return found
    for path in sorted(root.glob("*/**/*")):
        if path.is_file() and not path.name.startswith(".") and not path.name.endswith(SKIPPED_SUFFIXES):
            connector = path.relative_to(root).parts[0]
            st = path.stat()
            found[f"{connector}|{path}"] = f"{st.st_size}:{st.st_mtime}"
    return found


def new_files(seen: dict[str, str], current: dict[str, str], connectors: set[str]) -> tuple[list[str], list[str]]:
    """(files to ingest, files with an unknown connector) among ``current`` not in ``seen``."""
    fresh = [f for f, sig in sorted(current.items()) if seen.get(f) != sig]
    return [f for f in fresh if f.split("|", 1)[0] in connectors], [
        f for f in fresh if f.split("|", 1)[0] not in connectors
    ]


def build_inbox_sensor(job) -> dg.SensorDefinition:
    @dg.sensor(
        name="depot_boite_de_reception",
        job=job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Ingère les fichiers déposés dans inbox/<connecteur>/ (dossier local ou bucket)",
    )
    def inbox_sensor(context: dg.SensorEvaluationContext):
        lh = Lakehouse.from_env()
        seen = json.loads(context.cursor) if context.cursor else {}
        current = inbox_files(lh)
        todo, unknown = new_files(seen, current, _connectors())
        for f in unknown:
            context.log.warning(f"{f.split('|', 1)[1]} : aucun connecteur « {f.split('|', 1)[0]} » (dossier ignoré)")
        if todo:
            yield dg.RunRequest(
                run_key=json.dumps({f: current[f] for f in todo}, sort_keys=True),
                run_config={"ops": {RAW_OP: {"config": {"files": todo}}}},
            )
        context.update_cursor(json.dumps(current))

    return inbox_sensor
