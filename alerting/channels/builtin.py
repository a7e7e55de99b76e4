"""Channels that need no external service: a log file and the lake outbox."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

from alerting.channels.base import Channel, Notification, SendResult


class LogChannel(Channel):
    """One line per notification in ``<data dir>/alerts/alertes.log``."""

    kind = "log"
    _lock = threading.Lock()

    def send(self, note: Notification) -> SendResult:
        path = Path(self.spec.get("path") or (self.lh.settings.data_dir / "alerts" / "alertes.log"))
        path.parent.mkdir(parents=True, exist_ok=True)
        line = f"{datetime.now(UTC).isoformat(timespec='seconds')} [{note.audience}] {note.subject}\n"
        with self._lock, path.open("a", encoding="utf-8") as fh:
            fh.write(line)
        return SendResult(True, str(path))


class FileChannel(Channel):
    """CAP XML and a JSON summary under ``_meta/alerts/outbox/<audience>/`` in the lake."""

    kind = "file"

    def send(self, note: Notification) -> SendResult:
        prefix = f"{self.spec.get('prefix', '_meta/alerts/outbox')}/{note.audience}/{note.cap_identifier}"
        self.lh.storage.write_bytes(prefix + ".xml", note.cap_xml)
        summary = {"incident_id": note.incident_id, "action": note.action, "subject": note.subject, "body": note.body}
        self.lh.storage.write_bytes(prefix + ".json", json.dumps(summary, ensure_ascii=False).encode())
        return SendResult(True, self.lh.storage.uri(prefix + ".xml"))
