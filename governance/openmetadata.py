"""OpenMetadata payloads: classifications, tags, tables with column tag labels, lineage from dbt.

Payloads are plain JSON shaped like OpenMetadata's create requests; they are validated with
``openmetadata-ingestion``'s own pydantic models by :mod:`governance.om_validate`, run in a
separate venv (the package is under the Collate Community License: an optional extra, never
a core dependency). ``push`` sends them to a server's REST API when one is configured.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from governance.levels import ENTITY_POLICIES, FREE_TEXT_TAG, LEVEL_LABELS_FR, PII_NON_SENSITIVE, PII_SENSITIVE
from governance.state import Classifier
from lakehouse.errors import LakehouseError

SERVICE = "hyperviseur"
DATABASE = "lake"
LEVEL_CLASSIFICATION = "NiveauProtection"
OM_VENV_PYTHON = Path(__file__).resolve().parents[1] / ".venv-om" / "bin" / "python"
NAMESPACE = uuid.UUID("6f1c1f0e-8d0b-4f5e-9a43-2b7c0d5e9a11")
TYPES = {
    "string": "VARCHAR",
    "large_string": "VARCHAR",
    "int64": "BIGINT",
    "int32": "INT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "bool": "BOOLEAN",
    "date32[day]": "DATE",
}


def _type(arrow_type: str) -> str:
    if arrow_type.startswith("timestamp"):
        return "TIMESTAMP"
    return TYPES.get(arrow_type, "UNKNOWN")


def _label(tag_fqn: str, decided: bool) -> dict:
    return {
        "tagFQN": tag_fqn,
        "source": "Classification",
        "labelType": "Manual" if decided else "Automated",
        "state": "Confirmed" if decided else "Suggested",
    }


def table_fqn(name: str, zone: str) -> str:
    return f"{SERVICE}.{DATABASE}.{zone}.{name}"


def build_payloads(lh, classifier: Classifier | None = None) -> dict[str, list[dict]]:
    cl = classifier or Classifier(lh)
    classifications = [
        {"name": "PII", "description": "Données personnelles (RGPD).", "mutuallyExclusive": True},
        {
            "name": "PersonalData",
            "description": "Type de donnée personnelle détecté ou déclaré.",
            "mutuallyExclusive": False,
        },
        {"name": LEVEL_CLASSIFICATION, "description": "Niveau de protection (IGI 1300).", "mutuallyExclusive": True},
    ]
    tags = [
        {
            "classification": "PII",
            "name": PII_SENSITIVE.split(".")[1],
            "description": "Donnée personnelle sensible ou identifiante.",
        },
        {
            "classification": "PII",
            "name": PII_NON_SENSITIVE.split(".")[1],
            "description": "Donnée personnelle non sensible.",
        },
    ]
    personal = sorted({p.personal_tag for p in ENTITY_POLICIES.values()} | {FREE_TEXT_TAG})
    tags += [
        {
            "classification": "PersonalData",
            "name": t.split(".", 1)[1],
            "description": f"Donnée personnelle : {t.split('.', 1)[1]}.",
        }
        for t in personal
    ]
    tags += [
        {"classification": LEVEL_CLASSIFICATION, "name": lv, "description": f"Niveau {label}."}
        for lv, label in LEVEL_LABELS_FR.items()
    ]
    tables, lineage = [], []
    zones = {}
    for name in cl.datasets():
        st = cl.state(name)
        entry = lh.registry.find(name)
        zone = entry.zone if entry else ("raw" if "." in name else "curated")
        zones[name] = zone
        types = {c["name"]: c["type"] for c in (entry.schema if entry else [])}
        columns = [
            {
                "name": c.name,
                "dataType": _type(c.type or types.get(c.name, "")),
                "dataTypeDisplay": c.type or types.get(c.name, "inconnu"),
                "tags": [_label(t, c.decision is not None) for t in c.tags if t.count(".") == 1],
            }
            for c in st.columns.values()
        ]
        if not columns:
            continue
        tables.append(
            {
                "name": name,
                "databaseSchema": f"{SERVICE}.{DATABASE}.{zone}",
                "tableType": "External",
                "description": (entry.description if entry else "") or f"Jeu de données {name}",
                "columns": columns,
                "tags": [_label(f"{LEVEL_CLASSIFICATION}.{st.level}", st.declassification is not None)],
            }
        )
    for name in cl.datasets():
        for parent in cl.state(name).parents:
            src, dst = table_fqn(parent, zones.get(parent, "raw")), table_fqn(name, zones.get(name, "curated"))
            lineage.append(
                {
                    "edge": {
                        "fromEntity": {
                            "id": str(uuid.uuid5(NAMESPACE, src)),
                            "type": "table",
                            "fullyQualifiedName": src,
                        },
                        "toEntity": {"id": str(uuid.uuid5(NAMESPACE, dst)), "type": "table", "fullyQualifiedName": dst},
                        "lineageDetails": {"source": "DbtLineage", "description": "Lignée issue du manifeste dbt"},
                    }
                }
            )
    return {"classifications": classifications, "tags": tags, "tables": tables, "lineage": lineage}


def write_payloads(payloads: dict[str, list[dict]], folder: Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for kind, items in payloads.items():
        (folder / f"{kind}.json").write_text(json.dumps(items, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


def validate_payloads(folder: Path, python: Path | None = None) -> dict:
    """Validate a payload folder with openmetadata-ingestion's models (optional venv ``.venv-om``)."""
    python = Path(python or OM_VENV_PYTHON)
    if not python.is_file():
        raise LakehouseError(
            f"environnement OpenMetadata absent ({python}) : le créer avec "
            "« python3 -m venv .venv-om && .venv-om/bin/pip install openmetadata-ingestion==2.0.7.0 'dbt-core>=1.10,<1.12' »"
        )
    script = Path(__file__).with_name("om_validate.py")
    proc = subprocess.run([str(python), str(script), str(folder)], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise LakehouseError(f"charges utiles OpenMetadata invalides : {proc.stderr.strip()[-2000:] or proc.stdout}")
    return json.loads(proc.stdout)


def push(payloads: dict[str, list[dict]], host: str, token: str | None = None) -> None:
    """PUT the payloads to an OpenMetadata server (create-or-update endpoints)."""
    host = host.rstrip("/")
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    endpoints = [
        ("classifications", "/v1/classifications"),
        ("tags", "/v1/tags"),
        ("tables", "/v1/tables"),
        ("lineage", "/v1/lineage"),
    ]
    for kind, path in endpoints:
        for item in payloads.get(kind, []):
            req = urllib.request.Request(host + path, data=json.dumps(item).encode(), headers=headers, method="PUT")
            try:
                urllib.request.urlopen(req, timeout=30).read()
            except (urllib.error.URLError, OSError) as exc:
                raise LakehouseError(f"OpenMetadata {host}{path} : envoi refusé ({exc})") from exc
