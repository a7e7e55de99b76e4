"""Score detections against injected incidents (ground truth): precision, recall, detection delay.

A detection (a raised signal) matches an injected incident when it belongs to the same
hazard family, concerns the same entity or district, and starts between ``early_s``
before the incident's start and ``grace_s`` after its end. Precision counts detections;
recall counts incidents; the delay is from the incident's start to its first match.
"""

from __future__ import annotations

import statistics
from datetime import datetime

from alerting.incidents import FAMILIES

KIND_FAMILY = {
    "leak": "eau",
    "pollution_peak": "air",
    "traffic_jam": "circulation",
    "lamp_failure_cluster": "eclairage",
    "report_burst": "signalements",
}


def _epoch(value) -> float:
    return (
        value
        if isinstance(value, (int, float))
        else datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    )


def matches(sig, truth: dict, early_s: float, grace_s: float) -> bool:
    if FAMILIES.get(sig.hazard, "autre") != KIND_FAMILY.get(truth["kind"]):
        return False
    same_place = (sig.entity_type, sig.entity_id) == (truth["entity_type"], truth["entity_id"]) or (
        sig.district_id is not None and sig.district_id == truth["district_id"]
    )
    return same_place and _epoch(truth["start"]) - early_s <= sig.ts <= _epoch(truth["end"]) + grace_s


def evaluate(signals, truth: list[dict], early_s: float = 600, grace_s: float = 3600) -> dict:
    raised = [s for s in signals if s.state == "raise"]
    matched_sig = [s for s in raised if any(matches(s, t, early_s, grace_s) for t in truth)]
    delays, found = {}, []
    for t in truth:
        hits = [s.ts for s in raised if matches(s, t, early_s, grace_s)]
        if hits:
            found.append(t["incident_id"])
            delays[t["incident_id"]] = max(0.0, min(hits) - _epoch(t["start"]))
    return {
        "detections": len(raised),
        "true_detections": len(matched_sig),
        "false_detections": [
            f"{s.source} {s.entity_type}:{s.entity_id} @ {datetime.fromtimestamp(s.ts):%d/%m %H:%M}"
            for s in raised
            if s not in matched_sig
        ],
        "precision": round(len(matched_sig) / len(raised), 3) if raised else 1.0,
        "recall": round(len(found) / len(truth), 3) if truth else 1.0,
        "missed": [t["incident_id"] for t in truth if t["incident_id"] not in found],
        "delay_s": {k: round(v) for k, v in delays.items()},
        "median_delay_s": round(statistics.median(delays.values())) if delays else None,
    }


def by_origin(signals, truth: list[dict], **kw) -> dict[str, dict]:
    """Evaluate rules, the anomaly detector and burst detection separately, then everything."""
    out = {}
    for origin in ("regle", "anomalie", "rafale"):
        sub = [s for s in signals if s.origin == origin]
        relevant = truth if origin != "rafale" else [t for t in truth if t["kind"] == "report_burst"]
        out[origin] = evaluate(sub, relevant, **kw)
    out["tout"] = evaluate(signals, truth, **kw)
    return out
