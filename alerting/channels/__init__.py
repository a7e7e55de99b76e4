"""Alert channels behind one interface; a new channel is one class registered in :data:`CHANNELS`."""

from alerting.channels.base import Channel, Notification, SendResult
from alerting.channels.builtin import FileChannel, LogChannel
from alerting.channels.external import AppriseChannel, CapHttpChannel

CHANNELS: dict[str, type[Channel]] = {
    "log": LogChannel,  # local log file (default of `make run`)
    "file": FileChannel,  # CAP + JSON into the lake outbox (public displays pick them up)
    "apprise": AppriseChannel,  # SMS / voice / push gateways, e-mail, webhooks (apprise URL schemes)
    "cap_http": CapHttpChannel,  # loudspeakers and sirens: CAP 1.2 POSTed to their gateway
}

__all__ = ["CHANNELS", "Channel", "Notification", "SendResult"]
