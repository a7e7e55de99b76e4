"""What a rule or detector decides about one entity: raise, update or clear a signal."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SEVERITIES = ("Minor", "Moderate", "Severe", "Extreme")  # CAP 1.2 order, least to most
URGENCIES = ("Past", "Future", "Expected", "Immediate")
CERTAINTIES = ("Unlikely", "Possible", "Likely", "Observed")


@dataclass
class Signal:
    source: str  # rule or detector id
    origin: str  # "regle" | "anomalie" | "rafale"
    state: str  # "raise" | "clear"
    hazard: str  # leak | pollution | traffic | lighting | reports | energy | weather | …
    entity_type: str
    entity_id: str
    ts: float  # event time (epoch s) of the deciding message
    district_id: str | None = None
    severity: str = "Moderate"
    urgency: str = "Expected"
    certainty: str = "Likely"
    category: str = "Infra"  # CAP category
    confidence: float = 0.8
    value: float | None = None
    threshold: float | None = None
    event_fr: str = ""
    headline_fr: str = ""
    instruction_fr: str = ""
    details: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.source}|{self.entity_type}:{self.entity_id}"

    def to_dict(self) -> dict:
        return asdict(self)
