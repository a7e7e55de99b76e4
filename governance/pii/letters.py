"""Regular-expression pieces shared by the French recognisers: spaces and Latin letters.

Letters cover every Latin alphabet (Latin-1, Latin Extended-A/B, Vietnamese), not only
French: patients and relatives are also named Łukasz, Józef, Márcio or Nguyễn.
"""

import unicodedata

WS = r"[ \t\u00a0]"  # never a newline: the scanner joins column values one per line
_LATIN = [chr(c) for c in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)) if c not in (0xD7, 0xF7)]
UP = "A-Z" + "".join(ch for ch in _LATIN if unicodedata.category(ch) == "Lu")
LOW = "a-z" + "".join(ch for ch in _LATIN if unicodedata.category(ch) == "Ll")
