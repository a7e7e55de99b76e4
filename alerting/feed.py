"""The operators' view of open incidents: a rich table for the terminal and a French HTML page.

Both read the engine's snapshot in the lake and merge operators' actions not yet applied.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from rich.table import Table

from alerting.incidents import FAMILY_LABELS_FR, STATUS_FR, Incident
from alerting.messages import consequences_fr, lead_signal
from alerting.store import AlertStore
from alerting.windows import LOCAL_TZ

TEMPLATES = Path(__file__).parent / "templates"


def current_incidents(lh) -> list[Incident]:
    """Incidents of the snapshot with pending operator actions applied (read-only)."""
    store = AlertStore(lh)
    state = store.load()
    incidents = {d["incident_id"]: Incident.from_dict(d) for d in state.get("incidents", [])}
    for _, act in store.actions_after(state.get("last_action", "")):
        inc = incidents.get(act.get("incident_id"))
        if inc is None:
            continue
        if act["action"] == "ack" and inc.status == "open":
            inc.status, inc.acked_by, inc.acked_at = "acknowledged", act.get("actor"), act.get("ts")
        elif act["action"] == "close":
            inc.status, inc.closed_by, inc.closed_at = "closed", act.get("actor"), act.get("ts")
    return sorted(incidents.values(), key=lambda i: (i.status == "closed", -i.priority))


def when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, LOCAL_TZ).strftime("%d/%m %H:%M") if ts else "—"


def table(incidents: list[Incident]) -> Table:
    t = Table(title="Incidents ouverts, par priorité", expand=True)
    for col in ("Priorité", "Incident", "Domaine", "Statut", "Ouvert", "Conséquences probables"):
        t.add_column(col)
    for inc in incidents:
        if inc.status == "closed":
            continue
        style = "bold red" if inc.priority >= 70 else ("yellow" if inc.priority >= 45 else "")
        status = (
            STATUS_FR[inc.status]
            + ("" if inc.active else " (signaux retombés)")
            + (f" — escalade {inc.escalation_level}" if inc.escalation_level else "")
        )
        t.add_row(
            f"{inc.priority:.0f}",
            f"{inc.title}\n{lead_signal(inc)['headline_fr']}\n[dim]{inc.incident_id}[/]",
            FAMILY_LABELS_FR.get(inc.family, inc.family),
            status,
            when(inc.opened_at),
            "\n".join(consequences_fr(inc, 4)) or "—",
            style=style,
        )
    return t


def render_page(incidents: list[Incident], *, actions: bool = False) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["when"] = when
    rows = [
        {
            "inc": i,
            "lead": lead_signal(i),
            "consequences": consequences_fr(i, 12),
            "family": FAMILY_LABELS_FR.get(i.family, i.family),
            "status": STATUS_FR[i.status],
        }
        for i in incidents
    ]
    return env.get_template("incidents.html").render(
        rows=rows, actions=actions, generated=datetime.now(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")
    )
