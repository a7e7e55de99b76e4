"""Priority score of an incident (0–100) from severity, confidence, exposure, urgency and duration.

Weights are explicit so operators can read why an incident ranks where it does; each
component is in [0, 1] and the breakdown is kept with the incident.
"""

from __future__ import annotations

import math

from alerting.signals import SEVERITIES, URGENCIES

WEIGHTS = {"severite": 0.35, "confiance": 0.15, "exposition": 0.25, "urgence": 0.15, "duree": 0.10}
POPULATION_REF = 50_000  # exposure is 1 for the whole commune-sized population
DURATION_REF_S = 24 * 3600


def components(
    severity: str, confidence: float, population: int, sensitive_sites: int, urgency: str, duration_s: float
) -> dict[str, float]:
    exposure = 0.7 * min(1.0, math.log1p(max(population, 0)) / math.log1p(POPULATION_REF)) + 0.3 * min(
        1.0, sensitive_sites / 3
    )
    return {
        "severite": (SEVERITIES.index(severity) + 1) / len(SEVERITIES) if severity in SEVERITIES else 0.25,
        "confiance": max(0.0, min(1.0, confidence)),
        "exposition": exposure,
        "urgence": (URGENCIES.index(urgency) + 1) / len(URGENCIES) if urgency in URGENCIES else 0.5,
        "duree": min(1.0, math.log1p(max(duration_s, 0) / 60) / math.log1p(DURATION_REF_S / 60)),
    }


def score(parts: dict[str, float]) -> float:
    return round(100 * sum(WEIGHTS[k] * v for k, v in parts.items()), 1)


HIGH_PRIORITY = 70  # from here an incident is "high": red band, audible cue on the operators' page
MEDIUM_PRIORITY = 45


def band(priority: float) -> str:
    """The priority band of the operators' page: ``haute``, ``moyenne`` or ``basse``."""
    return "haute" if priority >= HIGH_PRIORITY else ("moyenne" if priority >= MEDIUM_PRIORITY else "basse")
