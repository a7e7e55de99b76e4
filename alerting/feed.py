"""The operators' view of open incidents: a rich table for the terminal and a French HTML page.

Both read the engine's snapshot in the lake and merge operators' actions not yet applied.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from rich.table import Table

from alerting.incidents import FAMILY_LABELS_FR, STATUS_FR, Incident, readable
from alerting.links import dashboard_url, lineage_url
from alerting.messages import consequences_fr, lead_signal
from alerting.priority import HIGH_PRIORITY, band
from alerting.store import AlertStore
from alerting.windows import LOCAL_TZ

TEMPLATES = Path(__file__).parent / "templates"


def current_incidents(lh) -> list[Incident]:
    """Incidents of the snapshot with pending operator actions applied (read-only)."""
    store = AlertStore(lh)
    state = store.load()
    incidents = {i.incident_id: i for i in readable(state.get("incidents", []))}
    for _, act in store.actions_after(state.get("last_action", "")):
        inc = incidents.get(act.get("incident_id"))
        if inc is None:
            continue
        if act["action"] == "ack" and inc.status == "open":
            inc.status, inc.acked_by, inc.acked_at = "acknowledged", act.get("actor"), act.get("ts")
            inc.acked_identity = act.get("identity")
        elif act["action"] == "close":
            inc.status, inc.closed_by, inc.closed_at = "closed", act.get("actor"), act.get("ts")
            inc.closed_identity = act.get("identity")
    return sorted(incidents.values(), key=lambda i: (i.status == "closed", -i.priority))


def when(ts) -> str:
    """Local day and time of an epoch time; "—" when absent, "date invalide" when no date holds it
    (a stored state may carry an absurd time: the view shows it, it does not crash on it)."""
    if ts is None or ts == "":
        return "—"
    try:
        return datetime.fromtimestamp(ts, LOCAL_TZ).strftime("%d/%m %H:%M")
    except (TypeError, ValueError, OverflowError, OSError):
        return "date invalide"


def table(incidents: list[Incident]) -> Table:
    t = Table(title="Incidents ouverts, par priorité", expand=True)
    for col in ("Priorité", "Incident", "Domaine", "Statut", "Ouvert", "Conséquences probables"):
        t.add_column(col)
    for inc in incidents:
        if inc.status == "closed":
            continue
        style = {"haute": "bold red", "moyenne": "yellow", "basse": ""}[band(inc.priority)]
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


def timeline(incidents: list[Incident], limit: int = 40) -> list[dict]:
    """The incidents' history (opening, escalation, acknowledgement, closing…), latest first."""
    events = []
    for inc in incidents:
        level = band(inc.priority)
        entries = inc.history or [{"ts": inc.opened_at, "evenement": "ouverture"}]
        for h in entries:
            events.append(
                {
                    "ts": h.get("ts"),
                    "id": inc.incident_id,
                    "title": inc.title,
                    "what": h.get("evenement", ""),
                    "band": level,
                }
            )
    events.sort(key=lambda e: e["ts"] if isinstance(e["ts"], int | float) else 0, reverse=True)
    return events[:limit]


def high_priority(incidents: list[Incident]) -> list[str]:
    """Ids of the open (not acknowledged) high-priority incidents: the page's audible cue."""
    return sorted(i.incident_id for i in incidents if i.status == "open" and i.priority >= HIGH_PRIORITY)


def version(incidents: list[Incident]) -> str:
    """A digest of what the page shows: it changes when an incident opens, moves or changes status."""
    text = "|".join(
        f"{i.incident_id}:{i.status}:{i.priority:.1f}:{i.updated_at}:{i.active}:{i.escalation_level}" for i in incidents
    )
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["when"] = when
    return env


def _context(incidents: list[Incident], settings=None) -> dict:
    from alerting.territory_map import territory_map

    rows = [
        {
            "inc": i,
            "lead": lead_signal(i),
            "consequences": consequences_fr(i, 12),
            "family": FAMILY_LABELS_FR.get(i.family, i.family),
            "status": STATUS_FR[i.status],
            "dashboard": dashboard_url(settings, i) if settings else None,
            "lineage": lineage_url(settings, i) if settings else None,
        }
        for i in incidents
    ]
    return {
        "rows": rows,
        "map": territory_map().render(incidents),
        "timeline": timeline(incidents),
        "high": high_priority(incidents),
        "version": version(incidents),
        "generated": datetime.now(LOCAL_TZ).strftime("%d/%m/%Y %H:%M:%S"),
    }


def render_fragment(incidents: list[Incident], *, csrf: str | None = None, settings=None) -> str:
    """The live part of the served page (map, timeline, table with its buttons), swapped in on each update."""
    return _environment().get_template("_vivant.html").render(actions=True, csrf=csrf, **_context(incidents, settings))


def render_page(
    incidents: list[Incident],
    *,
    actions: bool = False,
    csrf: str | None = None,
    user: dict | None = None,
    logout: str | None = None,
    live: bool = False,
    settings=None,
) -> str:
    """The French HTML page; with ``actions``, the buttons (forms carrying the ``csrf`` token) and
    the signed-on ``user`` (``sub``, ``name``, ``groups``) given by the served page; with ``live``,
    the script that follows the server-sent events (``/flux``) and swaps in ``/fragment``.
    ``settings`` (the platform's) give the links to Superset and Dagster."""
    return (
        _environment()
        .get_template("incidents.html")
        .render(actions=actions, csrf=csrf, user=user, logout=logout, live=live, **_context(incidents, settings))
    )
