"""`hyperviseur status`: is the control tower live? Services, lags, freshness of the marts, incidents.

Reads what each part already exposes: the PID files of ``infra/local/services.py`` (services
left up by ``make run``, run folder ``HYPERVISEUR_RUN_DIR``, default ``<data>/run``), the
``/readyz`` of the long-lived services (lag of the stream consumer and of the alert engine),
the Dagster instance (latest materialisation of each mart) and the incidents' snapshot.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

import click
from rich.table import Table

from orchestration.cli.common import console, french_errors, lakehouse

SERVICES_SCRIPT = Path(__file__).resolve().parents[2] / "infra" / "local" / "services.py"
HEALTH = {"stream": "stream_health_port", "engine": "engine_health_port", "simulator": "simulator_health_port"}
LABELS = {
    "sso": "Authentification unique",
    "dagster": "Dagster (interface)",
    "dagster-daemon": "Dagster (ordonnanceur)",
    "superset": "Superset",
    "portal": "Portail open data",
    "alerts": "Page des incidents",
    "workspace": "Espace de travail",
    "demo-broker": "Broker MQTT de démonstration",
    "stream": "Consommateur MQTT (micro-lots)",
    "engine": "Moteur d'alertes",
    "simulator": "Simulateur du territoire",
}


def _services(lh):
    os.environ.setdefault("HYPERVISEUR_RUN_DIR", str(lh.settings.data_dir / "run"))
    spec = importlib.util.spec_from_file_location("hv_local_services", SERVICES_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def readiness(port: int) -> tuple[str, dict]:
    """("prêt" | "pas prêt" | "injoignable", details of /readyz)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return "prêt", json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return "pas prêt", json.loads(exc.read() or b"{}")
    except (OSError, ValueError):
        return "injoignable", {}


def _lag(details: dict) -> str:
    if not details:
        return "—"
    parts = []
    if details.get("retard_s") is not None:
        parts.append(f"retard {details['retard_s']:g} s")
    if "file_attente" in details:
        parts.append(f"{details['file_attente']} en attente")
    if "messages" in details or "messages_publies" in details:
        parts.append(f"{details.get('messages', details.get('messages_publies'))} messages")
    return ", ".join(parts) or "—"


def _when(ts: float | None) -> str:
    if not ts:
        return "jamais"
    age = time.time() - ts
    age_text = f"{age / 60:.0f} min" if age < 7200 else f"{age / 3600:.1f} h"
    return f"{datetime.fromtimestamp(ts):%d/%m %H:%M} (il y a {age_text})"


def mart_names(lh) -> list[str]:
    """The marts of the dbt project (its manifest: no import of the quality suites)."""
    try:
        nodes = json.loads(Path(lh.settings.dbt_manifest).read_text(encoding="utf-8"))["nodes"].values()
    except (OSError, ValueError, KeyError):
        return []
    return sorted(n["name"] for n in nodes if n.get("resource_type") == "model" and n["name"].startswith("mart_"))


def mart_refreshes(lh) -> dict[str, float | None]:
    """Latest materialisation time of each mart in the local Dagster instance (none yet: never)."""
    names = mart_names(lh)
    if not (lh.settings.data_dir / "dagster" / "history").is_dir():  # no run yet: do not create an instance
        return dict.fromkeys(names)
    import dagster as dg

    from orchestration.cli.run import instance_for

    keys = [dg.AssetKey([m]) for m in names]
    events = instance_for(lh).get_latest_materialization_events(keys)
    return {key.path[-1]: (e.timestamp if (e := events.get(key)) else None) for key in keys}


@click.command(name="status")
@french_errors
def status() -> None:
    """État de la tour de contrôle : services, retards, fraîcheur des marts, incidents ouverts."""
    from alerting.feed import current_incidents
    from lakehouse.settings import LiveSettings

    lh = lakehouse()
    services = _services(lh)
    live = LiveSettings.from_env()
    table = Table(title="Services")
    for col in ("Service", "État", "Disponibilité", "Retard / activité"):
        table.add_column(col)
    for name in services.GROUPS["ui"]:
        up = services.is_up(name)
        ready, details = ("—", {})
        if name in HEALTH:
            ready, details = readiness(getattr(live, HEALTH[name]))
        table.add_row(
            LABELS.get(name, name),
            "[green]démarré[/]" if up else "[red]arrêté[/]",
            ready,
            _lag(details),
        )
    console.print(table)

    marts = Table(title="Fraîcheur des marts (dernière matérialisation Dagster)")
    marts.add_column("Mart")
    marts.add_column("Dernier rafraîchissement")
    for name, ts in mart_refreshes(lh).items():
        marts.add_row(name, _when(ts))
    console.print(marts)

    incidents = [i for i in current_incidents(lh) if i.status != "closed"]
    console.print(f"[bold]{len(incidents)} incident(s) ouvert(s)[/]")
    for inc in incidents[:10]:
        console.print(f"  • priorité {inc.priority:.0f} — {inc.title} ({inc.incident_id})")


@click.command(name="sonde")
@click.argument("port", type=int)
@click.argument("check", type=click.Choice(["healthz", "readyz"]), default="readyz")
def probe(port: int, check: str) -> None:
    """Sonde d'un service durable (Kubernetes, exec) : code 0 si 127.0.0.1:PORT/CHECK répond 200.

    Les services n'écoutent que sur la boucle locale ; la sonde s'exécute donc dans le conteneur."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{check}", timeout=5) as r:
            ok = r.status == 200
    except OSError as exc:  # HTTPError (503: pas prêt) included
        click.echo(f"{check} : {exc}", err=True)
        ok = False
    raise SystemExit(0 if ok else 1)
