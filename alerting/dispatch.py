"""Send incident notifications to audiences (agents on duty, managers, the public) and audit each send.

Notifications are built in the engine's thread (CAP included, validated) and sent by one
background worker, so a slow gateway never delays the next decision.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from alerting.channels import CHANNELS, Channel, Notification, SendResult
from alerting.errors import ConfigError
from alerting.incidents import Decision
from alerting.messages import cap_message, text
from alerting.referential import Referential
from alerting.signals import CERTAINTIES

DEFAULT_CHANNELS = Path(__file__).parent / "config" / "channels.yaml"
log = logging.getLogger(__name__)


@dataclass
class Audience:
    name: str
    scope: str
    min_priority: float
    min_certainty: str | None
    actions: set[str]
    channels: list[Channel] = field(default_factory=list)

    def wants(self, decision: Decision) -> bool:
        inc = decision.incident
        if decision.action not in self.actions or inc.priority < self.min_priority:
            return False
        if decision.action == "close":
            return bool(inc.cap_refs)
        return self.min_certainty is None or CERTAINTIES.index(inc.certainty) >= CERTAINTIES.index(self.min_certainty)


def load_audiences(lh, path: Path | str | None = None) -> list[Audience]:
    path = Path(path) if path else DEFAULT_CHANNELS
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(path, f"lecture impossible : {exc}") from None
    out = []
    for name, spec in (doc.get("audiences") or {}).items():
        if spec.get("scope", "Restricted") not in ("Public", "Restricted"):
            raise ConfigError(path, f"audience « {name} » : scope doit valoir Public ou Restricted")
        aud = Audience(
            name,
            spec.get("scope", "Restricted"),
            float(spec.get("min_priority", 0)),
            spec.get("min_certainty"),
            set(spec.get("actions") or ["new"]),
        )
        for i, ch in enumerate(spec.get("channels") or [], start=1):
            cls = CHANNELS.get(ch.get("type"))
            if cls is None:
                raise ConfigError(
                    path,
                    f"audience « {name} », canal n° {i} : type « {ch.get('type')} » inconnu "
                    f"(attendu : {', '.join(CHANNELS)})",
                )
            channel = cls(ch, lh, path)
            if channel.enabled:
                aud.channels.append(channel)
            else:
                log.info("canal %s de l'audience %s non configuré : ignoré", channel.name, name)
        out.append(aud)
    return out


class Dispatcher:
    def __init__(self, lh, ref: Referential, audiences: list[Audience], audit=None):
        self.lh, self.ref, self.audiences, self.audit = lh, ref, audiences, audit
        self.queue: queue.Queue = queue.Queue(maxsize=10_000)
        self.sent: list[dict] = []  # recent results (bounded), for the CLI and tests
        self.worker = threading.Thread(target=self._run, name="alert-dispatch", daemon=True)
        self.worker.start()

    def submit(self, decision: Decision, now: float | None = None) -> list[Notification]:
        now = now or time.time()
        notes = []
        for aud in self.audiences:
            if not aud.channels or not aud.wants(decision):
                continue
            inc = decision.incident
            identifier, xml = cap_message(inc, self.ref, decision.action, now, scope=aud.scope)
            subject, body = text(inc, decision.action)
            note = Notification(
                aud.name,
                decision.action,
                inc.incident_id,
                inc.priority,
                subject,
                body,
                identifier,
                xml,
                {"title": inc.title, "district_id": inc.district_id},
            )
            notes.append(note)
            for channel in aud.channels:
                self.queue.put((channel, note))
        return notes

    def _run(self) -> None:
        while True:
            channel, note = self.queue.get()
            try:
                result = channel.send(note)
            except Exception as exc:  # a broken gateway must not stop the worker; the failure is audited
                result = SendResult(False, f"erreur : {exc}")
            record = {
                "channel": channel.name,
                "channel_type": channel.kind,
                "audience": note.audience,
                "incident_id": note.incident_id,
                "action": note.action,
                "cap_identifier": note.cap_identifier,
                "priority": note.priority,
                "ok": result.ok,
                "detail": result.detail,
            }
            self.sent.append(record)
            del self.sent[:-1000]
            if self.audit is not None:
                try:
                    self.audit.append("alert.send", "hyperviseur-alerting", record)
                except Exception as exc:  # keep sending even if the audit store hiccups, but say so
                    log.error("audit de l'envoi impossible : %s", exc)
            self.queue.task_done()

    def flush(self, timeout: float = 30) -> None:
        end = time.time() + timeout
        while self.queue.unfinished_tasks and time.time() < end:
            time.sleep(0.01)
