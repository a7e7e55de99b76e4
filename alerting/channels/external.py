"""Channels that reach outside: apprise (SMS/voice/push gateways, e-mail, webhooks) and CAP over HTTP."""

from __future__ import annotations

import urllib.error
import urllib.request

import apprise

from alerting.channels.base import Channel, Notification, SendResult
from alerting.errors import ConfigError


class AppriseChannel(Channel):
    """Any apprise URL scheme (``mailto://``, ``json://``, ``ntfy://``, SMS gateways…), several per channel.

    URLs come from ``urls`` or from the env var named by ``urls_env`` (space separated),
    so credentials embedded in URLs stay out of the repository.
    """

    kind = "apprise"

    def __init__(self, spec, lh, path="channels.yaml"):
        super().__init__(spec, lh, path)
        urls = spec.get("urls") or (self.setting("urls", required=False) or "").split()
        self.client = apprise.Apprise()
        for url in urls:
            if not self.client.add(url):
                raise ConfigError(
                    path, f"canal « {self.name} » : URL apprise non reconnue « {url.split('://')[0]}://… »"
                )
        self.count = len(urls)

    @property
    def enabled(self) -> bool:
        return self.count > 0

    def send(self, note: Notification) -> SendResult:
        body = note.body if not self.spec.get("short") else note.subject  # SMS and voice: the subject only
        ok = self.client.notify(
            title=note.subject,
            body=body,
            notify_type=apprise.NotifyType.FAILURE if note.priority >= 70 else apprise.NotifyType.WARNING,
        )
        return SendResult(bool(ok), f"{self.count} destination(s)")


class CapHttpChannel(Channel):
    """POST the CAP 1.2 XML to a loudspeaker/siren gateway (``url`` or ``url_env``)."""

    kind = "cap_http"

    def __init__(self, spec, lh, path="channels.yaml"):
        super().__init__(spec, lh, path)
        self.url = self.setting("url", required=False)
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ConfigError(path, f"canal « {self.name} » : URL http(s) attendue")

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def send(self, note: Notification) -> SendResult:
        req = urllib.request.Request(
            self.url, data=note.cap_xml, method="POST", headers={"Content-Type": "application/cap+xml; charset=utf-8"}
        )
        try:
            with urllib.request.urlopen(req, timeout=float(self.spec.get("timeout_s", 5))) as resp:
                return SendResult(200 <= resp.status < 300, f"HTTP {resp.status}")
        except (urllib.error.URLError, OSError) as exc:
            return SendResult(False, f"échec d'envoi : {exc}")
