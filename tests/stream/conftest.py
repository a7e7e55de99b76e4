"""A private Mosquitto for tests that restart the broker (the shared one on 1883 stays up), with
authentication like the shared one; lakes whose settings reach the brokers and hold an encryption key."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from lakehouse.encryption import create_key_file
from lakehouse.platform import Lakehouse
from tests.conftest import services
from tests.ports import restartable_port

ROOT = Path(__file__).resolve().parents[2]


class Mosquitto:
    """Mosquitto with persistence on a free loopback port; ``restart()`` keeps its sessions."""

    def __init__(self, run_dir: Path):
        self.host, self.port, self.dir = "127.0.0.1", restartable_port(), run_dir
        self.proc: subprocess.Popen | None = None
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            pytest.fail("mosquitto absent : « make test » l'installe (apt-get install -y mosquitto)")
        self.binary = binary
        store = run_dir / "store"
        store.mkdir()
        shutil.chown(store, "mosquitto") if _has_user("mosquitto") else None
        self.username, self.password = "hv-private", secrets.token_urlsafe(18)
        passwd, acl = services.write_mosquitto_auth(run_dir, {self.username: self.password})
        self.conf = run_dir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} {self.host}\n{services._mqtt_auth_conf(passwd, acl)}persistence true\n"
            f"persistence_location {store}/\nautosave_interval 1\nmax_queued_messages 0\n"
            "max_inflight_messages 100\nlog_type error\n"
        )

    @property
    def env(self) -> dict[str, str]:
        """The HYPERVISEUR_MQTT_* settings that reach this broker with its account."""
        return {
            "HYPERVISEUR_MQTT_HOST": self.host,
            "HYPERVISEUR_MQTT_PORT": str(self.port),
            "HYPERVISEUR_MQTT_USERNAME": self.username,
            "HYPERVISEUR_MQTT_PASSWORD": self.password,
        }

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex((self.host, self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("mosquitto de test non démarré")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: mosquitto saves its persistence file before exiting
            self.proc.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture
def own_mosquitto():
    # Not under pytest's tmp_path: that is private to root and mosquitto drops to its own user,
    # which then could not write its persistence file (and would lose queued messages on restart).
    run_dir = Path(tempfile.mkdtemp(prefix="hv-mosquitto-"))
    run_dir.chmod(0o755)
    broker = Mosquitto(run_dir)
    broker.start()
    yield broker
    broker.stop()
    shutil.rmtree(run_dir, ignore_errors=True)


def connect_result(broker: dict, username: str | None = None, password: str | None = None) -> str:
    """How the broker answers a plain client's CONNECT: "Success" or the refusal reason."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    if username:
        client.username_pw_set(username, password)
    answered, result = threading.Event(), []
    client.on_connect = lambda c, u, f, rc, p: (result.append(str(rc)), answered.set())
    client.connect(broker["host"], broker["port"])
    client.loop_start()
    try:
        assert answered.wait(10), "pas de réponse du broker"
    finally:
        client.loop_stop()
        client.disconnect()
    return result[0]


def keyed_lake(data_dir: Path, env: dict | None = None) -> Lakehouse:
    """A local lake (settings from ``env`` + its data dir) with its raw-encryption key file created."""
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(data_dir), **(env or {})})
    create_key_file(lh.settings.kms_key_file)
    return lh


@pytest.fixture
def mqtt_lake(tmp_path, mqtt_broker) -> Lakehouse:
    """A lake whose settings reach the shared test Mosquitto with its account, key file present."""
    return keyed_lake(tmp_path / "data", mqtt_broker["env"])


@pytest.fixture
def keyed_local_lake(tmp_path) -> Lakehouse:
    return keyed_lake(tmp_path / "data")
