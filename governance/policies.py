"""Roles, clearances, and which serving catalog (one DuckDB file per clearance) each role reads.

The serving layer is physically split by clearance (:mod:`governance.serving`): three
catalog files, each holding only views over ITS OWN lake prefix:
- ``public`` (schema ``public``): PUBLIC marts, from ``public/<model>/data.parquet``;
- ``masked`` (schema ``masked``): every mart, personal columns pseudonymised (keyed hash)
  and free text redacted, from ``masked/<model>/data.parquet``;
- ``clear`` (schema ``curated``): clear marts up to the Steward's clearance
  (:data:`CLEAR_CATALOG_MAX`), from ``curated/<model>/data.parquet``.

| role | clearance | catalogs | reads a mart of level L from |
|---|---|---|---|
| ``public`` (citizen) | PUBLIC | public | ``public`` if L is PUBLIC, else nothing |
| ``agent_<service>`` (eau, voirie, …) | INTERNE | public, masked | ``public`` if PUBLIC, else ``masked`` |
| ``analyst`` | INTERNE | public, masked | ``public`` if PUBLIC, else ``masked`` |
| ``steward`` | CONFIDENTIEL | public, masked, clear | ``curated`` up to CONFIDENTIEL, else ``masked`` |
| ``admin`` | DIFFUSION_RESTREINTE | public, masked, clear | as the steward |

DIFFUSION_RESTREINTE marts are never served in clear: no catalog file holds them unmasked
(the administrator reads them from the lake with the platform tools, audited, not through
the serving layer). An INTERNE mart without personal data reads the same in ``masked`` as
in clear, so agents lose nothing by not having the clear catalog.
"""

from __future__ import annotations

from governance.levels import CONFIDENTIEL, DIFFUSION_RESTREINTE, INTERNE, PUBLIC, rank
from lakehouse.errors import LakehouseError

ROLES = {"public": PUBLIC, "agent": INTERNE, "analyst": INTERNE, "steward": CONFIDENTIEL, "admin": DIFFUSION_RESTREINTE}
# Serving catalogs (clearance of the file -> schema of its views); see governance.serving.
CATALOGS = {"public": "public", "masked": "masked", "clear": "curated"}
CLEAR_CATALOG_MAX = ROLES["steward"]  # highest level served in clear (the clear catalog's ceiling)
SERVICES = (
    "eau",
    "voirie",
    "proprete",
    "eclairage",
    "environnement",
    "securite",
    "energie",
    "relation_usagers",
    "communication",
)


class AccessDenied(LakehouseError):
    pass


def clearance(role: str) -> str:
    base = "agent" if role.startswith("agent_") and role[6:] in SERVICES else role
    if base not in ROLES:
        raise LakehouseError(f"rôle inconnu « {role} » (attendu : {', '.join(ROLES)}, agent_<service>)")
    return ROLES[base]


def catalogs_for(role: str) -> tuple[str, ...]:
    """Serving catalogs (files) a role may open: only those of its clearance."""
    cleared = rank(clearance(role))
    if cleared <= rank(PUBLIC):
        return ("public",)
    if cleared < rank(CLEAR_CATALOG_MAX):
        return ("public", "masked")
    return ("public", "masked", "clear")


def in_clear_catalog(level: str) -> bool:
    return rank(level) <= rank(CLEAR_CATALOG_MAX)


def schema_for(role: str, level: str) -> str | None:
    """Serving schema a role reads for a dataset of ``level``; None when it may not read it at all."""
    catalogs = catalogs_for(role)
    if "clear" in catalogs and in_clear_catalog(level) and rank(clearance(role)) >= rank(level):
        return CATALOGS["clear"]
    if level == PUBLIC:
        return CATALOGS["public"]
    return CATALOGS["masked"] if "masked" in catalogs else None


def check_access(lh, role: str, dataset: str, level: str, actor: str) -> str:
    """Schema to read, or :class:`AccessDenied` (recorded in the audit log)."""
    schema = schema_for(role, level)
    if schema is None:
        from lakehouse.audit import AuditLog

        AuditLog(lh).append("access.denied", actor, {"role": role, "dataset": dataset, "level": level})
        raise AccessDenied(f"accès refusé : le rôle « {role} » n'est pas habilité au niveau {level} de « {dataset} »")
    return schema
