"""Enedis load-curve exports (« courbe de charge », customer portal and SGE downloads).

Layout: a metadata block — one row of keys (``Identifiant PRM;Type de donnees;Date de
debut;…;Unite;Pas en minutes``) and one row of values — then the data block
``Horodate;Valeur``. :func:`~ingestion.formats.detect.detect` finds the header below the
block, whose pairs give the meter (PRM), the quantity and the unit of every row.

Timestamps become UTC. Written with their offset (``2021-10-31T02:30:00+02:00`` then
``…+01:00``) they are unambiguous. Written as naive local times (Europe/Paris, or
``--fuseau``), the hour repeated when clocks go back in October is told apart by order: its
first occurrence is summer time, the second winter time, so both half-hours are kept with
distinct UTC instants. A local time inside the hour skipped in March does not exist: its row
is quarantined with that reason, never shifted onto another instant. An empty ``Valeur`` is
a missing measure, kept as null.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from ingestion.formats.detect import detect, metadata_pairs, read_options
from ingestion.formats.tabular import read_records
from ingestion.formats.values import is_null, parse_number
from ingestion.sources import register
from ingestion.sources.base import Batch, Context, FileRejected, RowReject, Source
from ingestion.spec import UTC_TS, Column, DatasetSpec

LOAD_CURVE = DatasetSpec(
    "enedis",
    "courbe_de_charge",
    "energie",
    "Courbes de charge Enedis (puissance moyenne par pas de mesure, horodatage de fin de pas)",
    (
        Column("prm", pa.string(), "Identifiant du point de livraison (PRM)", required=True),
        Column("horodate", UTC_TS, "Fin du pas de mesure (UTC)", required=True),
        Column("valeur", pa.float64(), "Valeur mesurée (unité : colonne « unite »)"),
        Column("unite", pa.string(), "Unité de la valeur (W, Wh, VA…)"),
        Column("pas_minutes", pa.int64(), "Pas de mesure en minutes, quand l'export le donne", unit="min"),
        Column("type_donnees", pa.string(), "Type de données de l'export (courbe de charge…)"),
        Column("grandeur", pa.string(), "Grandeur physique et métier (énergie active, consommation…)"),
        Column("horodate_source", pa.string(), "Horodatage tel qu'écrit dans le fichier"),
        Column("source_tz", pa.string(), "Décalage ou fuseau d'origine de l'horodatage"),
    ),
    key=("prm", "horodate"),
    time_column="horodate",
)


@register
class EnedisSource(Source):
    name = "enedis"
    label = "Courbes de charge Enedis : bloc de métadonnées puis Horodate;Valeur (changements d'heure gérés)"
    suffixes = (".csv", ".txt")
    datasets = (LOAD_CURVE,)

    def read(self, path: Path, ctx: Context) -> Iterator[Batch]:
        schema = ctx.options.get("schema") or detect(path, ctx.limits)
        if isinstance(ctx.options.get("schemas"), dict):
            ctx.options["schemas"][LOAD_CURVE.qualified_name] = schema
        clock = LocalClock(ctx.tz)
        meta = None
        for chunk in read_records(path, read_options(schema, ctx.limits), ctx.tick):
            names = [hf.name for hf in chunk.columns]
            if "horodate" not in names or "valeur" not in names:
                raise FileRejected(
                    f"{path.name} : ce n'est pas une courbe de charge Enedis (colonnes « Horodate;Valeur » attendues, "
                    f"trouvées : {';'.join(hf.original for hf in chunk.columns)})"
                )
            if meta is None:
                meta = _meta(metadata_pairs(chunk.meta.get("metadata_rows", [])), path)
            at, value = names.index("horodate"), names.index("valeur")
            batch = Batch(LOAD_CURVE, [], [], chunk.row_unit)
            batch.rejects += [RowReject(n, None, message, raw) for n, message, raw in chunk.broken]
            for number, cells in zip(chunk.numbers, chunk.rows):
                raw = {"horodate_source": cells[at], "valeur": cells[value]}
                try:
                    instant, zone = clock.utc(str(cells[at]).strip())
                except ValueError as exc:
                    batch.rejects.append(RowReject(number, "horodate", f"champ « horodate » : {exc}", raw))
                    continue
                try:
                    measure = None if is_null(cells[value]) else parse_number(cells[value])
                except ValueError as exc:
                    batch.rejects.append(RowReject(number, "valeur", f"champ « valeur » : {exc}", raw))
                    continue
                batch.records.append(
                    {**meta, "horodate": instant, "valeur": measure, "horodate_source": cells[at], "source_tz": zone}
                )
                batch.numbers.append(number)
            yield batch


def _meta(pairs: dict[str, str], path: Path) -> dict:
    """The columns every row of the file shares, from the metadata block."""
    by_key = {k.strip().lower(): v.strip() for k, v in pairs.items()}
    prm = by_key.get("identifiant prm")
    if not prm:
        raise FileRejected(f"{path.name} : bloc de métadonnées sans « Identifiant PRM » au-dessus de Horodate;Valeur")
    step = by_key.get("pas en minutes")
    grandeur = " / ".join(v for v in (by_key.get("grandeur physique"), by_key.get("grandeur metier")) if v)
    return {
        "prm": prm,
        "unite": by_key.get("unite") or by_key.get("unité") or None,
        "pas_minutes": int(step) if step and step.isdigit() else None,
        "type_donnees": by_key.get("type de donnees") or by_key.get("type de données") or None,
        "grandeur": grandeur or None,
    }


class LocalClock:
    """Local timestamps of one file, in order, to UTC: the October hour written twice is
    summer time the first time and winter time the second (``fold``)."""

    def __init__(self, tz: str):
        from zoneinfo import ZoneInfo

        self.zone = UTC if tz.upper() == "UTC" else ZoneInfo(tz)
        self.tz = tz
        self.seen: set[datetime] = set()

    def utc(self, text: str) -> tuple[datetime, str]:
        try:
            local = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            raise ValueError(f"« {text} » n'est pas un horodatage ISO 8601") from None
        if local.tzinfo is not None:
            offset = local.strftime("%z")
            return local.astimezone(UTC), f"{offset[:3]}:{offset[3:]}"
        first, second = local.replace(tzinfo=self.zone, fold=0), local.replace(tzinfo=self.zone, fold=1)
        if first.utcoffset() == second.utcoffset():
            return first.astimezone(UTC), self.tz
        if first.astimezone(UTC).astimezone(self.zone).replace(tzinfo=None) != local:
            raise ValueError(
                f"« {text} » n'existe pas en heure locale {self.tz} (heure sautée au passage à l'heure d'été)"
            )
        fold = 1 if local in self.seen else 0
        self.seen.add(local)
        return (second if fold else first).astimezone(UTC), self.tz
