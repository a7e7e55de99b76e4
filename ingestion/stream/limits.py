"""One MQTT message read within the limits of the settings (:class:`LimitsSettings`).

Shared by the stream consumer and the alert engine, on their hot path (one call per message):
the payload's size (``max_message_bytes``) is checked before anything else, then the text is
parsed by :mod:`ingestion.formats.jsontext`, the reader of every JSON input (UTF-8, nesting,
no NaN/Infinity, no overflowing number, no integer longer than Python converts); one value can
be checked against ``max_cell_chars``. Every refusal is an :class:`InputRejected` whose text is
the French reason naming the limit and its variable.
"""

from __future__ import annotations

from ingestion.formats.errors import InputRejected
from ingestion.formats.jsontext import parse_bytes
from ingestion.formats.limits import beyond, number
from lakehouse.settings import LimitsSettings


def load_json(payload: bytes | str, limits: LimitsSettings):
    """The JSON value of a UTF-8 ``payload``, or :class:`InputRejected`."""
    data = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else bytes(payload)
    if len(data) > limits.max_message_bytes:
        raise InputRejected(f"message de {number(len(data))} octets, {beyond(limits, 'max_message_bytes', 'octets')}")
    return parse_bytes(data, "message", limits, encoding="utf-8")


def check_cell(name: str, text: str | None, limits: LimitsSettings) -> None:
    """Refuse one value longer than ``max_cell_chars``."""
    if text is not None and len(text) > limits.max_cell_chars:
        raise InputRejected(
            f"champ « {name[:80]} » de {number(len(text))} caractères, {beyond(limits, 'max_cell_chars', 'caractères')}"
        )
