"""Paris "Dans ma rue" CSV export → ``citizen.reports``.

The export has no status column: a declaration is recorded as ``open`` (the export is a
list of declarations, their follow-up lives in the city's work-order system). The
declaration date has no time: it is midnight, Paris time, converted to UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ingestion.datasets import CITIZEN_REPORTS
from ingestion.formats.tabular import ReadOptions, read_csv
from ingestion.formats.values import is_null, parse_datetime, parse_number
from ingestion.sources import register
from ingestion.sources.base import Batch, Context, FileRejected, RowReject, Source

REQUIRED = ("type", "datedecl")


@register
class DansMaRueSource(Source):
    name = "dansmarue"
    label = "Signalements « Dans ma rue » (export CSV de la Ville de Paris)"
    suffixes = (".csv",)
    datasets = (CITIZEN_REPORTS,)

    def read(self, path: Path, ctx: Context) -> Iterator[Batch]:
        tz = ctx.options.get("tz") or "Europe/Paris"
        for chunk in read_csv(path, ReadOptions(limits=ctx.limits), ctx.tick):
            names = [c.name for c in chunk.columns]
            missing = [r for r in REQUIRED if r not in names]
            if missing or not ({"id_dmr", "numero"} & set(names)):
                raise FileRejected(
                    f"{path.name} : colonnes attendues absentes ({', '.join(missing) or 'id_dmr/numero'}) : "
                    "ce n'est pas un export « Dans ma rue »"
                )
            batch = Batch(CITIZEN_REPORTS, [], [], chunk.row_unit)
            for number, message, raw in chunk.broken:
                batch.rejects.append(RowReject(number, None, message, raw))
            for number, cells in zip(chunk.numbers, chunk.rows):
                row = {k: (None if is_null(v) else v.strip()) for k, v in zip(names, cells)}
                try:
                    batch.records.append(_report(row, tz))
                    batch.numbers.append(number)
                except ValueError as exc:
                    batch.rejects.append(
                        RowReject(number, exc.args[1] if len(exc.args) > 1 else None, exc.args[0], row)
                    )
            yield batch


def _report(row: dict, tz: str) -> dict:
    try:
        created, zone = parse_datetime(row["datedecl"], tz=tz) if row.get("datedecl") else (None, None)
    except ValueError as exc:
        raise ValueError(f"datedecl : {exc}", "created_at") from None
    coords = {}
    for src, dst in (("latitude", "lat"), ("longitude", "lon")):
        try:
            coords[dst] = parse_number(row[src]) if row.get(src) else None
        except ValueError as exc:
            raise ValueError(f"{src} : {exc}", dst) from None
    return {
        "report_id": row.get("id_dmr") or row.get("numero"),
        "channel": "dansmarue",
        "created_at": created,
        "status": "open",
        "category": row.get("type"),
        "subcategory": row.get("soustype"),
        "address": row.get("adresse"),
        "district_id": row.get("arrondissement"),
        "source_tz": zone,
        **coords,
    }
