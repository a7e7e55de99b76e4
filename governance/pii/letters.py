"""Regular-expression pieces shared by the French recognisers: spaces and French letters."""

WS = r"[ \t\u00a0]"  # never a newline: the scanner joins column values one per line
UP = "A-ZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸ"
LOW = "a-zàâäçéèêëîïôöùûüÿœß"
