"""Roles, clearances and which serving schema each role reads.

The serving DuckDB has three schemas with the same view names:
- ``curated``: clear data — only for roles cleared for the dataset's level;
- ``masked``: personal columns pseudonymised (keyed hash), free text redacted by Presidio;
- ``public``: only datasets whose level is PUBLIC (citizens, open-data portal).

| role | clearance | reads |
|---|---|---|
| ``public`` (citizen) | PUBLIC | ``public`` only |
| ``agent_<service>`` (eau, voirie, …) | INTERNE | ``curated`` up to INTERNE, ``masked`` above |
| ``analyst`` | INTERNE | ``curated`` up to INTERNE, ``masked`` above |
| ``steward`` | CONFIDENTIEL | ``curated`` up to CONFIDENTIEL, ``masked`` above |
| ``admin`` | DIFFUSION_RESTREINTE | ``curated`` |
"""

from __future__ import annotations

from governance.levels import CONFIDENTIEL, DIFFUSION_RESTREINTE, INTERNE, PUBLIC, rank
from lakehouse.errors import LakehouseError

ROLES = {"public": PUBLIC, "agent": INTERNE, "analyst": INTERNE, "steward": CONFIDENTIEL, "admin": DIFFUSION_RESTREINTE}
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


def schema_for(role: str, level: str) -> str | None:
    """Serving schema a role reads for a dataset of ``level``; None when it may not read it at all."""
    cleared = clearance(role)
    if rank(cleared) >= rank(level):
        return "public" if role == "public" else "curated"
    return None if role == "public" else "masked"


def check_access(lh, role: str, dataset: str, level: str, actor: str) -> str:
    """Schema to read, or :class:`AccessDenied` (recorded in the audit log)."""
    schema = schema_for(role, level)
    if schema is None:
        from lakehouse.audit import AuditLog

        AuditLog(lh).append("access.denied", actor, {"role": role, "dataset": dataset, "level": level})
        raise AccessDenied(f"accès refusé : le rôle « {role} » n'est pas habilité au niveau {level} de « {dataset} »")
    return schema
