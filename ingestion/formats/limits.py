"""Apply :class:`~lakehouse.settings.LimitsSettings` to raw inputs, never reading past a limit.

Every message names the input, the limit and the variable that sets it, e.g.
``« ligne 3 : plus de 1 048 576 octets, au-delà de la limite HYPERVISEUR_MAX_LINE_BYTES »``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ingestion.formats.errors import FormatError
from lakehouse.settings import PREFIX, LimitsSettings


def number(n: int | float) -> str:
    """``1048576`` → ``1 048 576`` (French thousands separator)."""
    return f"{n:,}".replace(",", " ")


def beyond(limits: LimitsSettings, name: str, unit: str = "") -> str:
    """``au-delà de la limite de 1 048 576 octets (HYPERVISEUR_MAX_LINE_BYTES)``."""
    value = number(getattr(limits, name))
    return f"au-delà de la limite de {value}{' ' + unit if unit else ''} ({PREFIX}{name.upper()})"


def check_size(path: Path, limits: LimitsSettings, name: str = "max_file_bytes") -> int:
    """Size of ``path``; :class:`FormatError` when it exceeds the limit ``name``."""
    size = path.stat().st_size
    if size > getattr(limits, name):
        raise FormatError(f"{path.name} : fichier de {number(size)} octets, {beyond(limits, name, 'octets')}")
    return size


def read_document(path: Path, limits: LimitsSettings) -> bytes:
    """The bytes of a file read whole (JSON, GeoJSON, XML), at most ``max_document_bytes``."""
    check_size(path, limits, "max_document_bytes")
    with open(path, "rb") as f:
        data = f.read(limits.max_document_bytes + 1)  # the file may have grown since stat()
    if len(data) > limits.max_document_bytes:
        raise FormatError(
            f"{path.name} : fichier plus grand que prévu, {beyond(limits, 'max_document_bytes', 'octets')}"
        )
    return data


def check_count(count: int, what: str, where: str, limits: LimitsSettings) -> None:
    """Refuse a document holding more than ``max_features`` records."""
    if count > limits.max_features:
        raise FormatError(f"{where} : {number(count)} {what}, {beyond(limits, 'max_features')}")


def check_depth(depth: int, where: str, limits: LimitsSettings) -> None:
    if depth > limits.max_nesting_depth:
        raise FormatError(
            f"{where} : imbrication sur au moins {depth} niveaux, {beyond(limits, 'max_nesting_depth', 'niveaux')}"
        )


def check_archive(z: zipfile.ZipFile, name: str, limits: LimitsSettings, read_whole: bool) -> None:
    """Refuse a zip bomb before anything is expanded; ``read_whole``: members are parsed
    whole (the XML of an .xlsx), so each is also held to ``max_document_bytes``.

    Python's zipfile stops expanding a member at its declared size (then fails its CRC), so
    the declared sizes checked here bound what any later read can produce.
    """
    total = 0
    for info in z.infolist():
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_archive_ratio:
            raise FormatError(
                f"{name} : « {info.filename} » se décompresse {number(int(ratio))} fois sa taille compressée "
                f"(bombe de décompression ?), {beyond(limits, 'max_archive_ratio')}"
            )
        if read_whole and info.file_size > limits.max_document_bytes:
            raise FormatError(
                f"{name} : « {info.filename} » fait {number(info.file_size)} octets décompressé, "
                f"{beyond(limits, 'max_document_bytes', 'octets')}"
            )
    if total > limits.max_archive_bytes:
        raise FormatError(
            f"{name} : {number(total)} octets une fois décompressée, {beyond(limits, 'max_archive_bytes', 'octets')}"
        )


def open_archive(path: Path, limits: LimitsSettings, read_whole: bool = False) -> zipfile.ZipFile:
    """A zip file whose sizes were checked; :class:`FormatError` if unreadable or too big."""
    check_size(path, limits)
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise FormatError(f"{path.name} : archive zip illisible ({exc})") from None
    try:
        check_archive(z, path.name, limits, read_whole)
    except FormatError:
        z.close()
        raise
    return z
