"""One MQTT message read within the limits of the settings (:class:`LimitsSettings`).

Shared by the stream consumer and the alert engine, on their hot path (one call per message):
the payload's size (``max_message_bytes``) is checked first, then its nesting
(``max_nesting_depth``) before parsing, so a ``[[[[…`` message never reaches the parser's
recursion — a message holding fewer brackets than the limit is not scanned at all. ``NaN`` /
``Infinity`` (not JSON), numbers overflowing to them and integers longer than Python converts
are refused; one value can be checked against ``max_cell_chars``. Every refusal is an
:class:`InputRejected` (the error of every input reader) whose text is the French reason naming
the limit and its variable, worded like :mod:`ingestion.formats.limits`.
"""

from __future__ import annotations

import json
import math
import re
import sys

from ingestion.formats.errors import InputRejected
from ingestion.formats.limits import beyond, number
from lakehouse.settings import LimitsSettings

_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)  # possessive: linear, no backtracking
_BRACKET = re.compile(rb"[\[\]{}]")


def _too_deep(payload: bytes, limit: int) -> bool:
    """Whether ``[`` / ``{`` outside strings nest deeper than ``limit`` (stops at the first excess)."""
    depth = 0
    for m in _BRACKET.finditer(_STRING.sub(b"", payload)):
        depth += 1 if m.group() in b"[{" else -1
        if depth > limit:
            return True
    return False


def _constant(name: str):
    raise InputRejected(f"message : valeur « {name} » interdite en JSON")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InputRejected(f"message : nombre {text[:40]} hors de la plage des nombres à virgule")
    return value


def load_json(payload: bytes | str, limits: LimitsSettings):
    """The JSON value of a UTF-8 ``payload``, or :class:`InputRejected`."""
    data = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else bytes(payload)
    if len(data) > limits.max_message_bytes:
        raise InputRejected(f"message de {number(len(data))} octets, {beyond(limits, 'max_message_bytes', 'octets')}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputRejected(f"message : le contenu n'est pas en utf-8 ({exc.reason} à l'octet {exc.start})") from None
    limit = limits.max_nesting_depth
    if data.count(b"[") + data.count(b"{") > limit and _too_deep(data, limit):
        raise InputRejected(f"message : imbrication {beyond(limits, 'max_nesting_depth', 'niveaux')}")
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_float)
    except InputRejected:
        raise
    except json.JSONDecodeError as exc:
        raise InputRejected(f"message : JSON invalide colonne {exc.colno} ({exc.msg})") from None
    except ValueError:  # the only other one: an integer of more digits than Python converts
        raise InputRejected(
            f"message : nombre entier de plus de {sys.get_int_max_str_digits()} chiffres refusé"
        ) from None


def check_cell(name: str, text: str | None, limits: LimitsSettings) -> None:
    """Refuse one value longer than ``max_cell_chars``."""
    if text is not None and len(text) > limits.max_cell_chars:
        raise InputRejected(
            f"champ « {name[:80]} » de {number(len(text))} caractères, {beyond(limits, 'max_cell_chars', 'caractères')}"
        )
