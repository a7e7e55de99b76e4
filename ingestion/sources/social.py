"""Public social-media posts as JSON lines → ``social.posts``.

One JSON object per line: id, author handle, text, time, optional geotag (``{"lat", "lon"}``,
a GeoJSON point, or ``lat``/``lon`` fields). A line that is not JSON is quarantined with its
line number; the rest of the file goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ingestion.datasets import SOCIAL_POSTS
from ingestion.formats.values import parse_datetime
from ingestion.sources import register
from ingestion.sources.base import MAPPING_ERRORS, Batch, Context, RowReject, Source, mapping_reject
from ingestion.sources.jsondoc import first, json_lines, point

ROW_UNIT = "ligne du fichier JSON lines"
CHUNK = 50_000


@register
class SocialSource(Source):
    name = "social"
    label = "Messages des réseaux sociaux (JSON lines)"
    suffixes = (".jsonl", ".ndjson")
    datasets = (SOCIAL_POSTS,)

    def read(self, path: Path, ctx: Context) -> Iterator[Batch]:
        batch = Batch(SOCIAL_POSTS, [], [], ROW_UNIT)
        for number, obj, error in json_lines(path, ctx.limits, ctx.tick):
            if error or not isinstance(obj, dict):
                batch.rejects.append(RowReject(number, None, error or "un objet JSON est attendu", None))
            else:
                try:
                    batch.records.append(to_post(obj, ctx.tz))
                    batch.numbers.append(number)
                except MAPPING_ERRORS as exc:
                    batch.rejects.append(mapping_reject(number, exc, obj, "posted_at"))
            if len(batch.records) + len(batch.rejects) >= CHUNK:
                yield batch
                batch = Batch(SOCIAL_POSTS, [], [], ROW_UNIT)
        if batch.records or batch.rejects:
            yield batch


def to_post(obj: dict, tz: str) -> dict:
    author = first(obj, "author_handle", "author", "handle", "user")
    if isinstance(author, dict):
        author = first(author, "handle", "screen_name", "username", "name")
    when = first(obj, "posted_at", "created_at", "time", "ts", "timestamp")
    posted, zone = parse_datetime(when, tz=tz) if when is not None else (None, None)
    geo = first(obj, "geotag", "geo", "location", "coordinates")
    lat, lon = first(obj, "lat", "latitude"), first(obj, "lon", "lng", "longitude")
    if isinstance(geo, dict):
        if "coordinates" in geo:
            lat, lon = point(geo)
        else:
            lat, lon = first(geo, "lat", "latitude"), first(geo, "lon", "lng", "longitude")
    return {
        "post_id": None if first(obj, "post_id", "id") is None else str(first(obj, "post_id", "id")),
        "platform": first(obj, "platform", "network", "source"),
        "author_handle": author,
        "text": first(obj, "text", "content", "message"),
        "posted_at": posted,
        "source_tz": zone,
        "lat": lat,
        "lon": lon,
    }
