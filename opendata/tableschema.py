"""Table Schema (Frictionless) of a published dataset, after schema.data.gouv.fr's conventions.

Written beside each dataset page as ``datasets/<name>.schema.json``. Following the French
schema catalogue: top-level ``name``, ``title``, ``description``, ``countryCode``,
``homepage``, ``path``, ``version``, ``created``, ``lastModified``, ``contributors``,
``missingValues`` and ``fields``; each field has ``name``, ``title``, ``description``,
``type`` (with ``format`` for UTC timestamps, as the CSV writes them) and an ``example``
from the first published row. Units (column ``meta.unit`` in dbt) go into the description,
Table Schema having no unit property.
"""

from __future__ import annotations

SCHEMA_URL = "https://frictionlessdata.io/schemas/table-schema.json"
TYPES = {
    "VARCHAR": "string",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "datetime",
    "TIMESTAMP WITH TIME ZONE": "datetime",
    "TINYINT": "integer",
    "SMALLINT": "integer",
    "INTEGER": "integer",
    "BIGINT": "integer",
    "HUGEINT": "integer",
    "FLOAT": "number",
    "DOUBLE": "number",
    "REAL": "number",
}


def field_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return "number"
    return TYPES.get(duckdb_type, "string")


def build(manifest: dict, base_url: str) -> dict:
    meta = manifest["metadata"]
    name = manifest["dataset"]
    base = base_url.rstrip("/") + "/"
    units = meta.get("units") or {}
    first = manifest["preview"][0] if manifest.get("preview") else []
    fields = []
    for i, col in enumerate(manifest["columns"]):
        description = col.get("description") or col["name"]
        if units.get(col["name"]):
            description += f" (unité : {units[col['name']]})"
        f = {
            "name": col["name"],
            "title": col.get("description") or col["name"],
            "description": description,
            "type": field_type(col["type"]),
        }
        if col["type"] == "TIMESTAMP WITH TIME ZONE":
            f["format"] = "%Y-%m-%dT%H:%M:%SZ"  # how the CSV export writes them (UTC)
        if i < len(first) and first[i] is not None:
            f["example"] = str(first[i])
        fields.append(f)
    return {
        "$schema": SCHEMA_URL,
        "name": name,
        "title": meta["title"],
        "description": meta["description"],
        "countryCode": "FR",
        "homepage": f"{base}datasets/{name}.html",
        "path": f"{base}datasets/{name}.schema.json",
        "version": manifest["version"],
        "created": (manifest.get("first_published_at") or manifest["published_at"])[:10],
        "lastModified": manifest["published_at"][:10],
        "contributors": [{"title": meta["producer"], "role": "author"}],
        "missingValues": [""],
        "fields": fields,
    }
