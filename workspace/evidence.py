"""Masked samples of tagged columns: what the steward sees as evidence of a proposal.

Structured values keep only their shape (first character of each word, separators), enough to
see that a column holds e-mails or phone numbers without reading one. Free text goes through
the platform's own redaction (governance.masking, Presidio), so the steward reads the text
with the personal data replaced. Columns encrypted at rest are never read here.
"""

from __future__ import annotations

import re
import threading

from governance.catalog import locate

SAMPLES = 3
MAX_CHARS = 160
_WORD = re.compile(r"\w+", re.UNICODE)
_PRESIDIO = threading.Lock()  # one load of the language model, by warm_up or the first request


def warm_up() -> None:
    """Load Presidio's analyzer (the free-text redaction's language model) ahead of the first page."""
    from governance.analyzer import get_analyzer

    with _PRESIDIO:
        get_analyzer()


def mask_shape(value: str) -> str:
    """``jean.dupont@exemple.fr`` → ``j•••.d•••••@e••••••.f•``: first character of each word kept."""
    return _WORD.sub(lambda m: m.group(0)[0] + "•" * (len(m.group(0)) - 1), value)


def masked_samples(lh, dataset: str, columns: dict, encrypted=()) -> dict[str, list[str]]:
    """Up to :data:`SAMPLES` distinct masked values per column of ``columns`` (name → ColumnState)."""
    wanted = [c for c, st in columns.items() if st.tags and c not in encrypted]
    if not wanted:
        return {}
    _, path, hive = locate(lh, dataset)
    con = lh.duckdb()
    out = {}
    try:
        src = f"read_parquet('{path}', hive_partitioning={'true' if hive else 'false'}, union_by_name=true)"
        present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
        for c in wanted:
            if c not in present:
                continue
            quoted = '"' + c.replace('"', '""') + '"'
            rows = con.execute(
                f"SELECT DISTINCT CAST({quoted} AS VARCHAR) AS v FROM {src} WHERE {quoted} IS NOT NULL "
                f"ORDER BY hash(v) LIMIT {SAMPLES}"
            ).fetchall()
            values = [r[0] for r in rows]  # redacted whole, then shortened: no name cut in half
            if columns[c].kind == "free_text":
                from governance.masking import redact_texts  # Presidio: loaded on the first free text only

                with _PRESIDIO:
                    masked = redact_texts(values)
            else:
                masked = [mask_shape(v) for v in values]
            out[c] = [m if len(m) <= MAX_CHARS else m[: MAX_CHARS - 1] + "…" for m in masked]
    finally:
        con.close()
    return out
