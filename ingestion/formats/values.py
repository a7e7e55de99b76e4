"""Parsing of the values French business files contain: decimal commas, `#N/A`/`mq` nulls,
dd/mm/yy dates, local times, Lambert-93 or DMS coordinates.

Every parser raises ``ValueError`` with a French message on a value it cannot read; callers
keep the raw text so that validation quarantines the row with the field and the value.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

DEFAULT_NULLS = ("", "#N/A", "#N/D", "N/A", "n/a", "NA", "mq", "MQ", "NULL", "null", "NaN", "nan", "#VALEUR!")
DEFAULT_TZ = "Europe/Paris"

# Day first: French files never write month/day.
DATE_FORMATS = (
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d/%m/%y %H:%M",
    "%d/%m/%y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y%m%d%H%M%S",
)
_SPACES = re.compile(r"[\s\u00a0\u202f']")


def is_null(value, nulls=DEFAULT_NULLS) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in nulls)


def parse_number(value, decimal: str = "auto") -> float:
    """Read ``1 234,5`` / ``1234.5`` / ``1.234,5``; ``decimal`` is ``,``, ``.`` or ``auto``."""
    if isinstance(value, bool):
        raise ValueError("booléen au lieu d'un nombre")
    if isinstance(value, (int, float)):
        return float(value)
    text = _SPACES.sub("", str(value))
    if decimal == "auto":
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
    if decimal == ",":
        text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"« {value} » n'est pas un nombre") from None


def finite(x) -> bool:
    """A JSON number usable as a coordinate: not a boolean, not NaN/∞, not an integer beyond float range."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    try:
        return abs(float(x)) < float("inf")
    except OverflowError:
        return False


def parse_int(value, decimal: str = "auto") -> int:
    number = parse_number(value, decimal)
    if not number.is_integer():
        raise ValueError(f"« {value} » n'est pas un entier")
    return int(number)


def _offset_name(dt: datetime) -> str:
    offset = dt.utcoffset()
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def to_utc(dt: datetime, tz: str) -> tuple[datetime, str]:
    """Return (UTC datetime, source zone): an aware value keeps its offset as zone name."""
    try:
        if dt.tzinfo is None:
            return dt.replace(tzinfo=_zone(tz)).astimezone(UTC), tz
        return dt.astimezone(UTC), _offset_name(dt)
    except OverflowError:
        raise ValueError(f"« {dt.isoformat()} » sort de la plage des dates une fois convertie en UTC") from None


@lru_cache(maxsize=32)
def _zone(tz: str):
    return UTC if tz.upper() == "UTC" else ZoneInfo(tz)


def parse_datetime(value, fmt: str | None = None, tz: str = DEFAULT_TZ) -> tuple[datetime, str]:
    """Parse a timestamp (ISO 8601 with or without offset, French dates, ``YYYYMMDDHHMMSS``).

    Naive values are local times of ``tz``; returns (UTC datetime, source zone).
    """
    if isinstance(value, datetime):
        return to_utc(value, tz)
    if isinstance(value, date):
        return to_utc(datetime(value.year, value.month, value.day), tz)
    text = str(value).strip()
    if fmt:
        try:
            return to_utc(datetime.strptime(text, fmt), tz)
        except ValueError:
            raise ValueError(f"« {value} » ne respecte pas le format de date {fmt}") from None
    iso = text[:-1] + "+00:00" if text.endswith("Z") else text
    try:
        return to_utc(datetime.fromisoformat(iso), tz)
    except ValueError:
        pass
    for candidate in DATE_FORMATS:
        try:
            return to_utc(datetime.strptime(text, candidate), tz)
        except ValueError:
            continue
    raise ValueError(f"« {value} » n'est pas une date reconnue")


def parse_interval_start(value, tz: str = DEFAULT_TZ) -> tuple[datetime, str, float | None]:
    """ISO 8601 instant or ``start/end`` interval → (UTC start, zone, duration in seconds or None)."""
    text = str(value).strip()
    if "/" in text and not re.match(r"^\d{2}/\d{2}/", text):
        start, end = text.split("/", 1)
        s, zone = parse_datetime(start, tz=tz)
        e, _ = parse_datetime(end, tz=tz)
        return s, zone, (e - s).total_seconds()
    s, zone = parse_datetime(text, tz=tz)
    return s, zone, None


_DMS = re.compile(r"^\s*(\d+)\s*°\s*(\d+)\s*['’]\s*(\d+(?:[.,]\d+)?)\s*(?:\"|'')?\s*([NSEOW])\s*$", re.I)


def parse_dms(value) -> float:
    """``48°51'18N`` → 48.855; W/O (ouest) and S are negative."""
    m = _DMS.match(str(value))
    if not m:
        raise ValueError(f"« {value} » n'est pas une coordonnée degrés-minutes-secondes")
    deg, minutes, seconds, hemi = m.groups()
    out = int(deg) + int(minutes) / 60 + float(seconds.replace(",", ".")) / 3600
    return -out if hemi.upper() in ("S", "W", "O") else out


# -- coordinates ------------------------------------------------------------------------
WGS84 = "EPSG:4326"
LAMBERT93 = "EPSG:2154"


def guess_crs(x: float, y: float) -> str | None:
    """WGS84 if (x, y) look like (lon, lat), Lambert-93 if they fall in its French extent."""
    if -180 <= x <= 180 and -90 <= y <= 90:
        return WGS84
    if 0 <= x <= 1_300_000 and 6_000_000 <= y <= 7_200_000:
        return LAMBERT93
    return None


@lru_cache(maxsize=8)
def _transformer(crs: str):
    from pyproj import Transformer

    return Transformer.from_crs(crs, WGS84, always_xy=True)


def to_wgs84(xs: list, ys: list, crs: str | None = None) -> tuple[list, list]:
    """Project (x, y) pairs to (lon, lat); ``crs=None`` guesses per point, unknown → None."""
    lons, lats = [None] * len(xs), [None] * len(xs)
    groups: dict[str, list[int]] = {}
    for i, (x, y) in enumerate(zip(xs, ys)):
        if x is None or y is None or (x == 0 and y == 0):
            continue  # (0, 0) is how GIS exports write "no position"
        source = crs or guess_crs(x, y)
        if source:
            groups.setdefault(source, []).append(i)
    for source, idx in groups.items():
        if source == WGS84:
            for i in idx:
                lons[i], lats[i] = xs[i], ys[i]
            continue
        out_x, out_y = _transformer(source).transform([xs[i] for i in idx], [ys[i] for i in idx])
        for i, lon, lat in zip(idx, out_x, out_y):
            lons[i], lats[i] = float(lon), float(lat)
    return lons, lats
