"""What Superset should show: the marts of the serving catalogs, documented by dbt.

One serving catalog file per clearance (``governance.serving``): every mart is in the
masked catalog; PUBLIC marts also in the public one, marts up to the Steward's clearance
also in the clear one. Columns and types come from the masked catalog (opened read-only,
metadata only: no Parquet is read); descriptions and certification from dbt's ``target/manifest.json``.
A mart is certified when its dbt ``meta.certified`` says so, or, by default, when it is
documented and covered by at least one dbt test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse.duck import open_catalog
from lakehouse.errors import LakehouseError

DATASET_SCHEMA = "masked"  # dashboards and agents read the masked views (public ones for PUBLIC marts)
CLEAR_SCHEMA = "curated"
PUBLIC_SCHEMA = "public"
# clearance -> (catalog file in the serving folder, schema of its views); as governance.serving.
CATALOGS = {
    "public": ("serving_public.duckdb", PUBLIC_SCHEMA),
    "masked": ("serving_masked.duckdb", DATASET_SCHEMA),
    "clear": ("serving_clear.duckdb", CLEAR_SCHEMA),
}
CERTIFIER = "Équipe données (dbt)"


@dataclass(frozen=True)
class MartColumn:
    name: str
    type: str
    description: str = ""

    @property
    def is_dttm(self) -> bool:
        return self.type.upper().startswith(("TIMESTAMP", "DATE"))


@dataclass(frozen=True)
class Mart:
    name: str
    columns: tuple[MartColumn, ...]
    description: str = ""
    certified: bool = False
    tests: int = 0
    public: bool = False  # in the public catalog
    clear: bool = False  # in the clear catalog
    meta: dict = field(default_factory=dict, compare=False)
    level: str | None = None  # classification, as the serving catalog's governance.datasets states it

    def column(self, name: str) -> MartColumn | None:
        return next((c for c in self.columns if c.name == name), None)


def serving_views(serving_db: Path) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """``{schema: {view: [(column, type), ...]}}`` of the serving catalog."""
    if not Path(serving_db).is_file():
        raise LakehouseError(
            f"catalogue de service introuvable : {serving_db} (le construire avec la gouvernance avant Superset)"
        )
    con = open_catalog(serving_db)
    try:
        rows = con.execute(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() ORDER BY table_schema, table_name, ordinal_position"
        ).fetchall()
    finally:
        con.close()
    views: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for schema, table, column, dtype in rows:
        views.setdefault(schema, {}).setdefault(table, []).append((column, dtype))
    return views


def serving_levels(serving_db: Path) -> dict[str, str]:
    """``{mart: level}`` from the catalog's ``governance.datasets`` (empty when it has none)."""
    con = open_catalog(serving_db)
    try:
        found = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'governance' AND table_name = 'datasets'"
        ).fetchone()[0]
        return dict(con.execute("SELECT model, level FROM governance.datasets").fetchall()) if found else {}
    finally:
        con.close()


def manifest_models(manifest: Path | None) -> dict[str, dict]:
    """dbt models by name with ``description``, ``columns``, ``meta`` and their test count."""
    if manifest is None or not Path(manifest).is_file():
        return {}
    try:
        data = json.loads(Path(manifest).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LakehouseError(f"manifeste dbt illisible : {manifest} ({exc})") from None
    nodes = data.get("nodes", {})
    tests: dict[str, int] = {}
    for node in nodes.values():
        if node.get("resource_type") == "test":
            for dep in node.get("depends_on", {}).get("nodes", []):
                tests[dep] = tests.get(dep, 0) + 1
    models = {}
    for uid, node in nodes.items():
        if node.get("resource_type") == "model":
            meta = {**node.get("meta", {}), **node.get("config", {}).get("meta", {})}
            models[node["name"]] = {
                "description": node.get("description", ""),
                "columns": {c: (v.get("description") or "") for c, v in node.get("columns", {}).items()},
                "meta": meta,
                "tests": tests.get(uid, 0),
            }
    return models


def catalog_files(serving_dir: Path) -> dict[str, Path]:
    """``{clearance: catalog file}`` in the serving folder."""
    return {name: Path(serving_dir) / file for name, (file, _schema) in CATALOGS.items()}


def load_marts(serving_dir: Path, manifest: Path | None = None) -> list[Mart]:
    """Every view of the masked catalog, with dbt documentation when the manifest has it."""
    files = catalog_files(serving_dir)
    views = serving_views(files["masked"])
    if DATASET_SCHEMA not in views:
        raise LakehouseError(f"le catalogue de service {files['masked']} n'a pas de schéma « {DATASET_SCHEMA} »")
    docs = manifest_models(manifest)
    public = set(serving_views(files["public"]).get(PUBLIC_SCHEMA, {}))
    clear = set(serving_views(files["clear"]).get(CLEAR_SCHEMA, {}))
    levels = serving_levels(files["masked"])
    marts = []
    for name, cols in sorted(views[DATASET_SCHEMA].items()):
        doc = docs.get(name, {})
        descriptions = doc.get("columns", {})
        described = bool(doc.get("description"))
        certified = bool(doc.get("meta", {}).get("certified", described and doc.get("tests", 0) > 0))
        marts.append(
            Mart(
                name=name,
                columns=tuple(MartColumn(c, t, descriptions.get(c, "")) for c, t in cols),
                description=doc.get("description", ""),
                certified=certified,
                tests=doc.get("tests", 0),
                public=name in public,
                clear=name in clear,
                meta=doc.get("meta", {}),
                level=levels.get(name),
            )
        )
    return marts
