"""`hyperviseur ingest <source> <chemin-ou-url>`: ingest files into the lake, with a French summary.

Files without a configuration entry are read as :func:`ingestion.formats.detect.detect`
proposes (header below a metadata block, typed columns with their French formats);
``--detecter`` only prints that proposal as a JSON schema, which the user may edit and give
back with ``--schema``. The schema each dataset was read with is recorded in the registry.
"""

from __future__ import annotations

import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ingestion.formats.detect import DETECTED_SUFFIXES, detect
from ingestion.formats.errors import InputRejected
from ingestion.formats.schema import TYPES, TableSchema
from ingestion.sources import available, get
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
@click.option(
    "--schema",
    "schema_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Fichier JSON de schéma (types des colonnes, ligne d'en-tête…) à la place de la détection.",
)
@click.option("--detecter", is_flag=True, help="Afficher le schéma détecté (JSON) sans rien ingérer.")
@french_errors
def ingest(source, chemin, fuseau, encodage, separateur, decimale, format_date, crs, schema_file, detecter) -> None:
    if detecter:
        _print_detected(source, Path(chemin))
        return
    lh = lakehouse()
    overrides = {
        "encoding": encodage,
        "delimiter": "\t" if separateur == "tab" else separateur,
        "decimal": decimale,
        "date_format": format_date,
        "crs": crs,
    }
    ctx = Context(tz=fuseau, options={k: v for k, v in overrides.items() if v})
    if schema_file:
        try:
            ctx.options["schema"] = TableSchema.load(schema_file)
        except InputRejected as exc:
            raise click.ClickException(str(exc)) from None
    schemas: dict[str, TableSchema] = {}
    ctx.options["schemas"] = schemas  # filled by the connectors with the schema each dataset was read with
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
    for name, schema in schemas.items():
        if name in run.report.datasets and lh.registry.find(name, Zone.RAW.value):
            lh.registry.record_source_format(name, Zone.RAW.value, schema.to_dict())
    _schemas(schemas)
    _summary(lh, run)


def _print_detected(source: str, path: Path) -> None:
    """``--detecter``: the proposed schema of each file, as JSON to edit and give to ``--schema``."""
    if not path.exists():
        raise click.ClickException(f"{path} : fichier ou dossier introuvable")
    files, _ = get(source).files(path)
    for f in files:
        if f.suffix.lower() not in DETECTED_SUFFIXES:
            console.print(f"{f.name} : pas de détection pour ce format", highlight=False)
            continue
        try:
            click.echo(detect(f).to_json())
        except InputRejected as exc:
            raise click.ClickException(str(exc)) from None


def _schemas(schemas: dict[str, TableSchema]) -> None:
    """The types each dataset was read with, in French."""
    for name, schema in sorted(schemas.items()):
        table = Table("Colonne", "Type", "Format", "Étiquette", title=f"Schéma de {name}")
        for c in schema.columns:
            table.add_row(c.original or c.name, TYPES[c.type], c.french_format or "—", c.label or "—")
        console.print(table)
        layout = [f"encodage {schema.encoding}"] if schema.encoding else []
        if schema.separator:
            layout.append(f"séparateur « {schema.separator} »")
        if schema.header_line and schema.header_line > 1:
            layout.append(f"en-tête ligne {schema.header_line}")
        if schema.metadata:
            layout.append(f"bloc de métadonnées : {len(schema.metadata)} paire(s) clé/valeur")
        if layout:
            console.print("Lecture : " + ", ".join(layout) + ".", highlight=False)


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
