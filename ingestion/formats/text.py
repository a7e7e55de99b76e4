"""Encoding and delimiter detection for text files (UTF-8, UTF-8 with BOM, UTF-16, cp1252)."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from ingestion.formats.errors import FormatError
from ingestion.formats.limits import beyond
from lakehouse.settings import LimitsSettings

DELIMITERS = (";", ",", "\t", "|")
BLOCK = 1 << 20


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` / ``utf-16`` on a BOM, ``utf-16-le``/``-be`` on the NUL pattern of UTF-16
    without BOM, ``utf-8`` if the whole file decodes, else ``cp1252``.

    The whole file is scanned (C-speed incremental decoder), so a stray accented byte on
    line 900 000 is not missed. A file that is valid UTF-8 with accents and then holds a
    byte that is not (two encodings mixed) raises :class:`FormatError` with that line:
    reading it as cp1252 would silently garble every accent before it.
    """
    with open(path, "rb") as f:
        head = f.read(BLOCK)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        utf16 = _utf16_without_bom(head[:4096])
        if utf16:
            return utf16
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        line, accents = 1, False
        for block in iter(lambda: f.read(BLOCK), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                if accents or not block[: exc.start].isascii():
                    line += block.count(b"\n", 0, max(exc.start, 0))
                    raise FormatError(
                        f"{path.name} : encodages mélangés, UTF-8 accentué puis un octet non UTF-8 "
                        f"(0x{block[exc.start]:02x}) ligne {line} ; corrigez le fichier ou déclarez son encodage"
                    ) from None
                return "cp1252"
            accents = accents or not block.isascii()
            line += block.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text without BOM: Latin text has a NUL in (nearly) every other byte."""
    even, odd = head[0::2], head[1::2]
    if len(head) < 4 or 0 not in head:
        return None
    if odd.count(0) > 0.6 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.6 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


class LineGuard:
    """The physical lines of a text file, for :func:`csv.reader`, refusing a line, or a record
    (a quoted field may span lines), longer than ``max_line_bytes`` before it is read whole."""

    def __init__(self, text: io.TextIOBase, path: Path, limits: LimitsSettings):
        self.text, self.path, self.limits = text, path, limits
        self.encoding = getattr(text, "encoding", None) or "utf-8"
        self.line = 0  # physical lines read so far
        self.record_start, self.record_bytes = 1, 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        limit = self.limits.max_line_bytes
        line = self.text.readline(limit + 2)  # characters: each is at least one byte
        if not line:
            raise StopIteration
        self.line += 1
        body = line.rstrip("\r\n")
        size = len(body) if len(body) * 4 <= limit else len(body.encode(self.encoding, "replace"))
        self.record_bytes += size
        if size > limit:
            raise FormatError(
                f"{self.path.name}, ligne {self.line} : longueur {beyond(self.limits, 'max_line_bytes', 'octets')}"
            )
        if self.record_bytes > limit:
            raise FormatError(
                f"{self.path.name}, enregistrement commençant ligne {self.record_start} (guillemet non fermé ?) : "
                f"longueur {beyond(self.limits, 'max_line_bytes', 'octets')}"
            )
        return line

    def record_done(self) -> int:
        """Mark the end of a CSV record; returns the physical line where it started."""
        start = self.record_start
        self.record_start, self.record_bytes = self.line + 1, 0
        return start


def sniff_delimiter(lines: list[str]) -> str:
    """The candidate that splits the first lines into the same, largest number of fields."""
    best, best_score = ",", (0, 0)
    sample = [ln for ln in lines if ln.strip()][:20]
    if not sample:
        return best
    for delim in DELIMITERS:
        counts = [len(row) for row in csv.reader(io.StringIO("\n".join(sample)), delimiter=delim)]
        if not counts or counts[0] < 2:
            continue
        consistent = sum(1 for c in counts if c == counts[0])
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = delim, score
    return best


class CountingFile(io.RawIOBase):
    """A binary file wrapper that counts bytes read, to drive a progress bar."""

    def __init__(self, raw):
        self.raw = raw
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer)
        self.bytes_read += n or 0
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()
