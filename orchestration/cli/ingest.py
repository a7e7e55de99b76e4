"""`hyperviseur ingest <source> <chemin-ou-url>`: ingest files into the lake, with a French summary."""

from __future__ import annotations

import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ingestion.sources import available
from ingestion.sources.base import Context
from ingestion.sources.runner import Progress as RunProgress
from ingestion.sources.runner import RunReport, ingest_path
from lakehouse.lake import Zone
from orchestration.cli.common import console, french_errors, lakehouse

LARGE_FILE = 5 * 1024 * 1024  # a progress bar is shown for files above this size


class _Bar(RunProgress):
    def __init__(self, progress: Progress):
        self.progress, self.task = progress, None

    def file_started(self, path: Path, total: int) -> None:
        if total >= LARGE_FILE:
            self.task = self.progress.add_task(path.name, total=total)

    def advance(self, done: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=done)

    def file_done(self, path: Path) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[self.task].total)
            self.task = None


def _connectors_help() -> str:
    return "; ".join(f"{name} : {cls.label}" for name, cls in available().items())


@click.command(help="Ingérer un fichier ou un dossier dans le lac.\n\nSOURCE : " + _connectors_help())
@click.argument("source", type=click.Choice(sorted(available())))
@click.argument("chemin")
@click.option("--fuseau", default="Europe/Paris", show_default=True, help="Fuseau des horodatages sans décalage.")
@click.option("--encodage", default=None, help="Forcer l'encodage (utf-8, cp1252…) au lieu de la détection.")
@click.option("--separateur", default=None, help="Forcer le séparateur de colonnes (',' ';' 'tab').")
@click.option("--decimale", type=click.Choice([",", ".", "auto"]), default=None, help="Séparateur décimal.")
@click.option("--format-date", default=None, help="Format des dates, ex. %d/%m/%y.")
@click.option("--crs", default=None, help="Système de coordonnées des colonnes x/y, ex. EPSG:2154.")
@french_errors
def ingest(source, chemin, fuseau, encodage, separateur, decimale, format_date, crs) -> None:
    lh = lakehouse()
    overrides = {
        "encoding": encodage,
        "delimiter": "\t" if separateur == "tab" else separateur,
        "decimal": decimale,
        "date_format": format_date,
        "crs": crs,
    }
    ctx = Context(tz=fuseau, options={k: v for k, v in overrides.items() if v})
    with tempfile.TemporaryDirectory() as tmp:
        path = _local(chemin, Path(tmp))
        if not path.exists():
            raise click.ClickException(f"{chemin} : fichier ou dossier introuvable")
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            run = ingest_path(lh, source, path, ctx, _Bar(progress))
    _summary(lh, run)


def _local(target: str, tmp: Path) -> Path:
    """A local path, or the file behind an http(s)/file URL downloaded into ``tmp``."""
    parsed = urllib.parse.urlparse(target)
    if parsed.scheme in ("http", "https"):
        dest = tmp / (Path(parsed.path).name or "telechargement")
        try:
            urllib.request.urlretrieve(target, dest)
        except OSError as exc:
            raise click.ClickException(f"{target} : téléchargement impossible ({exc})") from None
        return dest
    if parsed.scheme == "file":
        return Path(urllib.parse.unquote(parsed.path))
    return Path(target)


def _summary(lh, run: RunReport) -> None:
    rep = run.report
    table = Table(
        "Jeu de données", "Reçues", "Acceptées", "Rejetées", "Doublons", "Destination", title="Bilan de l'ingestion"
    )
    for name, c in sorted(rep.datasets.items()):
        source, dataset = name.split(".", 1)
        where = []
        if c.rows_raw:
            where.append(lh.storage.uri(lh.lake.dataset_prefix(Zone.RAW, source, dataset).rstrip("/")))
        if c.rows_quarantined:
            where.append(lh.storage.uri(lh.lake.dataset_prefix(Zone.QUARANTINE, source, dataset).rstrip("/")))
        table.add_row(
            name,
            f"{c.rows_in:n}",
            f"{c.rows_raw:n}",
            f"{c.rows_quarantined:n}",
            f"{c.duplicates:n}",
            "\n".join(where) or "—",
        )
    console.print(table)
    ingested = sum(1 for f in run.files if f.status == "ingéré")
    rejected = [f for f in run.files if f.status == "rejeté"]
    skipped = sum(1 for f in run.files if f.status == "ignoré")
    console.print(f"Fichiers : {ingested} ingéré(s), {len(rejected)} rejeté(s), {skipped} ignoré(s) (documentation).")
    for f in rejected:
        console.print(f"  [red]Fichier rejeté[/] : {f.message}", highlight=False)
    state = "[green]aucune ligne perdue[/]" if run.balanced else "[red]ÉCART DE COMPTAGE[/]"
    console.print(
        f"Lignes : {rep.rows_in:n} reçues = {rep.rows_raw:n} acceptées + {rep.rows_quarantined:n} rejetées "
        f"+ {rep.duplicates:n} doublons ou déjà présentes — {state}."
    )
    if rep.rows_quarantined:
        console.print("Les lignes rejetées sont en quarantaine avec la raison (fichier, ligne, champ, message).")
    if not run.balanced:
        raise SystemExit(2)
