"""`hyperviseur alerts …`: run the real-time supervision engine and work its incidents."""

from __future__ import annotations

import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click

from orchestration.cli.common import actor_option, console, french_errors, lakehouse


@click.group()
def alerts() -> None:
    """Supervision en temps réel : moteur d'alertes, incidents, messages CAP."""


@alerts.command("engine")
@click.option("--duree", "duration", type=float, default=None, help="Arrêter après N secondes (défaut : sans fin).")
@click.option(
    "--racine", "root", default=None, help="Racine des sujets MQTT (défaut : HYPERVISEUR_MQTT_TOPIC_ROOT ou city)."
)
@french_errors
def engine_cmd(duration: float | None, root: str | None) -> None:
    """Écouter les flux MQTT et lever les alertes (consommateur indépendant de l'ingestion)."""
    from alerting.engine import Engine
    from alerting.runner import MqttRunner
    from lakehouse.audit import AuditLog

    lh = lakehouse()
    engine = Engine(lh, root=root, audit=AuditLog(lh))
    runner = MqttRunner(engine, lh.settings.mqtt_host, lh.settings.mqtt_port).start()
    console.print(
        f"Moteur d'alertes à l'écoute de {engine.root}/# sur {lh.settings.mqtt_host}:{lh.settings.mqtt_port} "
        f"({len(engine.rules)} règles, audiences : "
        f"{', '.join(f'{a.name} ({len(a.channels)} canaux)' for a in engine.dispatcher.audiences)})"
    )
    start = time.time()
    try:
        while duration is None or time.time() - start < duration:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    runner.stop()
    engine.dispatcher.flush()
    queue = runner.stats
    console.print(
        f"{engine.stats['messages']} messages, {engine.stats['signals']} signaux, "
        f"{len(engine.manager.open_incidents())} incident(s) ouvert(s) ; file de réception : "
        f"pic {queue['peak']} message(s), {queue['full_waits']} attente(s) de place "
        f"({queue['full_wait_s']:.1f} s), réception → décision p99 {queue['internal_p99_ms']} ms, "
        f"{queue['errors']} erreur(s) d'évaluation."
    )


@alerts.command("watch")
@click.option("--une-fois", "once", is_flag=True, help="Afficher une seule fois puis quitter.")
@click.option("--intervalle", "interval", type=float, default=2.0, show_default=True)
@french_errors
def watch(once: bool, interval: float) -> None:
    """Suivre en direct les incidents ouverts, par priorité."""
    from rich.live import Live

    from alerting.feed import current_incidents, table

    lh = lakehouse()
    if once:
        console.print(table(current_incidents(lh)))
        return
    with Live(table(current_incidents(lh)), console=console, refresh_per_second=1) as live:
        try:
            while True:
                time.sleep(interval)
                live.update(table(current_incidents(lh)))
        except KeyboardInterrupt:
            pass


def _action(incident_id: str, action: str, actor: str) -> None:
    from alerting.feed import current_incidents
    from alerting.store import AlertStore

    lh = lakehouse()
    if incident_id not in {i.incident_id for i in current_incidents(lh)}:
        click.secho(f"Erreur : incident « {incident_id} » inconnu", fg="red", err=True)
        sys.exit(1)
    AlertStore(lh).add_action(incident_id, action, actor)


@alerts.command("ack")
@click.argument("incident_id")
@actor_option("Agent qui prend l'incident en compte.")
@french_errors
def ack(incident_id: str, actor: str) -> None:
    """Prendre en compte un incident (arrête l'escalade)."""
    _action(incident_id, "ack", actor)
    console.print(f"Incident {incident_id} pris en compte par {actor}.")


@alerts.command("close")
@click.argument("incident_id")
@actor_option("Agent qui clôt l'incident.")
@french_errors
def close(incident_id: str, actor: str) -> None:
    """Clore un incident (un message CAP d'annulation est diffusé)."""
    _action(incident_id, "close", actor)
    console.print(f"Incident {incident_id} clos par {actor}.")


@alerts.command("page")
@click.option(
    "--sortie", "out", type=click.Path(path_type=Path), default=None, help="Écrire la page HTML dans ce fichier."
)
@click.option("--servir", "serve", is_flag=True, help="Servir la page (avec boutons) sur 127.0.0.1.")
@click.option("--port", type=int, default=8090, show_default=True)
@actor_option("Agent inscrit pour les actions faites depuis la page.")
@french_errors
def page(out: Path | None, serve: bool, port: int, actor: str) -> None:
    """Page des incidents pour les opérateurs (HTML, en français)."""
    from alerting.feed import current_incidents, render_page
    from alerting.store import AlertStore

    lh = lakehouse()
    if not serve:
        html = render_page(current_incidents(lh))
        if out:
            out.write_text(html, encoding="utf-8")
            console.print(f"Page écrite : {out}")
        else:
            click.echo(html)
        return

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = render_page(current_incidents(lh), actions=True).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            parts = self.path.strip("/").split("/")
            known = {i.incident_id for i in current_incidents(lh)}
            if len(parts) == 2 and parts[0] in ("acquitter", "clore") and parts[1] in known:
                AlertStore(lh).add_action(parts[1], "ack" if parts[0] == "acquitter" else "close", actor)
                self.send_response(303)
                self.send_header("Location", "/")
            else:
                self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    console.print(f"Page des incidents : http://127.0.0.1:{port}/ (Ctrl+C pour arrêter)")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        thread.join()
    except KeyboardInterrupt:
        server.shutdown()


@alerts.command("cap-validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def cap_validate(files: tuple[Path, ...]) -> None:
    """Vérifier des messages CAP entrants (schéma OASIS, règles CAP, XML durci)."""
    from alerting.cap import parse_cap
    from alerting.errors import AlertingError, CapRejected

    bad = 0
    for path in files:
        try:
            msg = parse_cap(path.read_bytes(), str(path))
            console.print(f"[green]accepté[/] {path} (CAP {msg.version}, {msg.identifier})", highlight=False)
        except CapRejected as exc:
            bad += 1
            console.print(f"[red]rejeté[/]  {path} : {exc.reason}", highlight=False)
        except AlertingError as exc:
            click.secho(f"Erreur : {exc}", fg="red", err=True)
            sys.exit(2)
    sys.exit(1 if bad else 0)
