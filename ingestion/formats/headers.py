"""Column headers: dBase-typed names (``"NOM,C,254"``), stacked header rows, snake_case names."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_DBASE = re.compile(r"^(?P<name>.+?),(?P<kind>[CNDLFM])(?:,(?P<width>\d+)(?:,(?P<dec>\d+))?)?$")


@dataclass(frozen=True)
class HeaderField:
    original: str  # the header text as written in the file
    name: str  # snake_case identifier used in the lake
    kind: str | None = None  # dBase type letter when the header declares one (C, N, D, L, F, M)
    decimals: int | None = None

    @property
    def inferred_type(self) -> str:
        """``string``, ``int64``, ``float64`` or ``date`` from the dBase declaration."""
        if self.kind == "N":
            return "int64" if not self.decimals else "float64"
        if self.kind == "F":
            return "float64"
        if self.kind == "D":
            return "date"
        return "string"


def snake(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    out = re.sub(r"[^0-9a-zA-Z]+", "_", ascii_text).strip("_").lower()
    return out or "colonne"


def parse_headers(cells: list[str]) -> list[HeaderField]:
    """Parse header cells; empty names become ``colonne_<n>`` and repeated names get a suffix."""
    fields, seen = [], {}
    for i, cell in enumerate(cells, start=1):
        text = (cell or "").strip()
        m = _DBASE.match(text)
        if m:
            name, kind = m["name"].strip(), m["kind"]
            dec = int(m["dec"]) if m["dec"] else (0 if kind == "N" and m["width"] else None)
        else:
            name, kind, dec = text, None, None
        base = snake(name) if name else f"colonne_{i}"
        ident = base
        while ident in seen:  # "a", "a" → a, a_2; and a suffixed name never collides with another column
            seen[base] += 1
            ident = f"{base}_{seen[base]}"
        seen[ident] = 1
        seen.setdefault(base, 1)
        fields.append(HeaderField(original=text, name=ident, kind=kind, decimals=dec))
    return fields


def merge_stacked(rows: list[list[str]]) -> list[str]:
    """Merge stacked header rows column-wise (a label spanning columns is carried right)."""
    width = max(len(r) for r in rows)
    merged = []
    for col in range(width):
        parts = []
        for level, row in enumerate(rows):
            cell = (row[col] if col < len(row) else "").strip()
            if not cell and level < len(rows) - 1:
                # a group label written once above several columns applies to the next ones
                for back in range(col - 1, -1, -1):
                    if back < len(row) and row[back].strip():
                        cell = row[back].strip()
                        break
            if cell and cell not in parts:
                parts.append(cell)
        merged.append(" ".join(parts))
    return merged


def is_title_row(cells: list[str], width: int) -> bool:
    """A line above the header such as ``Export du 12/03/2024;;;;`` (one cell filled out of many)."""
    filled = sum(1 for c in cells if c and c.strip())
    return width > 2 and filled <= 1
