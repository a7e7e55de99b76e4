"""Roles, permissions, row-level security and dashboard access, from ``access.yaml``.

Every call replaces the state it manages (role permission lists, RLS rules named
``hv:<role>:<dataset>``, dashboard roles), so running it twice gives the same result.
Permissions are built from Superset's own ``Gamma`` (explore, build charts) and
``sql_lab`` roles plus data access: ``datasource_access`` per dataset, ``schema_access``
per serving schema — and ONLY on the databases of the role's clearance (one Superset
database per serving catalog, ``governance.policies.catalogs_for``):

| role | databases |
|---|---|
| Public | public |
| Agent_<service>, Analyst | masked, public |
| Steward | clear (marts up to CONFIDENTIEL only), masked, public |
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import yaml

from superset.catalog import CATALOGS, Mart
from superset.client import SupersetClient

HERE = Path(__file__).resolve().parent
ACCESS = HERE / "access.yaml"
RLS_PREFIX = "hv:"

WRITE_PERMISSIONS = {
    "can_write",
    "can_delete",
    "can_add",
    "can_edit",
    "can_save",
    "can_overwrite",
    "can_this_form_post",
    "can_import",
    "can_export",
    "can_tag",
    "can_copy_dash",
    "can_save_dash",
    "can_add_slices",
    "can_favorite_status",
    "can_set_embedded",
}
PUBLIC_PERMISSIONS = {
    "can_read",
    "can_dashboard",
    "can_explore_json",
    "can_time_range",
    "can_slice",
    "can_explore",
    "can_dashboard_permalink",
}
PUBLIC_HIDDEN_VIEWS = {
    "Database",
    "Query",
    "SavedQuery",
    "Log",
    "SQLLab",
    "UserInfoEditView",
    "ResetMyPasswordView",
    "RowLevelSecurity",
    "SecurityRestApi",
    "Tags",
    "Tag",
    "ReportSchedule",
    "AnnotationLayerRestApi",
    "Annotation",
    "CssTemplate",
    "DynamicPlugin",
    "Row Level Security",
}


# Superset role -> serving catalogs it may read (as governance.policies.catalogs_for).
AGENT_CATALOGS = ("masked", "public")
ROLE_CATALOGS = {"Public": ("public",), "Analyst": ("masked", "public"), "Steward": ("clear", "masked", "public")}


@dataclass(frozen=True)
class RolePlan:
    """What one role may read: marts (with optional RLS clause), in which catalogs, whole schemas."""

    name: str
    datasets: dict[str, str | None]  # mart -> RLS clause (None: all rows)
    catalogs: tuple[str, ...] = AGENT_CATALOGS  # clearances of the databases the role may read
    schemas: tuple[str, ...] = ()  # clearances whose whole schema the role reads (SQL Lab)
    sql_lab: bool = False
    read_only: bool = False
    public: bool = False

    def grants(self, marts: list[Mart]) -> set[tuple[str, str]]:
        """(clearance, mart) of every dataset the role reads: only those its catalogs hold."""
        from superset.bundle import has_dataset

        by_name = {m.name: m for m in marts}
        return {
            (c, name)
            for name in self.datasets
            if name in by_name
            for c in self.catalogs
            if has_dataset(by_name[name], c)
        }


def plan_roles(marts: list[Mart], access: Path = ACCESS) -> list[RolePlan]:
    conf = yaml.safe_load(access.read_text(encoding="utf-8"))
    names = [m.name for m in marts]
    plans = []
    for service, entry in conf["services"].items():
        datasets: dict[str, str | None] = {}
        for pattern in [*entry.get("datasets", []), conf["uploads"].format(service=service)]:
            datasets.update({n: None for n in fnmatch.filter(names, pattern)})
        for mart, clause in conf.get("shared", {}).items():
            try:
                datasets[mart] = clause.format(service=service, **entry)
            except KeyError:
                continue
        plans.append(RolePlan(f"Agent_{service}", {k: v for k, v in datasets.items() if k in names}, sql_lab=True))
    everything = {n: None for n in names}
    analyst, steward, public = ROLE_CATALOGS["Analyst"], ROLE_CATALOGS["Steward"], ROLE_CATALOGS["Public"]
    plans.append(RolePlan("Analyst", everything, analyst, schemas=analyst, sql_lab=True))
    plans.append(RolePlan("Steward", everything, steward, schemas=steward, sql_lab=True, read_only=True))
    plans.append(RolePlan("Public", {m.name: None for m in marts if m.public}, public, read_only=True, public=True))
    return plans


class AccessProvisioner:
    """Applies role plans to one Superset through its REST API."""

    def __init__(self, client: SupersetClient, databases: dict[str, str] | str | None = None):
        from superset.bundle import DATABASES

        self.c = client
        # clearance -> Superset database name (a single name, the former signature, means the defaults)
        self.databases = databases if isinstance(databases, dict) else DATABASES
        self._pvms: dict[tuple[str, str], int] | None = None

    # permissions ------------------------------------------------------------------------
    def pvms(self, refresh: bool = False) -> dict[tuple[str, str], int]:
        if self._pvms is None or refresh:
            self._pvms = {
                (r["permission"]["name"], r["view_menu"]["name"]): r["id"]
                for r in self.c.iterate("/api/v1/security/permissions-resources/", page_size=500)
            }
        return self._pvms

    def role_id(self, name: str) -> int:
        role = self.c.find("/api/v1/security/roles/", "name", name)
        if role is None:
            role = {"id": self.c.post("/api/v1/security/roles/", {"name": name})["id"]}
        return role["id"]

    def role_permissions(self, name: str) -> list[tuple[str, str]]:
        rid = self.role_id(name)
        rows = self.c.get(f"/api/v1/security/roles/{rid}/permissions/")["result"]
        return [(r["permission_name"], r["view_menu_name"]) for r in rows]

    def ensure_pvm(self, permission: str, view: str) -> int:
        """Id of a (permission, view) pair, created if Superset has not made it yet."""
        key = (permission, view)
        if key in self.pvms():
            return self.pvms()[key]
        perm = self.c.find("/api/v1/security/permissions/", "name", permission)
        perm_id = perm["id"] if perm else self.c.post("/api/v1/security/permissions/", {"name": permission})["id"]
        res = self.c.find("/api/v1/security/resources/", "name", view)
        view_id = res["id"] if res else self.c.post("/api/v1/security/resources/", {"name": view})["id"]
        pvm = self.c.post(
            "/api/v1/security/permissions-resources/", {"permission_id": perm_id, "view_menu_id": view_id}
        )
        self.pvms()[key] = pvm["id"]
        return pvm["id"]

    # roles ------------------------------------------------------------------------------
    def apply(self, plans: list[RolePlan], datasets: dict[tuple[str, str], dict]) -> dict[str, int]:
        """Create/update every role; ``datasets`` maps (clearance, mart) to its Superset dataset row."""
        gamma = self.role_permissions("Gamma")
        sql_lab = self.role_permissions("sql_lab")
        role_ids = {}
        for plan in plans:
            base = [p for p in gamma if not (plan.read_only and p[0] in WRITE_PERMISSIONS)]
            if plan.public:
                base = [p for p in gamma if p[0] in PUBLIC_PERMISSIONS and p[1] not in PUBLIC_HIDDEN_VIEWS]
            if plan.sql_lab:
                base += [p for p in sql_lab if not (plan.read_only and p[0] in WRITE_PERMISSIONS) or p[1] == "SQLLab"]
            ids = {self.pvms()[p] for p in base if p in self.pvms()}
            for key in sorted(k for k in datasets if k[1] in plan.datasets and k[0] in plan.catalogs):
                ids.add(self.ensure_pvm("datasource_access", datasets[key]["perm"]))
            for clearance in plan.schemas:
                schema = CATALOGS[clearance][1]
                ids.add(self.ensure_pvm("schema_access", f"[{self.databases[clearance]}].[{schema}]"))
            rid = self.role_id(plan.name)
            self.c.post(f"/api/v1/security/roles/{rid}/permissions", {"permission_view_menu_ids": sorted(ids)})
            role_ids[plan.name] = rid
        return role_ids

    def apply_rls(self, plans: list[RolePlan], datasets: dict[tuple[str, str], dict], role_ids: dict[str, int]) -> int:
        """One rule per (role, mart) with a clause, on every dataset of the mart the role reads.

        Stale ``hv:`` rules are removed.
        """
        existing = {
            r["name"]: r["id"] for r in self.c.iterate("/api/v1/rowlevelsecurity/") if r["name"].startswith(RLS_PREFIX)
        }
        wanted = set()
        for plan in plans:
            for mart, clause in plan.datasets.items():
                if not clause:
                    continue
                tables = sorted(v["id"] for k, v in datasets.items() if k[1] == mart and k[0] in plan.catalogs)
                if not tables:
                    continue
                name = f"{RLS_PREFIX}{plan.name}:{mart}"
                wanted.add(name)
                body = {
                    "name": name,
                    "filter_type": "Regular",
                    "tables": tables,
                    "roles": [role_ids[plan.name]],
                    "clause": clause,
                    "group_key": "",
                    "description": f"Lignes de {plan.name} dans {mart} (provisionné)",
                }
                if name in existing:
                    self.c.put(f"/api/v1/rowlevelsecurity/{existing[name]}", body)
                else:
                    self.c.post("/api/v1/rowlevelsecurity/", body)
        for name in set(existing) - wanted:
            self.c.delete(f"/api/v1/rowlevelsecurity/{existing[name]}")
        return len(wanted)

    def apply_dashboard_roles(
        self,
        plans: list[RolePlan],
        dashboards: dict[str, dict],
        needs: dict[str, set[tuple[str, str]]],
        role_ids: dict[str, int],
        marts: list[Mart],
    ) -> dict[str, list[str]]:
        """A dashboard is opened by every role that can read all of its datasets ((clearance, mart))."""
        granted = {}
        grants = {p.name: p.grants(marts) for p in plans}
        for slug, dash in dashboards.items():
            names = [p.name for p in plans if needs.get(slug) and needs[slug] <= grants[p.name]]
            self.c.put(f"/api/v1/dashboard/{dash['id']}", {"roles": [role_ids[n] for n in names], "published": True})
            granted[slug] = names
        return granted
