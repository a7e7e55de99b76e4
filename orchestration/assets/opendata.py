"""Open-data publication as one orchestration step (the lead wires it into Dagster).

Call :func:`publish_opendata` from an asset that depends on the marts and their quality
checks; its return value is suitable as asset metadata.
"""

from __future__ import annotations

from opendata.publish import publish


def publish_opendata(lh, datasets: list[str] | None = None, actor: str = "dagster") -> dict:
    """Publish what passes the gates; returns counts and reasons for the run's metadata."""
    report = publish(lh, datasets, actor=actor)
    return {
        "published": report.published,
        "unchanged": report.unchanged,
        "refused": report.refused,
        "withdrawn": report.withdrawn,
        "online": report.online,
    }
