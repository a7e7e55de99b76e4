"""Quality results kept in the lake, one JSON document per dataset and run.

Layout: ``_meta/quality/<dataset>/<run_id>.json`` for the history and
``_meta/quality/<dataset>/latest.json`` for the last run, so readers (open-data
publication, the HTML report) need one GET to know whether a dataset may be used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from lakehouse.errors import ObjectNotFound
from lakehouse.lake import Zone
from lakehouse.platform import Lakehouse

PREFIX = f"{Zone.META.value}/quality/"
BLOCKING = "blocking"
WARNING = "warning"


@dataclass
class CheckOutcome:
    """One expectation run on one dataset."""

    check: str  # e.g. "valeurs_non_nulles:station_id"
    severity: str  # BLOCKING or WARNING
    passed: bool
    message: str  # French, shown to stewards and in the HTML report
    observed: dict = field(default_factory=dict)

    def brief(self) -> dict:
        return {"check": self.check, "severity": self.severity, "message": self.message}


@dataclass
class QualityResult:
    dataset: str  # raw "iot.air_quality" or mart "mart_traffic_hourly"
    run_at: str  # ISO-8601 UTC
    blocking_passed: bool
    failures: list[dict] = field(default_factory=list)  # failed blocking checks {check, severity, message}
    warnings: list[dict] = field(default_factory=list)  # failed warning checks {check, severity, message}
    checks: list[dict] = field(default_factory=list)  # every outcome, passed or not
    rows: int | None = None

    @classmethod
    def from_outcomes(
        cls, dataset: str, outcomes: list[CheckOutcome], rows: int | None = None, run_at: datetime | None = None
    ) -> QualityResult:
        run_at = (run_at or datetime.now(UTC)).isoformat()
        failed = [o for o in outcomes if not o.passed]
        return cls(
            dataset=dataset,
            run_at=run_at,
            blocking_passed=not any(o.severity == BLOCKING for o in failed),
            failures=[o.brief() for o in failed if o.severity == BLOCKING],
            warnings=[o.brief() for o in failed if o.severity != BLOCKING],
            checks=[asdict(o) for o in outcomes],
            rows=rows,
        )

    @classmethod
    def from_dict(cls, data: dict) -> QualityResult:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})


def _dataset_prefix(dataset: str) -> str:
    return f"{PREFIX}{dataset}/"


def save(lh: Lakehouse, result: QualityResult) -> str:
    """Store ``result`` (history entry, then ``latest.json``); returns the history key."""
    stamp = result.run_at.replace(":", "").replace("+", "Z").replace("-", "")
    key = f"{_dataset_prefix(result.dataset)}runs/{stamp}.json"
    lh.lake.write_json(key, asdict(result))
    lh.lake.write_json(f"{_dataset_prefix(result.dataset)}latest.json", asdict(result))
    return key


def latest(lh: Lakehouse, dataset_name: str) -> QualityResult | None:
    """The last quality result of ``dataset_name``, or None if it was never checked."""
    try:
        return QualityResult.from_dict(lh.lake.read_json(f"{_dataset_prefix(dataset_name)}latest.json"))
    except ObjectNotFound:
        return None


def all_latest(lh: Lakehouse) -> list[QualityResult]:
    """The last result of every checked dataset, sorted by name."""
    keys = [o.key for o in lh.storage.list(PREFIX) if o.key.endswith("/latest.json")]
    return sorted((QualityResult.from_dict(lh.lake.read_json(k)) for k in keys), key=lambda r: r.dataset)
