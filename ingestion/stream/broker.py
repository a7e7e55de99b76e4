"""Embedded MQTT broker (amqtt, pure Python) for ``make run``: no service to install.

It runs its own asyncio loop in a daemon thread and binds loopback only (amqtt's default
configuration listens on every interface, hence the explicit config). Production and
tests use Mosquitto; this one is for the single-machine demo.

With ``users`` (name → password) it is amqtt's own file authentication: the broker reads a
password file of Argon2 hashes (written at start in a private temporary file, removed once read)
and refuses an anonymous client, an unknown user or a wrong password. Without, any client
connects: a private broker on a free loopback port for the duration of one step.
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

from amqtt.broker import Broker
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher


def broker_config(host: str, port: int, password_file: Path | None = None) -> dict:
    """amqtt's configuration. With ``password_file`` (amqtt's ``user:hash`` lines) only its users
    connect, with their password; amqtt then keeps the persistent session of such a named client
    (its subscriptions and queued QoS 1 messages) while it is away, until the broker stops.
    Without, every client is anonymous, and amqtt forgets an anonymous session at disconnection."""
    auth = (
        {"amqtt.plugins.authentication.FileAuthPlugin": {"password_file": str(password_file)}}
        if password_file
        else {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}
    )
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 64}},
        "plugins": auth,
    }


def write_password_file(users: Mapping[str, str]) -> Path:
    """amqtt's password file for ``users`` (name → password), Argon2 hashes, in a private temporary file."""
    hasher = PasswordHash((Argon2Hasher(),))
    fd, path = tempfile.mkstemp(prefix="hyperviseur-mqtt-", suffix=".passwd")  # mode 600
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.writelines(f"{name}:{hasher.hash(password)}\n" for name, password in users.items())
    return Path(path)


class EmbeddedBroker:
    """``with EmbeddedBroker(port=1884) as b: ...`` or ``start()`` / ``stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883, users: Mapping[str, str] | None = None):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("le broker embarqué n'écoute que sur la boucle locale (127.0.0.1)")
        if users is not None and (not users or not all(users.values())):
            raise ValueError(
                "le broker embarqué authentifié demande au moins un utilisateur, chacun avec un mot de passe"
            )
        self.host, self.port, self.users = host, port, users
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Broker | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10) -> EmbeddedBroker:
        with socket.socket() as s:
            if s.connect_ex((self.host, self.port)) == 0:
                raise OSError(f"port {self.port} déjà utilisé sur {self.host}")
        ready = threading.Event()
        errors: list[BaseException] = []
        password_file = write_password_file(self.users) if self.users else None

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                self._broker = Broker(broker_config(self.host, self.port, password_file), loop=self._loop)
                self._loop.run_until_complete(self._broker.start())
            except BaseException as exc:  # reported to the caller of start()
                errors.append(exc)
                ready.set()
                return
            finally:
                if password_file:  # read by the plugin when the broker is built: no hash left on disk
                    password_file.unlink(missing_ok=True)
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="hyperviseur-mqtt-broker", daemon=True)
        self._thread.start()
        if not ready.wait(timeout) or errors:
            raise RuntimeError(f"broker MQTT embarqué non démarré : {errors[0] if errors else 'délai dépassé'}")
        return self

    def stop(self, timeout: float = 10) -> None:
        if not self._loop or not self._broker:
            return
        asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop).result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._loop = self._broker = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
