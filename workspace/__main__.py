"""``python -m workspace --socket SOCK [--hote 127.0.0.1:8100] [--portail URL]``: serve the workspace.

It listens on a Unix socket only, in a private directory (mode 0700, socket 0600), so that
nothing but the sign-on gateway (``infra/sso/gateway.py --application workspace``) can reach it
and state who is signed on; the gateway publishes it on ``--hote``.
"""

from __future__ import annotations

import argparse
import sys
import threading

from lakehouse.errors import LakehouseError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m workspace", description=__doc__.split("\n\n")[0])
    ap.add_argument("--socket", required=True, help="socket Unix de l'espace (dossier privé, mode 0700)")
    ap.add_argument("--hote", default=None, help="adresse publique (celle de la passerelle) : Host et Origin attendus")
    ap.add_argument(
        "--portail", default=None, help="adresse du portail d'authentification (déconnexion, second facteur)"
    )
    args = ap.parse_args(argv)

    import uvicorn

    from lakehouse.platform import Lakehouse
    from lakehouse.settings import LOOPBACK, workspace_port
    from lakehouse.web_identity import bind_private_socket
    from workspace.app import create_app
    from workspace.depot_publish import local_superset
    from workspace.evidence import warm_up

    try:
        lh = Lakehouse.from_env()
        lh.storage.check()
        sock = bind_private_socket(args.socket)
    except LakehouseError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 1
    host = args.hote or f"{LOOPBACK}:{workspace_port()}"
    app = create_app(lh, host, args.portail, superset=local_superset)
    # Presidio (free-text redaction of the stewards' samples) loads in the background: the first
    # review page does not wait for the language model
    threading.Thread(target=warm_up, daemon=True).start()
    print(f"Espace de travail sur {args.socket}, publié par la passerelle sur http://{host}/", flush=True)
    config = uvicorn.Config(app, log_level="warning", proxy_headers=False, server_header=False, date_header=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
