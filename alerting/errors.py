"""Errors of the alerting room. Messages are in French: they reach operators as-is."""

from lakehouse.errors import LakehouseError


class AlertingError(LakehouseError):
    """Base class of alerting errors (configuration, graph, CAP, channels)."""


class ConfigError(AlertingError):
    """A declaration file is wrong; the message names the file and the entry."""

    def __init__(self, path, message: str):
        self.path = str(path)
        super().__init__(f"{path} : {message}")


class CapRejected(AlertingError):
    """An incoming CAP message was refused; ``reason`` says why (in French)."""

    def __init__(self, reason: str, source: str = ""):
        self.reason = reason
        super().__init__(f"{source + ' : ' if source else ''}message CAP rejeté — {reason}")
