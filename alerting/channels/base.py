"""The channel interface: one :class:`Notification` in, one :class:`SendResult` out."""

from __future__ import annotations

from dataclasses import dataclass, field

from alerting.errors import ConfigError
from lakehouse.settings import read_secret


@dataclass
class Notification:
    audience: str
    action: str
    incident_id: str
    priority: float
    subject: str
    body: str
    cap_identifier: str
    cap_xml: bytes
    incident: dict = field(default_factory=dict)


@dataclass
class SendResult:
    ok: bool
    detail: str = ""


class Channel:
    """Base class. ``spec`` is the channel's entry of ``channels.yaml``; secrets come from the variables
    it names (``<key>_env``), read by the settings: the value, or the file named by ``<variable>_FILE``."""

    kind = "base"

    def __init__(self, spec: dict, lh, path="channels.yaml"):
        self.spec, self.lh, self.path = spec, lh, path
        self.name = spec.get("name", self.kind)

    def setting(self, key: str, required: bool = True, env=None) -> str | None:
        """A value given inline (``key``) or through a variable (``key_env``, or its ``_FILE`` form)
        of ``env`` (default: the process environment)."""
        if self.spec.get(key):
            return str(self.spec[key])
        env_name = self.spec.get(f"{key}_env")
        value = read_secret(env_name, env) if env_name else None
        if required and not value:
            raise ConfigError(
                self.path,
                f"canal « {self.name} » : {key} absent "
                f"(renseigner {key} ou la variable {env_name or key.upper() + '_ENV'})",
            )
        return value

    @property
    def enabled(self) -> bool:
        return True

    def send(self, note: Notification) -> SendResult:
        raise NotImplementedError
