"""Open311 GeoReport v2 service requests (JSON or XML) → ``citizen.reports``.

XML is parsed with defusedxml with DTDs forbidden: a document declaring entities (the
"billion laughs" or external-entity attacks) is refused as a whole. Documents that are not
service requests (service lists, service definitions, error responses, raw HTTP requests)
are refused with a message saying what they are.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as SafeET

from ingestion.datasets import CITIZEN_REPORTS
from ingestion.formats import jsontext
from ingestion.formats.limits import check_count, check_depth, read_document
from ingestion.formats.values import parse_datetime
from ingestion.sources import register
from ingestion.sources.base import MAPPING_ERRORS, Batch, Context, FileRejected, Source, mapping_reject
from lakehouse.settings import LimitsSettings

ROW_UNIT = "demande n° (ordre dans le fichier)"
STATUSES = {"open": "open", "closed": "closed", "in_progress": "in_progress", "acknowledged": "in_progress"}


@register
class Open311Source(Source):
    name = "open311"
    label = "Signalements Open311 GeoReport v2 (JSON ou XML)"
    suffixes = (".json", ".xml", ".txt")
    datasets = (CITIZEN_REPORTS,)

    def read(self, path: Path, ctx: Context) -> Iterator[Batch]:
        items = _load(path, ctx.limits)
        check_count(len(items), "demandes", path.name, ctx.limits)
        _check_kind(path, items)
        batch = Batch(CITIZEN_REPORTS, [], [], ROW_UNIT)
        for n, item in enumerate(items, start=1):
            try:
                batch.records.append(to_report(item, ctx.tz))
                batch.numbers.append(n)
            except MAPPING_ERRORS as exc:
                batch.rejects.append(mapping_reject(n, exc, item))
        yield batch


def _load(path: Path, limits: LimitsSettings) -> list[dict]:
    data = read_document(path, limits)
    head = data.lstrip()[:200]
    if head.startswith((b"POST ", b"GET ", b"PUT ")):
        raise FileRejected(
            f"{path.name} : requête HTTP brute (formulaire de création de demande), "
            "pas une demande enregistrée : ni identifiant ni date"
        )
    if head.startswith(b"HTTP/"):
        status_line = head.split(b"\n", 1)[0].decode("latin-1").strip()
        raise FileRejected(f"{path.name} : réponse d'erreur Open311 ({status_line}), aucune demande")
    if head.startswith(b"<"):
        return _load_xml(path, data, limits)
    doc = jsontext.parse_bytes(data, path.name, limits)
    if isinstance(doc, dict):
        doc = doc.get("service_requests", doc.get("requests", [doc]))
    if not isinstance(doc, list) or not all(isinstance(x, dict) for x in doc):
        raise FileRejected(f"{path.name} : une liste de demandes Open311 (objets JSON) est attendue")
    return doc


def _load_xml(path: Path, data: bytes, limits: LimitsSettings) -> list[dict]:
    try:
        root = _parse_xml(data, path.name, limits)
    except defusedxml.DefusedXmlException as exc:
        raise FileRejected(
            f"{path.name} : XML refusé pour sécurité ({type(exc).__name__} : DTD ou entités "
            "interdites, risque d'entité externe)"
        ) from None
    except SafeET.ParseError as exc:
        raise FileRejected(f"{path.name} : XML mal formé ({exc})") from None
    except (ValueError, LookupError) as exc:  # an encoding declaration expat does not know
        raise FileRejected(f"{path.name} : XML illisible ({exc})") from None
    if root.tag == "errors":
        codes = ", ".join(f"{e.findtext('code')} {e.findtext('description') or ''}".strip() for e in root)
        raise FileRejected(f"{path.name} : réponse d'erreur Open311 ({codes}), aucune demande")
    if root.tag in ("services", "service_definition"):
        raise FileRejected(_not_requests(path, root.tag))
    if root.tag != "service_requests":
        raise FileRejected(f"{path.name} : élément racine <{root.tag}> inattendu (attendu <service_requests>)")
    return [_element(req) for req in root]


def _parse_xml(data: bytes, name: str, limits: LimitsSettings):
    """Parse with expat (no DTD), refusing a nesting deeper than ``max_nesting_depth`` as it streams."""
    level, root = 0, None
    for event, el in SafeET.iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=True):
        if event == "start":
            level += 1
            root = el if root is None else root
            check_depth(level, name, limits)
        else:
            level -= 1
    return root


def _element(el) -> dict:
    out = {}
    for child in el:
        if len(child):
            out[child.tag] = _element(child) if child.tag != "notes" else [_element(c) for c in child]
        else:
            text = (child.text or "").strip()
            out[child.tag] = text or None
    return out


def _not_requests(path: Path, kind: str) -> str:
    what = {"services": "liste des services (catalogue)", "service_definition": "définition d'un service"}[kind]
    return f"{path.name} : {what} Open311, pas des demandes"


def _check_kind(path: Path, items: list[dict]) -> None:
    if not items:
        return
    if all("service_request_id" not in i for i in items):
        if all("code" in i and "description" in i for i in items):
            raise FileRejected(f"{path.name} : réponse d'erreur Open311 ({items[0]['code']} {items[0]['description']})")
        if any("attributes" in i for i in items):
            raise FileRejected(_not_requests(path, "service_definition"))
        if any("service_code" in i for i in items):
            raise FileRejected(_not_requests(path, "services"))
        raise FileRejected(f"{path.name} : aucun objet ne porte de « service_request_id » : pas des demandes Open311")


class _FieldError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _time(item: dict, key: str, tz: str):
    value = item.get(key)
    if value in (None, ""):
        return None, None
    try:
        return parse_datetime(value, tz=tz)
    except ValueError as exc:
        raise _FieldError(key, f"{key} : {exc}") from None


def to_report(item: dict, tz: str) -> dict:
    """One GeoReport v2 request → a ``citizen.reports`` record (validation checks the rest)."""
    created, zone = _time(item, "requested_datetime", tz)
    updated, _ = _time(item, "updated_datetime", tz)
    raw_status = (item.get("status") or "").strip().lower()
    status = STATUSES.get(raw_status, raw_status or None)
    closed = None
    if status == "closed":
        closing = [n for n in item.get("notes") or [] if isinstance(n, dict) and n.get("type") == "closed"]
        closed = _time(closing[-1], "datetime", tz)[0] if closing else updated
    ext = item.get("extended_attributes") if isinstance(item.get("extended_attributes"), dict) else {}
    name = " ".join(x for x in (item.get("first_name"), item.get("last_name")) if x) or None
    return {
        "report_id": None if item.get("service_request_id") is None else str(item["service_request_id"]),
        "channel": "open311",
        "created_at": created,
        "updated_at": updated,
        "closed_at": closed,
        "status": status,
        "category": item.get("service_name")
        or (None if item.get("service_code") is None else str(item["service_code"])),
        "subcategory": None if item.get("service_code") is None else str(item["service_code"]),
        "description": item.get("description"),
        "address": item.get("address") or item.get("address_string"),
        "district_id": None if ext.get("ward") is None else str(ext["ward"]),
        "lat": item.get("lat"),
        "lon": item.get("long"),
        "reporter_name": name,
        "reporter_phone": item.get("phone"),
        "reporter_email": item.get("email"),
        "source_tz": zone,
    }
