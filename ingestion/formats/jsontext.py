"""JSON text under the limits: nesting depth (the C parser stops at Python's recursion limit,
then :func:`depth` measures the text), no NaN/Infinity (nor numbers that overflow to it), no
integer longer than Python converts, no lone half of a UTF-16 surrogate pair (``"\\ud800"``);
every error a :class:`FormatError` in French."""

from __future__ import annotations

import json
import re
import sys
from itertools import accumulate

from ingestion.formats.errors import FormatError
from ingestion.formats.limits import check_depth
from lakehouse.settings import LimitsSettings

_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_BRACKETS_ONLY = {c: None for c in range(128) if chr(c) not in _STEP}  # JSON outside strings is ASCII
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # \ud800…\udfff: half of a UTF-16 pair


def depth(text: str) -> int:
    """Deepest nesting of arrays/objects of a valid JSON text, brackets inside strings
    ignored; C-speed string operations, no recursion, no regular expression."""
    unescaped = text.replace("\\\\", "").replace('\\"', "")  # every remaining " opens or closes a string
    outside = "".join(unescaped.split('"')[0::2]).translate(_BRACKETS_ONLY)
    return max(accumulate(map(_STEP.__getitem__, outside)), default=0)


def _constant(name: str):
    raise FormatError(f"valeur « {name} » interdite en JSON")


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise FormatError(f"nombre {text[:40]} hors de la plage des nombres à virgule")
    return value


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > sys.get_int_max_str_digits():
        raise FormatError(
            f"nombre entier de {len(text)} chiffres, au-delà des {sys.get_int_max_str_digits()} chiffres "
            "que Python convertit"
        )
    return int(text)


def parse(text: str, where: str, limits: LimitsSettings):
    """Parse ``text`` or raise :class:`FormatError` whose message starts with ``where``."""
    try:
        value = json.loads(text, parse_constant=_constant, parse_int=_integer, parse_float=_float)
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"{where} : JSON invalide ligne {exc.lineno}, colonne {exc.colno} ({exc.msg}){_hint(text, exc)}"
        ) from None
    except FormatError as exc:
        raise FormatError(f"{where} : {exc}") from None
    except RecursionError:  # the C parser stops at Python's recursion limit, far beyond ours
        check_depth(limits.max_nesting_depth + 1, where, limits)
    if text.count("[") + text.count("{") > limits.max_nesting_depth:  # fewer brackets cannot nest deeper
        check_depth(depth(text), where, limits)
    if _SURROGATE_ESCAPE.search(text):
        _check_surrogates(value, where)
    return value


def _check_surrogates(value, where: str) -> None:
    """A ``\\ud800``-style escape not paired with its other half decodes to no character: refused."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(exc.object[exc.start])
        raise FormatError(
            f"{where} : échappement \\u{code:04x} isolé (moitié de paire UTF-16 sans l'autre), texte Unicode invalide"
        ) from None


def parse_bytes(data: bytes, where: str, limits: LimitsSettings, encoding: str = "utf-8-sig"):
    """Decode (UTF-8, BOM tolerated, unless ``encoding``) then :func:`parse`."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise FormatError(
            f"{where} : le contenu n'est pas en {encoding} ({exc.reason} à l'octet {exc.start})"
        ) from None
    except LookupError:
        raise FormatError(f"{where} : encodage « {encoding} » inconnu") from None
    return parse(text, where, limits)


def _hint(text: str, exc: json.JSONDecodeError) -> str:
    start = text.rfind("\n", 0, exc.pos) + 1
    end = text.find("\n", exc.pos)
    line = text[start : end if end >= 0 else len(text)][:10_000]
    if "$" in line:
        return " — gabarit avec un marqueur non substitué (ex. $DATASTREAM-ID)"
    if re.search(r":\s*0\d", line):
        return " — nombre écrit avec un zéro initial (ex. 006), interdit en JSON"
    return ""
