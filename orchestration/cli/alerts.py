"""`hyperviseur alerts …`: run the real-time supervision engine and work its incidents."""

from __future__ import annotations

import base64
import json
import os
import socketserver
import sys
import threading
import time
from html import escape as html_escape
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import click

from lakehouse.web_identity import (
    CSRF_REFUSAL,
    CsrfTokens,
    Identity,
    identity_from_headers,
    private_socket,
    request_refusal,
)
from orchestration.cli.common import actor_option, console, french_errors, lakehouse, simulated_now_option


@click.group()
def alerts() -> None:
    """Supervision en temps réel : moteur d'alertes, incidents, messages CAP."""


@alerts.command("engine")
@click.option("--duree", "duration", type=float, default=None, help="Arrêter après N secondes (défaut : sans fin).")
@click.option(
    "--racine", "root", default=None, help="Racine des sujets MQTT (défaut : HYPERVISEUR_MQTT_TOPIC_ROOT ou city)."
)
@click.option(
    "--id-client",
    "client_id",
    default=None,
    help="Identifiant MQTT fixe de la session persistante (défaut : HYPERVISEUR_ENGINE_CLIENT_ID "
    "ou hyperviseur-alerting) : les messages publiés pendant un arrêt sont traités au retour.",
)
@click.option(
    "--port-sante",
    "health_port",
    type=int,
    default=None,
    help="Port de /healthz et /readyz sur 127.0.0.1 (défaut : HYPERVISEUR_ENGINE_HEALTH_PORT ou 8092 ; 0 : libre).",
)
@simulated_now_option
@french_errors
def engine_cmd(
    duration: float | None, root: str | None, client_id: str | None, health_port: int | None, simulated_now
) -> None:
    """Écouter les flux MQTT et lever les alertes (consommateur indépendant de l'ingestion, service durable)."""
    import signal

    from alerting.engine import Engine
    from alerting.runner import MqttRunner
    from ingestion.stream.clock import SimulatedClock, wall_clock
    from ingestion.stream.health import HealthServer
    from lakehouse.audit import AuditLog
    from lakehouse.settings import LiveSettings

    lh = lakehouse()
    live = LiveSettings.from_env()
    clock = SimulatedClock(simulated_now) if simulated_now else wall_clock
    engine = Engine(lh, root=root, audit=AuditLog(lh), clock=clock)
    runner = MqttRunner(
        engine, lh.settings.mqtt_host, lh.settings.mqtt_port, client_id=client_id or live.engine_client_id
    )
    health = HealthServer(
        "moteur d'alertes",
        live.engine_health_port if health_port is None else health_port,
        lambda: _engine_health(runner),
    ).start()
    runner.start()
    console.print(
        f"Moteur d'alertes à l'écoute de {engine.root}/# sur {lh.settings.mqtt_host}:{lh.settings.mqtt_port} "
        f"(session persistante {runner.client_id}, santé sur 127.0.0.1:{health.port}) "
        f"({len(engine.rules)} règles, audiences : "
        f"{', '.join(f'{a.name} ({len(a.channels)} canaux)' for a in engine.dispatcher.audiences)})"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    start = time.time()
    try:
        while not stop.wait(0.5) and (duration is None or time.time() - start < duration):
            pass
    except KeyboardInterrupt:
        pass
    health.stop()
    runner.stop()
    engine.dispatcher.flush()
    queue = runner.stats
    console.print(
        f"{engine.stats['messages']} messages ({engine.stats['rejected']} refusé(s), "
        f"{engine.stats['out_of_window']} hors de la fenêtre de temps), {engine.stats['signals']} signaux, "
        f"{len(engine.manager.open_incidents())} incident(s) ouvert(s) ; file de réception : "
        f"pic {queue['peak']} message(s), {queue['full_waits']} attente(s) de place "
        f"({queue['full_wait_s']:.1f} s), {queue['dropped']} message(s) QoS 0 abandonné(s), "
        f"réception → décision p99 {queue['internal_p99_ms']} ms, {queue['errors']} erreur(s) d'évaluation."
    )


def _engine_health(runner) -> tuple[bool, dict]:
    """Ready while subscribed; the lag is the age of the latest evaluated event and the queue."""
    engine = runner.engine
    return runner.subscribed.is_set(), {
        "messages": engine.stats["messages"],
        "file_attente": len(runner.inbox),
        "dernier_evenement": engine.clock or None,
        "retard_s": round(time.time() - engine.clock, 1) if engine.clock else None,
        "incidents_ouverts": len(engine.manager.open_incidents()),
    }


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
    # On the command line, the only authenticated identity is the system account: it is the
    # audit record's actor, the declared --par name only a detail (fail closed without audit key).
    import getpass

    from lakehouse.audit import AuditLog

    account = getpass.getuser()
    AuditLog(lh).append(
        f"incident.{action}",
        account,
        {"incident_id": incident_id, "action": action, "par": actor, "interface": "ligne de commande"},
    )
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
@click.option(
    "--servir",
    "serve",
    is_flag=True,
    help="Servir la page (avec boutons) sur la socket Unix --socket, derrière la passerelle d'authentification.",
)
@click.option(
    "--socket",
    "socket_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Socket Unix de la page (dans un dossier privé, mode 0700, que seule la passerelle atteint).",
)
@click.option(
    "--hote",
    "public_host",
    default="127.0.0.1:8090",
    show_default=True,
    help="Adresse publique de la page (celle de la passerelle) : en-têtes Host et Origin attendus.",
)
@click.option("--portail", "portal", default=None, help="Adresse du portail d'authentification (lien de déconnexion).")
@french_errors
def page(out: Path | None, serve: bool, socket_path: Path | None, public_host: str, portal: str | None) -> None:
    """Page des incidents pour les opérateurs (HTML, en français).

    Servie (``--servir``), elle n'écoute que sur une socket Unix : on l'atteint par la passerelle
    d'authentification unique (infra/sso/gateway.py), qui lui transmet l'identité de l'agent
    connecté ; chaque action est inscrite au journal d'audit sous cette identité."""
    from alerting.feed import current_incidents, render_page

    lh = lakehouse()
    if not serve:
        html = render_page(current_incidents(lh))
        if out:
            out.write_text(html, encoding="utf-8")
            console.print(f"Page écrite : {out}")
        else:
            click.echo(html)
        return
    if socket_path is None:
        raise click.UsageError("--servir demande --socket (la page n'est servie que derrière la passerelle)")

    server = incidents_server(lh, socket_path, public_host, portal)
    console.print(
        f"Page des incidents sur {socket_path}, publiée par la passerelle sur http://{public_host}/ "
        "(Ctrl+C pour arrêter)"
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        thread.join()
    except KeyboardInterrupt:
        server.shutdown()
    finally:
        server.server_close()
        socket_path.unlink(missing_ok=True)


SSE_POLL_S = 1.0  # how often the event stream looks at the incidents
SSE_KEEPALIVE_S = 15.0  # a comment at least this often, so no proxy closes an idle stream
# Groups allowed to act on incidents (the gateway's rule "alerts" in infra/sso/idp.py, checked again here).
OPERATOR_GROUPS = ("Operator", "Admin")


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def server_bind(self) -> None:
        old = os.umask(0o177)  # the socket is created mode 0600
        try:
            super().server_bind()
        finally:
            os.umask(old)
        os.chmod(self.server_address, 0o600)


def incidents_server(lh, socket_path: Path, public_host: str = "127.0.0.1:8090", portal: str | None = None):
    """The incidents page over HTTP on the Unix socket ``socket_path``; not started.

    Only the sign-on gateway reaches the socket (private directory), and it sets the identity
    headers (see :mod:`lakehouse.web_identity`). Every request needs an identity in the groups
    Operator or Admin and ``Host: public_host``; a POST (``/acquitter/<id>``, ``/clore/<id>``)
    needs ``Origin: http://<public_host>`` and the form's CSRF token (HMAC, with a secret drawn
    at each start, of the user and of their LL::NG session's start), and closing needs the
    second factor (authentication level ≥ 5). Each action is appended to the audit log
    (``incident.ack`` / ``incident.close``, actor = the subject, with name and groups; no audit
    key: refused) and to the operators' actions with the same identity.

    Live (issue 17): ``/`` carries the map, the timeline and a script that follows ``/flux``
    (server-sent events: a ``data:`` line whenever the incidents change) and swaps in
    ``/fragment`` (the live part, same identity and CSRF token); both under the same checks.

    A body announced beyond ``max_http_body_bytes`` (``HYPERVISEUR_MAX_HTTP_BODY_BYTES``) is
    refused (413) unread, a body without a length (chunked) too (411)."""
    from urllib.parse import parse_qs

    from alerting.feed import current_incidents, high_priority, render_fragment, render_page, version
    from alerting.store import AlertStore
    from lakehouse.audit import AuditLog
    from lakehouse.errors import LakehouseError

    limit = lh.settings.limits.max_http_body_bytes
    origin = f"http://{public_host}"
    audit = AuditLog(lh)
    tokens = CsrfTokens()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Frame-Options", "DENY")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if body:
                self.wfile.write(body)

        def _refuse(self, status: int, reason: str) -> None:
            self.close_connection = True
            self._send(
                status, f"Requête refusée : {reason}\n".encode(), "text/plain; charset=utf-8", {"Connection": "close"}
            )

        def _step_up(self) -> None:
            """403, in French, with the portal's step-up link (second factor only, then back here)."""
            back = base64.b64encode(f"{origin}/".encode()).decode()
            link = (
                f'<p><a id="second-facteur" href="{html_escape(portal.rstrip("/"))}/upgradesession?url={back}">'
                "Se réauthentifier (mot de passe et code TOTP)</a>, puis recommencer.</p>"
                if portal
                else "<p>Se reconnecter au portail d'authentification avec son code TOTP, puis recommencer.</p>"
            )
            page = (
                '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Second facteur requis</title>'
                '</head><body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">'
                "<h1>Second facteur requis</h1><p>La clôture d'un incident (message CAP d'annulation diffusé au "
                "public) demande le second facteur (code TOTP) : votre session a été ouverte sans lui.</p>"
                f'{link}<p><a href="/">Retour à la page des incidents</a></p></body></html>'
            )
            self._send(403, page.encode(), "text/html; charset=utf-8")

        def _body(self) -> tuple[tuple[int, str] | None, bytes]:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                return (411, "corps sans longueur (Transfer-Encoding: chunked) non accepté"), b""
            raw = self.headers.get("Content-Length") or "0"
            if not raw.isdigit():
                return (400, f"Content-Length « {raw[:40]} » invalide"), b""
            if int(raw) > limit:
                return (
                    413,
                    f"corps de {raw} octets au-delà de la limite max_http_body_bytes = {limit} "
                    "(HYPERVISEUR_MAX_HTTP_BODY_BYTES)",
                ), b""
            return None, self.rfile.read(int(raw))

        def _who(self) -> Identity | None:
            """The identity, or None once a refusal is sent (no identity, wrong group or Host)."""
            who = identity_from_headers(self.headers)
            if who is None:
                self._refuse(401, "identité absente : la page s'ouvre par la passerelle d'authentification unique")
                return None
            refusal = request_refusal(self.command, self.headers, public_host)
            if refusal:
                self._refuse(*refusal)
                return None
            if not who.in_any(OPERATOR_GROUPS):
                self._refuse(403, "réservé aux opérateurs d'astreinte et aux administrateurs")
                return None
            return who

        def do_GET(self):
            who = self._who()
            if who is None:
                return
            path = self.path.split("?")[0]
            if path == "/flux":
                self._events()
                return
            if path == "/fragment":
                html = render_fragment(current_incidents(lh), csrf=tokens.token(who), settings=lh.settings)
                self._send(200, html.encode(), "text/html; charset=utf-8")
                return
            if path != "/":
                self._refuse(404, "page inconnue")
                return
            html = render_page(
                current_incidents(lh),
                actions=True,
                csrf=tokens.token(who),
                user=who.to_dict(),
                logout=f"{portal.rstrip('/')}/?logout=1" if portal else None,
                live=True,
                settings=lh.settings,
            )
            self._send(200, html.encode(), "text/html; charset=utf-8")

        def _events(self) -> None:
            """Server-sent events: one ``data:`` line (the page's version and its high-priority
            incidents) at once and whenever the incidents change; a comment keeps the connection
            alive through the gateway. Ends when the client goes away."""
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Accel-Buffering", "no")  # nginx (the gateway) passes each event on at once
            self.end_headers()
            last, quiet = None, 0.0
            try:
                while True:
                    incidents = current_incidents(lh)
                    current = version(incidents)
                    if current != last:
                        data = json.dumps({"version": current, "hautes": high_priority(incidents)})
                        self.wfile.write(f"data: {data}\n\n".encode())
                        last, quiet = current, 0.0
                    elif quiet >= SSE_KEEPALIVE_S:
                        self.wfile.write(b": en veille\n\n")
                        quiet = 0.0
                    self.wfile.flush()
                    time.sleep(SSE_POLL_S)
                    quiet += SSE_POLL_S
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def do_POST(self):
            refusal, body = self._body()
            if refusal:
                self._refuse(*refusal)
                return
            who = self._who()
            if who is None:
                return
            token = (parse_qs(body.decode("utf-8", "replace")).get("csrf") or [""])[0]
            if not tokens.valid(who, token):
                self._refuse(403, CSRF_REFUSAL)
                return
            parts = self.path.strip("/").split("/")
            known = {i.incident_id for i in current_incidents(lh)}
            if not (len(parts) == 2 and parts[0] in ("acquitter", "clore") and parts[1] in known):
                self._refuse(404, "action ou incident inconnu")
                return
            action = "ack" if parts[0] == "acquitter" else "close"
            if action == "close" and not who.second_factor:
                self._step_up()
                return
            identity = who.to_dict()
            try:  # fail closed: no action without its audit record
                audit.append(
                    f"incident.{action}",
                    who.subject,
                    {"incident_id": parts[1], "action": action, **identity, "interface": "page des opérateurs"},
                )
            except LakehouseError as exc:
                self._refuse(503, f"journal d'audit indisponible, action non enregistrée ({exc})")
                return
            AlertStore(lh).add_action(parts[1], action, who.subject, identity=identity)
            self._send(303, b"", "text/plain; charset=utf-8", {"Location": "/"})

        def log_message(self, *args):
            pass

    return _UnixHTTPServer(str(private_socket(socket_path)), Handler)


@alerts.command("cap-validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def cap_validate(files: tuple[Path, ...]) -> None:
    """Vérifier des messages CAP entrants (schéma OASIS, règles CAP, XML durci)."""
    from alerting.cap import parse_cap
    from alerting.errors import AlertingError, CapRejected
    from lakehouse.settings import LimitsSettings

    limits = LimitsSettings.from_env()
    bad = 0
    for path in files:
        try:
            with open(path, "rb") as f:  # never more than the limit + 1 byte: enough to refuse
                data = f.read(limits.max_message_bytes + 1)
            msg = parse_cap(data, str(path), limits)
            console.print(f"[green]accepté[/] {path} (CAP {msg.version}, {msg.identifier})", highlight=False)
        except CapRejected as exc:
            bad += 1
            console.print(f"[red]rejeté[/]  {path} : {exc.reason}", highlight=False)
        except AlertingError as exc:
            click.secho(f"Erreur : {exc}", fg="red", err=True)
            sys.exit(2)
    sys.exit(1 if bad else 0)
