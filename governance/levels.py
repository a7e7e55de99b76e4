"""Levels (IGI 1300 vocabulary) and OpenMetadata-compatible tags.

A Presidio entity maps to one ``PersonalData.<Type>`` tag, one ``PII.*`` tag (OpenMetadata's
own split: identifiers Sensitive, places / phones NonSensitive) and a minimum level.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.errors import LakehouseError
from lakehouse.registry import LEVELS

PUBLIC, INTERNE, CONFIDENTIEL, DIFFUSION_RESTREINTE = LEVELS
PII_SENSITIVE = "PII.Sensitive"
PII_NON_SENSITIVE = "PII.NonSensitive"
PERSONAL_PREFIX = "PersonalData."
FREE_TEXT_TAG = "PersonalData.FreeText"

LEVEL_LABELS_FR = {
    PUBLIC: "Public",
    INTERNE: "Interne",
    CONFIDENTIEL: "Confidentiel",
    DIFFUSION_RESTREINTE: "Diffusion restreinte",
}


@dataclass(frozen=True)
class EntityPolicy:
    personal_tag: str
    sensitive: bool
    level: str


# Presidio entity type -> tag and level. Entities absent from this table are not tagged.
ENTITY_POLICIES: dict[str, EntityPolicy] = {
    "PERSON": EntityPolicy("PersonalData.Person", True, CONFIDENTIEL),
    "EMAIL_ADDRESS": EntityPolicy("PersonalData.Email", True, CONFIDENTIEL),
    "PHONE_NUMBER": EntityPolicy("PersonalData.Phone", False, CONFIDENTIEL),
    "IBAN_CODE": EntityPolicy("PersonalData.IBAN", True, CONFIDENTIEL),
    "FR_NIR": EntityPolicy("PersonalData.NIR", True, DIFFUSION_RESTREINTE),
    "FR_LICENCE_PLATE": EntityPolicy("PersonalData.LicencePlate", True, CONFIDENTIEL),
    "FR_ADDRESS": EntityPolicy("PersonalData.Address", False, INTERNE),
    "FR_POSTCODE": EntityPolicy("PersonalData.Postcode", False, INTERNE),
    "LOCATION": EntityPolicy("PersonalData.Location", False, INTERNE),
    "FR_SIRET": EntityPolicy("PersonalData.SIRET", False, INTERNE),
    "FR_SIREN": EntityPolicy("PersonalData.SIREN", False, INTERNE),
    "CREDIT_CARD": EntityPolicy("PersonalData.CreditCard", True, DIFFUSION_RESTREINTE),
    "IP_ADDRESS": EntityPolicy("PersonalData.IPAddress", True, CONFIDENTIEL),
}

TAG_LEVELS = {p.personal_tag: p.level for p in ENTITY_POLICIES.values()}
TAG_LEVELS[FREE_TEXT_TAG] = CONFIDENTIEL
TAG_LEVELS[PII_SENSITIVE] = CONFIDENTIEL
TAG_LEVELS[PII_NON_SENSITIVE] = INTERNE


def check_level(level: str) -> str:
    if level not in LEVELS:
        raise LakehouseError(f"niveau inconnu « {level} » (attendu : {', '.join(LEVELS)})")
    return level


def rank(level: str | None) -> int:
    return LEVELS.index(check_level(level)) if level else 0


def max_level(*levels: str | None) -> str:
    present = [check_level(lv) for lv in levels if lv]
    return max(present, key=LEVELS.index) if present else PUBLIC


def tags_for_entities(entities) -> list[str]:
    """Sorted tags for a set of entity types: ``PII.Sensitive`` wins over ``PII.NonSensitive``."""
    policies = [ENTITY_POLICIES[e] for e in entities if e in ENTITY_POLICIES]
    if not policies:
        return []
    pii = PII_SENSITIVE if any(p.sensitive for p in policies) else PII_NON_SENSITIVE
    return sorted({pii, *(p.personal_tag for p in policies)})


def level_for_tags(tags) -> str:
    return max_level(*(TAG_LEVELS.get(t) for t in tags))


def check_tag(tag: str) -> str:
    known = set(TAG_LEVELS) | {f"Tier.Tier{i}" for i in range(1, 6)}
    if tag not in known and not tag.startswith(PERSONAL_PREFIX):
        raise LakehouseError(
            f"étiquette inconnue « {tag} » (attendu : PII.Sensitive, PII.NonSensitive, PersonalData.<Type>)"
        )
    return tag


def is_pii(tags) -> bool:
    return any(t.startswith("PII.") for t in tags)
