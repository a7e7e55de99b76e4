"""Incidents: deduplicated, grouped signals with a priority, an owner's acknowledgement and escalation.

A raised signal joins an open incident when it concerns the same hazard family in the
same district, or an asset the incident's consequence chain reaches; otherwise it opens
a new incident. A signal already active in an incident only refreshes it (deduplication).
Times are event times of the stream (the engine's clock), so replays behave like live runs.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import asdict, dataclass, field

from alerting.graph import ConsequenceGraph
from alerting.priority import components, score
from alerting.signals import SEVERITIES, URGENCIES, Signal

FAMILIES = {
    "leak": "eau",
    "water": "eau",
    "pollution": "air",
    "traffic": "circulation",
    "lighting": "eclairage",
    "signalements": "signalements",
    "signal_faible": "signalements",
    "energy": "energie",
    "weather": "meteo",
}
FAMILY_LABELS_FR = {
    "eau": "Réseau d'eau",
    "air": "Qualité de l'air",
    "circulation": "Circulation",
    "eclairage": "Éclairage public",
    "signalements": "Signalements et signaux faibles",
    "energie": "Énergie des bâtiments",
    "meteo": "Météo",
    "autre": "Autre",
}
STATUS_FR = {"open": "ouvert", "acknowledged": "pris en compte", "closed": "clos"}
GROUP_WINDOW_S = 6 * 3600
MAX_HISTORY = 50
log = logging.getLogger(__name__)


@dataclass
class Incident:
    incident_id: str
    family: str
    district_id: str | None
    entity_type: str
    entity_id: str
    title: str
    opened_at: float
    updated_at: float
    status: str = "open"
    active: bool = True
    severity: str = "Minor"
    urgency: str = "Future"
    certainty: str = "Possible"
    category: str = "Infra"
    confidence: float = 0.0
    priority: float = 0.0
    priority_parts: dict = field(default_factory=dict)
    impact: dict = field(default_factory=dict)
    signals: dict = field(default_factory=dict)  # signal key -> summary
    escalation_level: int = 0
    last_escalated_at: float | None = None
    acked_by: str | None = None  # subject (login) of the signed-on user, or the CLI's --par
    acked_at: float | None = None
    closed_by: str | None = None
    closed_at: float | None = None
    # the signed-on user of the operators' page: {"sub", "name", "groups", "auth_level"}
    acked_identity: dict | None = None
    closed_identity: dict | None = None
    cap_sequence: int = 0
    cap_refs: list = field(default_factory=list)  # "sender,identifier,sent" of messages already sent
    history: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Incident:
        return cls(**d)

    def log(self, ts: float, what: str, by: dict | None = None) -> None:
        entry = {"ts": ts, "evenement": what}
        if by:
            entry["par"] = by
        self.history.append(entry)
        del self.history[:-MAX_HISTORY]


def readable(items: list) -> list[Incident]:
    """The incidents of a stored snapshot; a record that is not an incident is skipped, with a warning."""
    out = []
    for d in items:
        try:
            out.append(Incident.from_dict(d))
        except TypeError as exc:
            log.warning("incident illisible dans l'état enregistré, ignoré : %s", exc)
    return out


@dataclass
class Decision:
    action: str  # "new" | "update" | "clear" | "escalate" | "close"
    incident: Incident
    decided_at: float = field(default_factory=time.time)  # wall clock, for end-to-end latency accounting


def _who(actor: str, identity: dict | None) -> str:
    """For a signed-on user "Claire Dubois (astreinte ; Agent_eau, Operator)", else the actor."""
    if not identity:
        return actor
    return f"{identity.get('name') or actor} ({actor} ; {', '.join(identity.get('groups') or [])})"


class IncidentManager:
    def __init__(self, graph: ConsequenceGraph, escalate_after_s: dict | None = None):
        self.graph = graph
        self.incidents: dict[str, Incident] = {}
        self.by_signal: dict[str, str] = {}  # active signal key -> incident id
        # not acknowledged after this long (by priority band) → escalate, then again each period
        self.escalate_after_s = escalate_after_s or {70: 15 * 60, 40: 60 * 60, 0: 4 * 3600}
        self.dirty = False

    # -- state ---------------------------------------------------------------------------
    def load(self, items: list[dict]) -> None:
        for inc in readable(items):
            self.incidents[inc.incident_id] = inc
            if inc.status != "closed":
                for key, s in inc.signals.items():
                    if s.get("active"):
                        self.by_signal[key] = inc.incident_id

    def open_incidents(self) -> list[Incident]:
        return sorted((i for i in self.incidents.values() if i.status != "closed"), key=lambda i: -i.priority)

    # -- signals -------------------------------------------------------------------------
    def apply(self, sig: Signal) -> Decision | None:
        if sig.state == "clear":
            return self._clear(sig)
        inc_id = self.by_signal.get(sig.key)
        if inc_id and inc_id in self.incidents and self.incidents[inc_id].status != "closed":
            inc = self.incidents[inc_id]
            inc.signals[sig.key].update(last_ts=sig.ts, value=sig.value)
            before = inc.severity
            self._refresh(inc, sig.ts)
            return Decision("update", inc) if inc.severity != before else None
        inc = self._find_group(sig)
        action = "update"
        if inc is None:
            action = "new"
            inc = self._new(sig)
        inc.signals[sig.key] = {
            "source": sig.source,
            "origin": sig.origin,
            "hazard": sig.hazard,
            "entity": f"{sig.entity_type}:{sig.entity_id}",
            "first_ts": sig.ts,
            "last_ts": sig.ts,
            "active": True,
            "severity": sig.severity,
            "urgency": sig.urgency,
            "certainty": sig.certainty,
            "category": sig.category,
            "confidence": sig.confidence,
            "value": sig.value,
            "threshold": sig.threshold,
            "event_fr": sig.event_fr,
            "headline_fr": sig.headline_fr,
            "instruction_fr": sig.instruction_fr,
            "details": sig.details,
        }
        self.by_signal[sig.key] = inc.incident_id
        inc.active = True
        inc.log(sig.ts, f"signal {sig.origin} : {sig.headline_fr}")
        self._refresh(inc, sig.ts)
        return Decision(action, inc)

    def _clear(self, sig: Signal) -> Decision | None:
        inc_id = self.by_signal.pop(sig.key, None)
        inc = self.incidents.get(inc_id) if inc_id else None
        if inc is None or sig.key not in inc.signals:
            return None
        inc.signals[sig.key].update(active=False, cleared_ts=sig.ts)
        inc.log(sig.ts, f"fin du signal {sig.source}")
        self.dirty = True
        if not any(s["active"] for s in inc.signals.values()):
            inc.active = False
            inc.updated_at = sig.ts
            return Decision("clear", inc)
        return None

    def _find_group(self, sig: Signal) -> Incident | None:
        family = FAMILIES.get(sig.hazard, "autre")
        node = f"{sig.entity_type}:{sig.entity_id}"
        best = None
        for inc in self.incidents.values():
            if inc.status == "closed" or sig.ts - inc.updated_at > GROUP_WINDOW_S:
                continue
            same_place = inc.family == family and (
                inc.district_id == sig.district_id or f"{inc.entity_type}:{inc.entity_id}" == node
            )
            linked = any(c["node"] == node for c in inc.impact.get("consequences", []))
            if (same_place or linked) and (best is None or inc.priority > best.priority):
                best = inc
        return best

    def _new(self, sig: Signal) -> Incident:
        family = FAMILIES.get(sig.hazard, "autre")
        inc = Incident(
            incident_id=f"INC-{uuid.uuid4().hex[:10]}",
            family=family,
            district_id=sig.district_id,
            entity_type=sig.entity_type,
            entity_id=sig.entity_id,
            title=f"{sig.event_fr} — {self.graph.ref.label(sig.entity_type, sig.entity_id)}",
            opened_at=sig.ts,
            updated_at=sig.ts,
        )
        inc.impact = self.graph.impact(sig.entity_type, sig.entity_id).to_dict()
        self.incidents[inc.incident_id] = inc
        return inc

    def _refresh(self, inc: Incident, ts: float) -> None:
        sigs = [s for s in inc.signals.values() if s["active"]] or list(inc.signals.values())
        inc.severity = max((s["severity"] for s in sigs), key=SEVERITIES.index, default="Minor")
        inc.urgency = max((s["urgency"] for s in sigs), key=URGENCIES.index, default="Future")
        lead = max(sigs, key=lambda s: (SEVERITIES.index(s["severity"]), s["confidence"]))
        inc.certainty, inc.category = lead["certainty"], lead["category"]
        miss = 1.0
        for s in sigs:  # independent pieces of evidence reinforce each other
            miss *= 1.0 - s["confidence"]
        inc.confidence = round(1.0 - miss, 3)
        inc.updated_at = max(inc.updated_at, ts)
        parts = components(
            inc.severity,
            inc.confidence,
            int(inc.impact.get("population", 0)),
            len(inc.impact.get("sensitive_sites", [])),
            inc.urgency,
            inc.updated_at - inc.opened_at,
        )
        inc.priority_parts = {k: round(v, 3) for k, v in parts.items()}
        inc.priority = score(parts)
        self.dirty = True

    # -- operators and time ----------------------------------------------------------------
    def acknowledge(self, incident_id: str, actor: str, ts: float, identity: dict | None = None) -> Incident:
        """``identity``: the signed-on user ({"sub", "name", "groups", …}) when the action comes
        from the operators' page; kept on the incident and in its history."""
        inc = self._get(incident_id)
        if inc.status == "open":
            inc.status, inc.acked_by, inc.acked_at = "acknowledged", actor, ts
            inc.acked_identity = identity
            inc.log(ts, f"pris en compte par {_who(actor, identity)}", identity)
            self.dirty = True
        return inc

    def close(self, incident_id: str, actor: str, ts: float, identity: dict | None = None) -> Decision:
        inc = self._get(incident_id)
        if inc.status != "closed":
            inc.status, inc.closed_by, inc.closed_at = "closed", actor, ts
            inc.closed_identity = identity
            inc.log(ts, f"clos par {_who(actor, identity)}", identity)
            for key in list(inc.signals):
                if self.by_signal.get(key) == incident_id:
                    del self.by_signal[key]
            self.dirty = True
        return Decision("close", inc)

    def _get(self, incident_id: str) -> Incident:
        inc = self.incidents.get(incident_id)
        if inc is None:
            from alerting.errors import AlertingError

            raise AlertingError(f"incident « {incident_id} » inconnu")
        return inc

    def tick(self, now: float) -> list[Decision]:
        """Escalate incidents nobody acknowledged in time (by priority band)."""
        out = []
        for inc in self.incidents.values():
            if inc.status != "open" or not inc.active:
                continue
            delay = next(v for k, v in sorted(self.escalate_after_s.items(), reverse=True) if inc.priority >= k)
            since = inc.last_escalated_at if inc.last_escalated_at is not None else inc.opened_at
            if now - since >= delay:
                inc.escalation_level += 1
                inc.last_escalated_at = now
                inc.log(now, f"escalade niveau {inc.escalation_level} (non pris en compte)")
                self.dirty = True
                out.append(Decision("escalate", inc))
        return out

    def prune(self, keep_closed: int = 500) -> None:
        """Bound memory: keep only the most recent closed incidents."""
        closed = sorted((i for i in self.incidents.values() if i.status == "closed"), key=lambda i: i.closed_at or 0)
        for inc in closed[:-keep_closed] if len(closed) > keep_closed else []:
            del self.incidents[inc.incident_id]
