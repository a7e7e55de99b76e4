"""Person-looking names that name an organisation: « cabinet Michael Page », « Synacktiv (M. Fabien Perigaud) ».

French business and administrative writing names firms, schools and hospitals after people and
writes a company's contact right after it. A PERSON span, unless a title stands right before it
or at its start (« M. Paul Martin »), names an organisation when:
1. it starts with an organisation word (« Cabinet Bredin Prat », « Métropole de Lyon »), or
   follows one (« Université Claude Bernard », « Hôpital Henri Mondor », « cabinet Advens »,
   an acronym between them allowed: « cabinet CMS Francis Lefebvre »);
2. a titled person follows it in brackets or after a colon (« Deloitte (M. Jean-Luc Moreau) »,
   « AXA Cyber : M. Thomas Buberl », « Korn Ferry (consultant : M. Marc Durand) »);
3. it stands in brackets right after a titled person (« Maître Didier Martin (Bredin Prat, conseil) »,
   « (M. Matthieu Bonenfant, Wavestone) »);
4. it follows « chez » and holds no known first name (« chez Hiscox »; « chez Paul Martin » stays).
In 2 (colon) and 3 (after a comma), a span holding a known first name stays a person.
"""

from __future__ import annotations

import re

from governance.pii.persons import TITLE, is_first_name

ORG_WORDS = (
    "cabinet|groupe|société|sté|entreprise|agence|banque|laboratoire|institut|fondation|association|"
    "université|école|lycée|collège|hôpital|clinique|métropole|mairie|fédération|syndicat"
)
WS = r"[ \t\u00a0]"  # a cue and the name stand on the same line
ORG_START = re.compile(rf"(?i)(?:{ORG_WORDS})\b")
ORG_BEFORE = re.compile(rf"(?i)\b(?:{ORG_WORDS}){WS}+(?:(?-i:[A-Z]{{2,}}){WS}+)?$")
TITLED = re.compile(rf"(?:^|(?<=\s)){TITLE}(?:{WS}+|$)")
TITLE_BEFORE = re.compile(rf"(?<![\w]){TITLE}{WS}*$")
CONTACT_BRACKET = re.compile(rf"^{WS}*\({WS}*(?:[\w ]{{0,20}}:{WS}*)?{TITLE}{WS}")
CONTACT_COLON = re.compile(rf"^{WS}*:{WS}*(?:contact{WS}*:?{WS}*)?{TITLE}{WS}", re.IGNORECASE)
AFTER_TITLED_BRACKET = re.compile(rf"{TITLE}{WS}+[^\n()]{{2,60}}\({WS}*$")
AFTER_TITLED_COMMA = re.compile(rf"\({WS}*{TITLE}{WS}+[^\n(),]{{2,40}},{WS}*$")
CHEZ = re.compile(rf"(?i)\bchez{WS}+$")


def organisation_name(text: str, r) -> bool:
    """True when the PERSON result ``r`` names an organisation (module docstring)."""
    span, before, after = text[r.start : r.end], text[max(0, r.start - 80) : r.start], text[r.end : r.end + 40]
    if TITLE_BEFORE.search(before) or TITLED.match(span):
        return False
    if ORG_START.match(span) or ORG_BEFORE.search(before) or CONTACT_BRACKET.match(after):
        return True
    if AFTER_TITLED_BRACKET.search(before.split("\n")[-1]):
        return True
    first_name = any(is_first_name(w) for w in re.findall(r"[^\W\d_][\w'’\-]*", span))
    if first_name:
        return False
    return bool(CONTACT_COLON.match(after) or AFTER_TITLED_COMMA.search(before) or CHEZ.search(before))
