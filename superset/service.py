"""Install-free launcher for Superset: init, start, stop, status.

Runs in the core venv and drives the separate ``.venv-superset`` through subprocesses
(Superset pins libraries the platform cannot share). Each data directory gets its own
Superset home ``<data_dir>/superset`` (metadata DB, secrets, PID and log files), so tests
can run their own instance on another port next to the main one.

    python superset/service.py init|start|stop|status
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from lakehouse.errors import LakehouseError
from lakehouse.settings import Settings, read_secret, superset_s3_credentials

ROOT = Path(__file__).resolve().parents[1]
CONFIG = Path(__file__).resolve().parent / "superset_config.py"
# The break-glass administrator: the only password (database) login left, for the REST API
# (provisioning, harvest); people sign on through the identity provider (issue 14). Not a
# directory login, so no one signs on as it through the provider.
ADMIN_USER = "secours"
OIDC_CLIENT_ID = "superset"  # Superset's client id at the provider (infra/sso/idp.py CLIENTS)
# Resource limits of Superset's DuckDB queries (read by superset_config.py / sql_guard.py):
# memory and threads per serving catalog, wall-clock seconds per statement.
QUERY_LIMITS = {
    "HYPERVISEUR_SUPERSET_MEMORY_LIMIT": "1GB",
    "HYPERVISEUR_SUPERSET_THREADS_PER_QUERY": "2",
    "HYPERVISEUR_SUPERSET_STATEMENT_TIMEOUT_S": "30",
}

# gunicorn's worker model (gthread): processes × threads per process, measured on 2 cores with
# benchmarks/bench_superset.py --workers/--threads (issue 20, 10 M readings): 4 × 4 was within
# the machine's noise of 2 × 8 (20 loads warm p95 2.7 s vs 3.2 s, 50 loads 7.9 s vs 7.3 s) for
# twice the memory (≈ 350 MB per process), so 2 × 8 stays. HYPERVISEUR_SUPERSET_WORKERS /
# _THREADS override.
WORKERS = "2"
THREADS = "8"
# Seconds an idle kept-alive connection stays open: gunicorn's own 2 s, on purpose. A connection
# stays with the worker process that accepted it, and here browsers talk to gunicorn directly:
# with 75 s, after 50 simultaneous loads one worker held 117 connections and the other 66, and
# the next 20 loads used 0.88 s of CPU in one and 0.10 s in the other (p95 0.75–0.80 s, against
# 0.44–0.59 s with 2 s). Short, connections are accepted again at each burst by whichever process
# is free. Capping each process's connections instead (``--worker-connections`` 16 or 32, so a
# burst is shared evenly) measured worse: idle connections (kept alive, or opened before their
# request) hold the places until their 2 s end, new ones wait behind them, and loads stalled 2 to
# 4 s (20 loads of agents who opened them before, p95 median of four runs: 2.18 s with 16,
# against 0.18 s uncapped).
# The price is a race at expiry (a request sent as the worker closes): browsers and
# ``client.SupersetClient`` send it again. Behind the Kubernetes ingress (one worker per pod) the
# Helm values keep connections longer than the ingress does.
KEEPALIVE_S = "2"


class SupersetError(LakehouseError):
    """Superset could not be installed, initialised, started or reached."""


@dataclass(frozen=True)
class Instance:
    """One Superset instance: where it lives and where it listens."""

    settings: Settings
    env: dict

    @classmethod
    def from_env(cls, env: dict | None = None) -> Instance:
        source = dict(os.environ if env is None else env)
        return cls(Settings.from_env(source), source)

    @property
    def home(self) -> Path:
        return self.settings.data_dir / "superset"

    @property
    def venv(self) -> Path:
        return Path(self.env.get("HYPERVISEUR_SUPERSET_VENV", ROOT / ".venv-superset"))

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.superset_port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "superset.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "superset.log"

    @property
    def admin_user(self) -> str:
        return self.env.get("HYPERVISEUR_SUPERSET_ADMIN_USER", ADMIN_USER)

    @property
    def admin_password(self) -> str:
        return self.env.get("HYPERVISEUR_SUPERSET_ADMIN_PASSWORD") or _read_secret(self.home / "admin_password")

    @property
    def sign_on(self) -> dict[str, str]:
        """Superset's OpenID Connect client: the provider's issuer, client id and secret.

        Explicit settings first (production: the authority's provider, the secret as
        ``HYPERVISEUR_SUPERSET_OIDC_CLIENT_SECRET_FILE``); what is missing is taken from the local
        provider of ``HYPERVISEUR_SSO_RUN_DIR`` (infra/sso/idp.py: ``state.json``,
        ``accounts.json``). Nothing found: refused, never a fall-back to password login.
        """
        client_id = self.env.get("HYPERVISEUR_SUPERSET_OIDC_CLIENT_ID") or OIDC_CLIENT_ID
        issuer = self.env.get("HYPERVISEUR_SSO_ISSUER")
        secret = read_secret("HYPERVISEUR_SUPERSET_OIDC_CLIENT_SECRET", self.env)
        run_dir = self.env.get("HYPERVISEUR_SSO_RUN_DIR")
        if run_dir and not (issuer and secret):
            state, accounts = Path(run_dir) / "state.json", Path(run_dir) / "accounts.json"
            try:
                issuer = issuer or json.loads(state.read_text(encoding="utf-8"))["issuer"]
                secret = (
                    secret or json.loads(accounts.read_text(encoding="utf-8"))["clients"][client_id]["client_secret"]
                )
            except (OSError, ValueError, KeyError) as exc:
                raise SupersetError(
                    f"fournisseur d'identité local illisible dans {run_dir} ({exc}) : le démarrer avec "
                    "« python infra/sso/idp.py start »"
                ) from None
        if not issuer or not secret:
            raise SupersetError(
                "authentification unique de Superset non configurée : définir HYPERVISEUR_SSO_ISSUER et "
                "HYPERVISEUR_SUPERSET_OIDC_CLIENT_SECRET (ou HYPERVISEUR_SUPERSET_OIDC_CLIENT_SECRET_FILE), "
                "ou HYPERVISEUR_SSO_RUN_DIR (fournisseur local infra/sso/idp.py) ; Superset ne démarre pas "
                "avec sa seule base de mots de passe"
            )
        return {"issuer": issuer, "client_id": client_id, "client_secret": secret}

    def bin(self, name: str) -> Path:
        path = self.venv / "bin" / name
        if not path.exists():
            raise SupersetError(
                f"{path} introuvable : l'environnement Superset n'est pas installé (lancer « make superset-venv »)"
            )
        return path

    def child_env(self) -> dict:
        """Environment of the Superset processes: only what superset_config.py reads.

        Never the platform's read-write S3 key: on an S3 lake Superset gets its own READ-ONLY
        key (``HYPERVISEUR_SUPERSET_S3_ACCESS_KEY``/``_SECRET_KEY`` or ``_FILE``), and the
        serving catalogs (``settings.serving_dir``) are what it opens.
        """
        dropped = ("HYPERVISEUR_S3_", "HYPERVISEUR_SUPERSET_S3_", "HYPERVISEUR_SUPERSET_OIDC_", "PYTHON")
        env = {k: v for k, v in self.env.items() if not k.startswith(dropped)}
        s3 = self.settings.s3
        sign_on = self.sign_on
        readonly = superset_s3_credentials(self.env) if s3 else None
        if s3 and readonly is None:
            raise SupersetError(
                "lac S3 : Superset lit le lac avec une clé en LECTURE SEULE, à définir dans "
                "HYPERVISEUR_SUPERSET_S3_ACCESS_KEY et HYPERVISEUR_SUPERSET_S3_SECRET_KEY (ou leurs variantes _FILE)"
            )
        env.update(
            SUPERSET_CONFIG_PATH=str(CONFIG),
            SUPERSET_HOME=str(self.home),
            HYPERVISEUR_SUPERSET_HOME=str(self.home),
            HYPERVISEUR_SUPERSET_LAKE_URL=self.settings.lake_url,
            HYPERVISEUR_SUPERSET_DUCKDB_EXTENSIONS="httpfs" if s3 else "",
            HYPERVISEUR_SUPERSET_S3=json.dumps(
                {
                    "key_id": readonly[0],
                    "secret": readonly[1],
                    "region": s3.region,
                    "endpoint": s3.host_port,
                    "use_ssl": s3.secure,
                }
                if s3
                else None
            ),
            FLASK_APP="superset",
            HYPERVISEUR_SUPERSET_ADMIN_USER=self.admin_user,
            HYPERVISEUR_SSO_ISSUER=sign_on["issuer"],
            HYPERVISEUR_SUPERSET_OIDC_CLIENT_ID=sign_on["client_id"],
            HYPERVISEUR_SUPERSET_OIDC_CLIENT_SECRET=sign_on["client_secret"],
        )
        env.update({name: self.env.get(name, default) for name, default in QUERY_LIMITS.items()})
        return env


def _read_secret(path: Path) -> str:
    if not path.is_file():
        raise SupersetError(f"secret absent : {path} (lancer « hyperviseur superset init »)")
    return path.read_text(encoding="utf-8").strip()


def _ensure_secret(path: Path, nbytes: int) -> None:
    """Generate a secret once, readable by its owner only; never overwrite it."""
    if path.exists():
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_urlsafe(nbytes) + "\n")


def _superset(inst: Instance, *args: str) -> None:
    proc = subprocess.run(
        [str(inst.bin("superset")), *args],
        cwd=inst.home,
        env=inst.child_env(),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise SupersetError(f"« superset {' '.join(args[:2])} » a échoué (code {proc.returncode}) :\n{tail}")


def init(inst: Instance) -> None:
    """Create secrets, migrate the metadata DB, create the admin and default roles. Idempotent."""
    inst.home.mkdir(parents=True, exist_ok=True)
    if not inst.env.get("HYPERVISEUR_SUPERSET_SECRET_KEY"):
        _ensure_secret(inst.home / "secret_key", 48)
    if not inst.env.get("HYPERVISEUR_SUPERSET_ADMIN_PASSWORD"):
        _ensure_secret(inst.home / "admin_password", 18)
    _superset(inst, "db", "upgrade")
    _superset(
        inst,
        "fab",
        "create-admin",
        "--username",
        inst.admin_user,
        "--firstname",
        "Admin",
        "--lastname",
        "Hyperviseur",
        "--email",
        f"{inst.admin_user}@hyperviseur.invalid",
        "--password",
        inst.admin_password,
    )
    _superset(inst, "fab", "reset-password", "--username", inst.admin_user, "--password", inst.admin_password)
    _superset(inst, "init")
    (inst.home / "initialised").write_text(inst.admin_user + "\n", encoding="utf-8")


def initialised(inst: Instance) -> bool:
    """``init`` has run for this home and its break-glass administrator (a changed name: again)."""
    marker = inst.home / "initialised"
    return marker.exists() and marker.read_text(encoding="utf-8").strip() == inst.admin_user


def running_pid(inst: Instance) -> int | None:
    try:
        pid = int(inst.pid_file.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def healthy(inst: Instance, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(inst.url + "/health", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def port_taken(inst: Instance) -> bool:
    """Whether something already accepts connections on Superset's address."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((inst.settings.host, int(inst.settings.superset_port))) == 0


def start(inst: Instance, wait: float = 90.0) -> None:
    """Start gunicorn in the background (PID file), init first if needed, wait for /health.

    The address must be free: a server already answering there that is not this data
    directory's (another Superset, one left over from an earlier run, any other program) would
    pass the health check in its place while the new gunicorn fails to bind.
    """
    if running_pid(inst) and healthy(inst):
        return
    if port_taken(inst):
        raise SupersetError(
            f"Le port {inst.settings.superset_port} ({inst.url}) est déjà occupé par un autre processus "
            f"que le Superset de {inst.settings.data_dir} : arrêtez-le, ou choisissez un autre port "
            "(HYPERVISEUR_SUPERSET_PORT)."
        )
    if not initialised(inst):
        init(inst)
    workers = inst.env.get("HYPERVISEUR_SUPERSET_WORKERS", WORKERS)
    threads = inst.env.get("HYPERVISEUR_SUPERSET_THREADS", THREADS)
    log = open(inst.log_file, "ab")  # noqa: SIM115 - handed to the detached gunicorn process
    proc = subprocess.Popen(
        [
            str(inst.bin("gunicorn")),
            "--workers",
            workers,
            "--worker-class",
            "gthread",
            "--threads",
            threads,
            "--timeout",
            "120",
            "--keep-alive",
            KEEPALIVE_S,
            # gunicorn ≥ 25 opens a control socket (add or kill workers, reload) in the home
            # folder, shared by every gunicorn of the account; nothing here uses it
            "--no-control-socket",
            "--bind",
            f"{inst.settings.host}:{inst.settings.superset_port}",
            "--chdir",
            str(inst.home),
            "--limit-request-line",
            "0",
            "--limit-request-field_size",
            "0",
            "superset.app:create_app()",
        ],
        cwd=inst.home,
        env=inst.child_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    inst.pid_file.write_text(str(proc.pid), encoding="utf-8")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SupersetError(f"Superset s'est arrêté au démarrage (code {proc.returncode}), voir {inst.log_file}")
        if healthy(inst):
            return
        time.sleep(0.5)
    stop(inst)
    raise SupersetError(f"Superset ne répond pas sur {inst.url}/health après {wait:.0f} s, voir {inst.log_file}")


def stop(inst: Instance, wait: float = 20.0) -> bool:
    """Stop the instance of this data directory; True if one was running."""
    pid = running_pid(inst)
    if pid is None:
        inst.pid_file.unlink(missing_ok=True)
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and running_pid(inst):
        time.sleep(0.2)
    if running_pid(inst):
        os.killpg(pid, signal.SIGKILL)
    inst.pid_file.unlink(missing_ok=True)
    return True


def login_banner(inst: Instance) -> str:
    """How to sign on, printed at start; a password given by the environment is never echoed."""
    if inst.env.get("HYPERVISEUR_SUPERSET_ADMIN_PASSWORD"):
        secret = "mot de passe : variable HYPERVISEUR_SUPERSET_ADMIN_PASSWORD"
    else:
        secret = f"mot de passe : {inst.admin_password} (fichier {inst.home / 'admin_password'})"
    return (
        f"Superset : {inst.url}  —  connexion par l'authentification unique ({inst.sign_on['issuer']}) ; "
        f"compte de secours (API REST seulement) : {inst.admin_user}, {secret}"
    )


def main(argv: list[str]) -> int:
    actions = {"init": init, "start": start, "stop": stop, "status": None}
    if len(argv) != 1 or argv[0] not in actions:
        print("usage : service.py init|start|stop|status", file=sys.stderr)
        return 2
    inst = Instance.from_env()
    try:
        if argv[0] == "status":
            up = running_pid(inst) and healthy(inst)
            print(f"Superset {'en marche' if up else 'arrêté'} ({inst.url})")
            return 0 if up else 3
        actions[argv[0]](inst)
    except LakehouseError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 1
    if argv[0] == "start":
        print(login_banner(inst))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
