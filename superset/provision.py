"""``hyperviseur superset provision``: databases, datasets, dashboards, roles and RLS, idempotently.

One Superset database per serving catalog (public, masked, clear); roles get only the
databases of their clearance (``superset/access.py``).

Everything goes through Superset's REST API as the admin: the assets bundle is imported
(overwriting the same UUIDs), then roles, row-level security and dashboard access are set
to exactly what ``access.yaml`` describes for the marts present in the serving catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from superset.access import AccessProvisioner, plan_roles
from superset.bundle import ASSETS, DATABASES, build_bundle, dashboard_datasets, dataset_name, dataset_uuid
from superset.catalog import load_marts
from superset.client import SupersetApiError, SupersetClient
from superset.service import ROOT, Instance

MANIFEST = ROOT / "dbt_project" / "target" / "manifest.json"


@dataclass
class ProvisionReport:
    datasets: list[str]
    dashboards: dict[str, list[str]]  # slug -> roles allowed to open it
    skipped_dashboards: list[str]
    rls_rules: int
    roles: list[str] = field(default_factory=list)


def admin_client(inst: Instance) -> SupersetClient:
    return SupersetClient.break_glass(inst.url, inst.admin_user, inst.admin_password)


def provision(inst: Instance, manifest: Path | None = MANIFEST, assets: Path = ASSETS) -> ProvisionReport:
    serving_dir = inst.settings.serving_dir
    marts = load_marts(serving_dir, manifest)
    bundle = build_bundle(marts, serving_dir, assets)
    client = admin_client(inst)
    client.import_assets(bundle.data)

    datasets: dict[tuple[str, str], dict] = {}
    for clearance, name in DATABASES.items():
        database = client.find("/api/v1/database/", "database_name", name)
        if database is None:
            raise SupersetApiError(f"base « {name} » absente après l'import du lot")
        rows = client.iterate("/api/v1/dataset/", [{"col": "database", "opr": "rel_o_m", "value": database["id"]}])
        names = {dataset_name(m, clearance): m for m in bundle.datasets}
        for r in rows:
            if r["table_name"] in names:
                datasets[(clearance, names[r["table_name"]])] = {
                    "id": r["id"],
                    "perm": f"[{name}].[{r['table_name']}](id:{r['id']})",
                }

    access = AccessProvisioner(client, DATABASES)
    plans = plan_roles(marts)
    role_ids = access.apply(plans, datasets)
    rules = access.apply_rls(plans, datasets, role_ids)

    by_uuid = {dataset_uuid(m.name): m for m in marts}
    needs = {
        slug: {("public" if by_uuid[u].public else "masked", by_uuid[u].name) for u in uuids if u in by_uuid}
        for slug, uuids in dashboard_datasets(assets).items()
    }
    dashboards = {}
    for slug in bundle.dashboards:
        row = client.find("/api/v1/dashboard/", "slug", slug)
        if row is None:
            raise SupersetApiError(f"tableau de bord « {slug} » absent après l'import du lot")
        dashboards[slug] = row
    granted = access.apply_dashboard_roles(plans, dashboards, needs, role_ids, marts)
    return ProvisionReport(
        sorted({m for _c, m in datasets}), granted, list(bundle.skipped), rules, [p.name for p in plans]
    )
