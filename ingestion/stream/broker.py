"""Embedded MQTT broker (amqtt, pure Python) for ``make run``: no service to install.

It runs its own asyncio loop in a daemon thread and binds loopback only (amqtt's default
configuration listens on every interface, hence the explicit config). Production and
tests use Mosquitto; this one is for the single-machine demo.
"""

from __future__ import annotations

import asyncio
import socket
import threading

from amqtt.broker import Broker


def broker_config(host: str, port: int, named_sessions: bool = False) -> dict:
    """amqtt's configuration. amqtt forgets the session of an anonymous client when it disconnects,
    whatever its clean-session flag: with ``named_sessions`` a client must give a user name (any,
    no password: loopback only), and the persistent session of such a client keeps its
    subscriptions and queued QoS 1 messages while it is away (until the broker stops)."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 64}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": not named_sessions}},
    }


class EmbeddedBroker:
    """``with EmbeddedBroker(port=1884) as b: ...`` or ``start()`` / ``stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883, named_sessions: bool = False):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("le broker embarqué n'écoute que sur la boucle locale (127.0.0.1)")
        self.host, self.port, self.named_sessions = host, port, named_sessions
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Broker | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10) -> EmbeddedBroker:
        with socket.socket() as s:
            if s.connect_ex((self.host, self.port)) == 0:
                raise OSError(f"port {self.port} déjà utilisé sur {self.host}")
        ready = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                self._broker = Broker(broker_config(self.host, self.port, self.named_sessions), loop=self._loop)
                self._loop.run_until_complete(self._broker.start())
            except BaseException as exc:  # reported to the caller of start()
                errors.append(exc)
                ready.set()
                return
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
