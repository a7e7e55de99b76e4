"""CAP 1.2 (OASIS Common Alerting Protocol): build outgoing alerts, check incoming ones safely.

Outgoing messages are validated against the OASIS XSD before they leave. Incoming ones
go through a hardened lxml parser (no DTD, no entity expansion, no network, no XInclude);
any DOCTYPE is refused outright since CAP needs none and it is the vector of XXE attacks.
After the schema, the rules the XSD cannot express are checked (references required by
Update/Cancel/Ack/Error, restriction/addresses by scope, polygon closure, circle syntax).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from lxml import etree

from alerting.errors import AlertingError, CapRejected
from alerting.windows import LOCAL_TZ
from ingestion.formats.limits import beyond, number
from lakehouse.settings import LimitsSettings

NS12 = "urn:oasis:names:tc:emergency:cap:1.2"
NS11 = "urn:oasis:names:tc:emergency:cap:1.1"
# The XSDs ship inside the package (see schemas/cap/README.md for their origin and licences).
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas" / "cap"
XSD_FILES = {NS12: SCHEMA_DIR / "CAP-v1.2.xsd", NS11: SCHEMA_DIR / "cap11_extended.xsd"}
FORBIDDEN_ID = re.compile(r"[\s,<&]")
COORD = r"[-+]?\d+(\.\d+)?,[-+]?\d+(\.\d+)?"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
        remove_comments=True,
        recover=False,
    )


@lru_cache(maxsize=4)
def schema(namespace: str = NS12) -> etree.XMLSchema:
    path = XSD_FILES[namespace]
    if not path.exists():
        raise AlertingError(f"schéma CAP introuvable dans le paquet : {path} (installation incomplète ?)")
    return etree.XMLSchema(etree.parse(str(path), _parser()))


def schema_errors(xml: bytes, namespace: str = NS12) -> list[str]:
    doc = etree.fromstring(xml, _parser())
    xsd = schema(namespace)
    if xsd.validate(doc):
        return []
    return [f"ligne {e.line} : {e.message}" for e in xsd.error_log]


# -- outgoing ---------------------------------------------------------------------------------
def cap_time(ts: float) -> str:
    """CAP dateTime: local time with a numeric offset, no fraction, no ``Z``."""
    return datetime.fromtimestamp(int(ts), LOCAL_TZ).isoformat()


@dataclass
class CapArea:
    description: str
    polygon: list[tuple[float, float]] | None = None  # (lat, lon), closed
    circle: tuple[float, float, float] | None = None  # lat, lon, radius km


def build_alert(
    *,
    identifier: str,
    sender: str,
    sent: float,
    status: str,
    msg_type: str,
    scope: str,
    event: str,
    category: str,
    urgency: str,
    severity: str,
    certainty: str,
    headline: str,
    description: str,
    instruction: str,
    area: CapArea,
    sender_name: str,
    restriction: str | None = None,
    references: list[str] | None = None,
    expires: float | None = None,
    parameters: dict | None = None,
    web: str | None = None,
) -> bytes:
    """One CAP 1.2 alert with one French ``info`` block; raises if it does not validate."""
    E = etree.Element
    root = E(f"{{{NS12}}}alert", nsmap={None: NS12})

    def sub(parent, name, text=None):
        el = etree.SubElement(parent, f"{{{NS12}}}{name}")
        if text is not None:
            el.text = str(text)
        return el

    for name, value in (
        ("identifier", identifier),
        ("sender", sender),
        ("sent", cap_time(sent)),
        ("status", status),
        ("msgType", msg_type),
        ("scope", scope),
    ):
        sub(root, name, value)
    if restriction:
        sub(root, "restriction", restriction)
    if references:
        sub(root, "references", " ".join(references))
    info = sub(root, "info")
    sub(info, "language", "fr-FR")
    sub(info, "category", category)
    sub(info, "event", event)
    sub(info, "urgency", urgency)
    sub(info, "severity", severity)
    sub(info, "certainty", certainty)
    if expires:
        sub(info, "expires", cap_time(expires))
    sub(info, "senderName", sender_name)
    sub(info, "headline", headline[:160])
    sub(info, "description", description)
    if instruction:
        sub(info, "instruction", instruction)
    if web:
        sub(info, "web", web)
    for name, value in (parameters or {}).items():
        p = sub(info, "parameter")
        sub(p, "valueName", name)
        sub(p, "value", value)
    a = sub(info, "area")
    sub(a, "areaDesc", area.description)
    if area.polygon:
        sub(a, "polygon", " ".join(f"{lat:.6f},{lon:.6f}" for lat, lon in area.polygon))
    if area.circle:
        lat, lon, radius = area.circle
        sub(a, "circle", f"{lat:.6f},{lon:.6f} {radius:.2f}")
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    errors = schema_errors(xml) + semantic_errors(etree.fromstring(xml, _parser()), NS12)
    if errors:
        raise AlertingError("message CAP produit invalide : " + " ; ".join(errors))
    return xml


# -- incoming ---------------------------------------------------------------------------------
@dataclass
class CapMessage:
    version: str
    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    scope: str
    infos: list[dict]


def _text(el, name, ns) -> str | None:
    child = el.find(f"{{{ns}}}{name}")
    return child.text.strip() if child is not None and child.text is not None else (None if child is None else "")


def semantic_errors(root, ns: str) -> list[str]:
    """CAP rules that the XSD does not express."""
    errors = []
    for name in ("identifier", "sender"):
        value = _text(root, name, ns) or ""
        if not value or FORBIDDEN_ID.search(value):
            errors.append(f"<{name}> vide ou avec espace, virgule, < ou & : « {value} »")
    msg_type, scope = _text(root, "msgType", ns), _text(root, "scope", ns)
    refs = _text(root, "references", ns)
    if refs is not None:
        triples = refs.split()
        if not triples:
            errors.append("<references> présent mais vide")
        for t in triples:
            if len(t.split(",")) != 3:
                errors.append(f"<references> : « {t} » n'est pas un triplet émetteur,identifiant,date")
    elif msg_type in ("Update", "Cancel", "Ack", "Error"):
        errors.append(f"<references> obligatoire pour msgType {msg_type}")
    if scope == "Restricted" and not _text(root, "restriction", ns):
        errors.append("<restriction> obligatoire quand scope vaut Restricted")
    if scope == "Private" and not _text(root, "addresses", ns):
        errors.append("<addresses> obligatoire quand scope vaut Private")
    for poly in root.iter(f"{{{ns}}}polygon"):
        points = (poly.text or "").split()
        if len(points) < 4 or points[0] != points[-1] or not all(re.fullmatch(COORD, p) for p in points):
            errors.append(
                f"<polygon> invalide (au moins 4 points « lat,lon », le premier répété à la fin) : « {(poly.text or '')[:60]} »"
            )
    for circle in root.iter(f"{{{ns}}}circle"):
        if not re.fullmatch(COORD + r" \d+(\.\d+)?", (circle.text or "").strip()):
            errors.append(f"<circle> invalide (attendu « lat,lon rayon ») : « {circle.text} »")
    return errors


def _depth(root) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        el, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in el)
    return deepest


def parse_cap(data: bytes, source: str = "", limits: LimitsSettings | None = None) -> CapMessage:
    """Accept a CAP 1.2 (or 1.1) alert or raise :class:`CapRejected` with the reason.

    ``limits`` (default: from the environment) bounds the message size
    (``max_message_bytes``) and its nesting (``max_nesting_depth``).
    """
    limits = limits or LimitsSettings.from_env()
    if len(data) > limits.max_message_bytes:
        raise CapRejected(
            f"message de {number(len(data))} octets, {beyond(limits, 'max_message_bytes', 'octets')}", source
        )
    if re.search(rb"<!DOCTYPE|<!ENTITY", data[: 4096 * 4], re.IGNORECASE):
        raise CapRejected("déclaration DOCTYPE/ENTITY interdite (risque d'attaque XXE)", source)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise CapRejected(f"XML mal formé : {exc}", source) from None
    depth = _depth(root)
    if depth > limits.max_nesting_depth:
        raise CapRejected(
            f"imbrication XML sur {depth} niveaux, {beyond(limits, 'max_nesting_depth', 'niveaux')}", source
        )
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:  # e.g. a UTF-16 document the byte check missed
        raise CapRejected("déclaration DOCTYPE interdite (risque d'attaque XXE)", source)
    ns = etree.QName(root).namespace
    if etree.QName(root).localname != "alert" or ns not in (NS12, NS11):
        raise CapRejected(f"racine {root.tag} : ce n'est pas une alerte CAP 1.2 ou 1.1", source)
    xsd = schema(ns)
    if not xsd.validate(root):
        first = xsd.error_log[0]
        version = "1.2" if ns == NS12 else "1.1"
        raise CapRejected(f"non conforme au schéma XSD CAP {version} (ligne {first.line}) : {first.message}", source)
    errors = semantic_errors(root, ns)
    if errors:
        raise CapRejected("; ".join(errors), source)
    infos = []
    for info in root.findall(f"{{{ns}}}info"):
        infos.append(
            {k: _text(info, k, ns) for k in ("language", "event", "urgency", "severity", "certainty", "headline")}
            | {"areas": [_text(a, "areaDesc", ns) for a in info.findall(f"{{{ns}}}area")]}
        )
    return CapMessage(
        "1.2" if ns == NS12 else "1.1",
        _text(root, "identifier", ns),
        _text(root, "sender", ns),
        _text(root, "sent", ns),
        _text(root, "status", ns),
        _text(root, "msgType", ns),
        _text(root, "scope", ns),
        infos,
    )
