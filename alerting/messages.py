"""What operators and the public read: the French text and the CAP 1.2 message of an incident."""

from __future__ import annotations

from alerting.cap import CapArea, build_alert, cap_time
from alerting.incidents import FAMILY_LABELS_FR, Incident
from alerting.referential import Referential
from lakehouse.settings import DEFAULT_CAP_SENDER, CapSettings

ACTION_FR = {
    "new": "Nouvel incident",
    "update": "Aggravation",
    "escalate": "Escalade (non pris en compte)",
    "clear": "Fin des signaux",
    "close": "Incident clos",
}
SEVERITY_FR = {"Extreme": "extrême", "Severe": "grave", "Moderate": "modérée", "Minor": "mineure"}
DEFAULT_SENDER = DEFAULT_CAP_SENDER


def sender(env=None) -> str:
    """CAP sender (``HYPERVISEUR_CAP_SENDER``) from ``env``, default: the process environment."""
    return CapSettings.from_env(env).sender


def lead_signal(inc: Incident) -> dict:
    active = [s for s in inc.signals.values() if s["active"]] or list(inc.signals.values())
    return max(active, key=lambda s: (s["origin"] == "regle", s["confidence"]))


def consequences_fr(inc: Incident, limit: int = 8) -> list[str]:
    out = [f"{c['label']} — {c['relation']}" for c in inc.impact.get("consequences", [])[:limit]]
    more = len(inc.impact.get("consequences", [])) - limit
    return out + ([f"… et {more} autre(s)"] if more > 0 else [])


def text(inc: Incident, action: str) -> tuple[str, str]:
    """Subject and body for SMS, e-mail, push, webhooks."""
    lead = lead_signal(inc)
    subject = f"[{ACTION_FR.get(action, action)}] P{inc.priority:.0f} {inc.title}"
    lines = [
        lead["headline_fr"],
        f"Gravité {SEVERITY_FR.get(inc.severity, inc.severity)}, confiance {inc.confidence:.0%}, "
        f"priorité {inc.priority:.0f}/100 ({FAMILY_LABELS_FR.get(inc.family, inc.family)}).",
    ]
    if inc.impact.get("population"):
        lines.append(f"Population exposée : environ {inc.impact['population']} habitants.")
    if inc.impact.get("sensitive_sites"):
        lines.append("Sites sensibles : " + ", ".join(inc.impact["sensitive_sites"]) + ".")
    cons = consequences_fr(inc)
    if cons:
        lines.append("Conséquences probables : " + " ; ".join(cons) + ".")
    if lead.get("instruction_fr"):
        lines.append("Consigne : " + lead["instruction_fr"])
    lines.append(f"Réf. {inc.incident_id}")
    return subject, "\n".join(lines)


def area(inc: Incident, ref: Referential) -> CapArea:
    if inc.entity_type == "commune" or not inc.district_id:
        districts = ref.entities.get("district", {})
        pts = [p for d in districts for p in (ref.polygon(d) or [])]
        if pts:
            lats, lons = [p[0] for p in pts], [p[1] for p in pts]
            box = [
                (min(lats), min(lons)),
                (min(lats), max(lons)),
                (max(lats), max(lons)),
                (max(lats), min(lons)),
                (min(lats), min(lons)),
            ]
            return CapArea("Commune de Val-de-Lys", polygon=box)
    pos = ref.position(inc.entity_type, inc.entity_id)
    district = ref.label("district", inc.district_id) if inc.district_id else "Commune"
    if inc.entity_type in ("district", "sector") and inc.district_id and ref.polygon(inc.district_id):
        return CapArea(f"Quartier {district}", polygon=ref.polygon(inc.district_id))
    if pos:
        return CapArea(
            f"{ref.label(inc.entity_type, inc.entity_id)}, quartier {district}", circle=(pos[0], pos[1], 0.5)
        )
    return CapArea(f"Quartier {district}", polygon=ref.polygon(inc.district_id) if inc.district_id else None)


def cap_message(
    inc: Incident, ref: Referential, action: str, now: float, scope: str = "Public", env=None
) -> tuple[str, bytes]:
    """CAP identifier and XML for this incident step; Update/Cancel reference the earlier messages.

    Sender and status come from the settings (``HYPERVISEUR_CAP_SENDER``, ``HYPERVISEUR_CAP_STATUS``)
    read from ``env``, default: the process environment."""
    cap = CapSettings.from_env(env)
    lead = lead_signal(inc)
    identifier = f"{inc.incident_id}-{inc.cap_sequence + 1}"
    msg_type = "Cancel" if action == "close" else ("Update" if inc.cap_refs else "Alert")
    _, body = text(inc, action)
    xml = build_alert(
        identifier=identifier,
        sender=cap.sender,
        sent=now,
        status=cap.status,
        msg_type=msg_type,
        scope=scope,
        restriction="Agents d'astreinte de la collectivité" if scope == "Restricted" else None,
        references=list(inc.cap_refs) if msg_type != "Alert" else None,
        event=lead["event_fr"] or inc.title,
        category=inc.category if inc.category else "Infra",
        urgency="Past" if action in ("close", "clear") else inc.urgency,
        severity=inc.severity,
        certainty=inc.certainty,
        headline=f"{ACTION_FR.get(action, action)} : {inc.title}",
        description=body,
        instruction=lead.get("instruction_fr") or "Suivez les consignes des services de la commune.",
        area=area(inc, ref),
        sender_name="Commune de Val-de-Lys — supervision Hyperviseur",
        expires=now + 6 * 3600 if action not in ("close",) else None,
        parameters={"priorite": f"{inc.priority:.0f}", "incident": inc.incident_id},
    )
    inc.cap_sequence += 1
    inc.cap_refs.append(f"{cap.sender},{identifier},{cap_time(now)}")
    del inc.cap_refs[:-20]
    return identifier, xml
