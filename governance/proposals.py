"""Scanner proposals in the lake: ``_meta/governance/proposals/<dataset>/<scanned_at>.json``
(history) and ``…/latest.json`` (the one the steward reviews)."""

from __future__ import annotations

from lakehouse.errors import ObjectNotFound

PREFIX = "_meta/governance/proposals/"


def save(lh, proposal: dict) -> str:
    stamp = proposal["scanned_at"].replace(":", "").replace("+0000", "Z")
    base = f"{PREFIX}{proposal['dataset']}/"
    lh.lake.write_json(f"{base}history/{stamp}.json", proposal)
    lh.lake.write_json(f"{base}latest.json", proposal)
    return f"{base}latest.json"


def latest(lh, dataset: str) -> dict | None:
    try:
        return lh.lake.read_json(f"{PREFIX}{dataset}/latest.json")
    except ObjectNotFound:
        return None


def datasets(lh) -> list[str]:
    return sorted(
        {o.key[len(PREFIX) :].split("/", 1)[0] for o in lh.storage.list(PREFIX) if o.key.endswith("/latest.json")}
    )
