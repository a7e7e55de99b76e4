"""« Déposer des données »: an agent's own file → proposed schema → typed raw dataset, queued for review.

Two steps, one code path with ``hyperviseur ingest fichiers``:

1. :func:`stage` checks the upload (allowlisted extension, a plain file name, size, content that
   is not binary junk, archives checked for decompression bombs) and keeps it in the lake's
   scratch folder (``<scratch>/depots/<token>/``, never under a served folder), under a random
   token bound to the signed-on user; the platform's detector
   (:func:`ingestion.formats.detect.detect`: encoding, separator, header below a metadata
   block, typed columns with csv-detective) proposes the schema, stored next to the file.
2. :func:`confirm` applies the agent's corrections (types, dataset name, owner service) to that
   schema and ingests the file through :func:`ingestion.sources.runner.ingest_path` with the
   ``fichiers`` connector, as the command line does with ``--schema``: typed columns in raw,
   rejected rows in quarantine with their reason, rows in = raw + quarantine + duplicates. The
   schema is recorded in the registry, the owner is the agent's service, governance scans the
   new dataset (its proposals wait in the stewards' queue), and the upload is audited with the
   signed-on identity. The staged folder is removed afterwards, and every staged folder older
   than :data:`STAGING_TTL_S` at the next upload.

An OpenDocument spreadsheet (``.ods``) is kept as it is and read by the same reader as on the
command line (:mod:`ingestion.formats.opendocument`), like any workbook.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from governance.classify import scan_dataset
from ingestion.config import FileDataset
from ingestion.formats.detect import detect, read_options
from ingestion.formats.errors import InputRejected
from ingestion.formats.limits import number, open_archive
from ingestion.formats.schema import TYPES, TableSchema
from ingestion.formats.tabular import read_records
from ingestion.formats.text import detect_encoding
from ingestion.sources.base import Context
from ingestion.sources.runner import ingest_path
from lakehouse.audit import AuditLog
from lakehouse.errors import LakehouseError
from lakehouse.lake import Zone
from lakehouse.web_identity import Identity

# Extensions accepted, and what the page calls them.
FORMATS = {
    ".csv": "CSV",
    ".tsv": "CSV (tabulations)",
    ".xlsx": "Excel",
    ".ods": "OpenDocument (tableur)",
    ".geojson": "GeoJSON",
    ".json": "JSON d'enregistrements OpenDataSoft",
}
# How the detector read the file (TableSchema.format), in French.
READ_FORMATS = {
    "csv": "CSV",
    "excel": "classeur Excel",
    "opendocument": "classeur OpenDocument",
    "geojson": "GeoJSON",
    "ods_records_v1": "enregistrements OpenDataSoft (API v1)",
    "ods_records_v2": "enregistrements OpenDataSoft (API v2.1)",
}
ARCHIVE_SUFFIXES = {".xlsx", ".ods"}
ZIP_MAGIC = b"PK\x03\x04"
UPLOAD_SOURCE = "depots"  # lake folder (raw/depots/<jeu>) of the agents' datasets
CONNECTOR = "fichiers"  # the connector of ``hyperviseur ingest fichiers``
STAGING = "depots"  # folder of the staged uploads in the lake's scratch space
STAGING_TTL_S = 2 * 3600  # a staged upload not confirmed within this delay is removed
EXAMPLES = 3  # sample values shown per column
EXAMPLE_CHARS = 60
DATASET_NAME = re.compile(r"^[a-z][a-z0-9_]{2,47}$")
TOKEN = re.compile(r"^[0-9a-f]{32}$")
FILE_NAME = re.compile(r"^[\w][\w .()+,-]{0,150}$")  # letters (accents too), digits, spaces and . ( ) + , - _
AGENT_PREFIX = "Agent_"  # the group of a service's agents: Agent_<service> (infra/sso/idp.py)
AUDIT_EVENT = "ingestion.depot"
COPY_BLOCK = 1 << 20


class UploadRefused(LakehouseError):
    """The upload or the confirmation is refused; the message (French) is shown to the agent."""


@dataclass
class Staged:
    token: str
    filename: str  # the name the agent's file had (sanitised), shown on the pages
    folder: Path
    schema: TableSchema

    @property
    def path(self) -> Path:
        return next(p for p in self.folder.iterdir() if p.name.startswith("fichier."))


@dataclass
class Outcome:
    dataset: str  # qualified name in the lake (depots.<jeu>)
    owner: str
    rows_in: int
    rows_raw: int
    rows_quarantined: int
    duplicates: int
    columns: list[tuple[str, str]]  # (column, French type) as ingested
    pending: list[str]  # columns whose classification proposal awaits a steward
    level: str

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.rows_raw + self.rows_quarantined + self.duplicates


def services(who: Identity) -> list[str]:
    """The services the user is an agent of (``Agent_<service>`` groups): the possible owners."""
    return sorted(
        g[len(AGENT_PREFIX) :] for g in who.groups if g.startswith(AGENT_PREFIX) and len(g) > len(AGENT_PREFIX)
    )


def staging_root(lh) -> Path:
    return lh.storage.scratch_dir() / STAGING


# -- step 1: the file ---------------------------------------------------------------------
def clean_filename(raw: str | None) -> str:
    """The uploaded file's name if it is a plain name with an accepted extension, else :class:`UploadRefused`."""
    name = unicodedata.normalize("NFC", (raw or "").strip())
    if not name:
        raise UploadRefused("aucun fichier choisi")
    if "/" in name or "\\" in name or name.startswith(".") or ".." in name:
        raise UploadRefused(f"« {name[:80]} » : nom de fichier refusé (chemin ou nom caché) ; déposer le fichier seul")
    if not FILE_NAME.match(name):
        raise UploadRefused(
            f"« {name[:80]} » : nom de fichier refusé (caractères autorisés : lettres, chiffres, espace, . _ - ( ) + ,)"
        )
    suffix = Path(name).suffix.lower()
    if suffix not in FORMATS:
        accepted = ", ".join(FORMATS)
        raise UploadRefused(f"« {name} » : format {suffix or 'sans extension'} non accepté (formats : {accepted})")
    return name


def stage(lh, who: Identity, filename: str | None, stream) -> Staged:
    """Keep the uploaded ``stream`` under a new token of ``who`` and detect its schema.

    Nothing stays in the scratch folder when the file is refused (:class:`UploadRefused`)."""
    if not services(who):
        raise UploadRefused("le dépôt de données est réservé aux agents d'un service (groupe Agent_<service>)")
    name = clean_filename(filename)
    suffix = Path(name).suffix.lower()
    purge_expired(lh)
    token = secrets.token_hex(16)
    folder = staging_root(lh) / token
    folder.mkdir(mode=0o700, parents=True)
    try:
        path = folder / f"fichier{suffix}"
        _copy(stream, path, lh.settings.limits.max_upload_bytes, name)
        if path.stat().st_size == 0:
            raise UploadRefused(f"« {name} » : fichier vide")
        _check_content(path, name, lh.settings.limits)
        schema = detect(path, lh.settings.limits)
        if not schema.columns:
            raise UploadRefused(f"« {name} » : aucune colonne reconnue")
    except InputRejected as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise UploadRefused(_named(exc, name)) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    meta = {"subject": who.subject, "filename": name, "created": time.time(), "schema": schema.to_dict()}
    (folder / "depot.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return Staged(token, name, folder, schema)


def _named(exc: Exception, name: str) -> str:
    """The readers name the staged copy (``fichier.csv``): the agent knows their file's name."""
    return re.sub(r"\bfichier\.(csv|tsv|xlsx|ods|geojson|json)\b", f"« {name} »", str(exc))


def _copy(stream, path: Path, limit: int, name: str) -> None:
    done = 0
    with open(path, "wb") as out:
        while block := stream.read(COPY_BLOCK):
            done += len(block)
            if done > limit:
                raise UploadRefused(
                    f"« {name} » : plus de {number(limit)} octets, au-delà de la limite (HYPERVISEUR_MAX_UPLOAD_BYTES)"
                )
            out.write(block)


def _check_content(path: Path, name: str, limits) -> None:
    """A workbook must be a zip archive without a decompression bomb; a text file must read as
    text (no control characters but tab and line ends in its first kilobytes)."""
    suffix = path.suffix.lower()
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    if suffix in ARCHIVE_SUFFIXES:
        if not head.startswith(ZIP_MAGIC):
            raise UploadRefused(f"« {name} » : ce n'est pas un classeur {FORMATS[suffix]} (contenu binaire inattendu)")
        open_archive(path, limits, read_whole=True).close()
        return
    text = head.decode(detect_encoding(path), errors="replace")
    junk = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\t\r\n")
    if junk or text.count("\ufffd") > len(text) // 100:
        raise UploadRefused(f"« {name} » : contenu binaire, pas un fichier texte {FORMATS[suffix]}")


def purge_expired(lh, now: float | None = None) -> int:
    """Remove the staged uploads older than :data:`STAGING_TTL_S`; how many were removed."""
    root = staging_root(lh)
    if not root.is_dir():
        return 0
    limit = (now or time.time()) - STAGING_TTL_S
    removed = 0
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < limit:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def load(lh, who: Identity, token: str) -> Staged:
    """The upload ``token`` of ``who``; :class:`UploadRefused` when unknown, expired or another user's."""
    missing = UploadRefused("dépôt introuvable ou expiré : déposer le fichier à nouveau")
    if not TOKEN.match(token or ""):
        raise missing
    folder = staging_root(lh) / token
    try:
        meta = json.loads((folder / "depot.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise missing from None
    if meta.get("subject") != who.subject or time.time() - meta.get("created", 0) > STAGING_TTL_S:
        raise missing
    return Staged(token, meta["filename"], folder, TableSchema.from_dict(meta["schema"], meta["filename"]))


def examples(lh, staged: Staged) -> dict[str, list[str]]:
    """Up to :data:`EXAMPLES` non-empty values of each column, read as the schema says."""
    out: dict[str, list[str]] = {c.name: [] for c in staged.schema.columns}
    options = read_options(staged.schema, lh.settings.limits, chunk_rows=50)
    chunks = read_records(staged.path, options)
    try:
        chunk = next(iter(chunks), None)
    finally:
        getattr(chunks, "close", lambda: None)()
    if chunk is None:
        return out
    for i, hf in enumerate(chunk.columns):
        values = [r[i] for r in chunk.rows if i < len(r) and str(r[i] if r[i] is not None else "").strip()]
        shown = [str(v) if len(str(v)) <= EXAMPLE_CHARS else str(v)[:EXAMPLE_CHARS] + "…" for v in values[:EXAMPLES]]
        out[hf.name] = shown
    return out


def suggested_name(filename: str) -> str:
    from ingestion.formats.headers import snake

    name = snake(Path(filename).stem)[:48]
    return name if DATASET_NAME.match(name) else f"depot_{name}"[:48]


# -- step 2: confirmation and ingestion ------------------------------------------------------
def corrected(schema: TableSchema, types: dict[str, str]) -> TableSchema:
    """``schema`` with the types the agent chose (column name → one of :data:`TYPES`)."""
    for col in schema.columns:
        chosen = types.get(col.name, col.type)
        if chosen not in TYPES:
            raise UploadRefused(f"colonne « {col.original or col.name} » : type « {chosen[:40]} » inconnu")
        if chosen != col.type:
            col.type, col.date_format, col.decimal = chosen, None, "auto"
    return schema


def confirm(lh, who: Identity, token: str, dataset: str, service: str, types: dict[str, str], interface: str):
    """Ingest the staged file as ``depots.<dataset>`` owned by ``service``; the :class:`Outcome`."""
    staged = load(lh, who, token)
    if not DATASET_NAME.match(dataset or ""):
        raise UploadRefused(
            f"nom de jeu « {(dataset or '')[:60]} » refusé : 3 à 48 caractères, minuscules sans accent, "
            "chiffres et « _ », commençant par une lettre"
        )
    if service not in services(who):
        raise UploadRefused(f"service « {service[:60]} » : vous n'êtes pas agent de ce service")
    qualified = f"{UPLOAD_SOURCE}.{dataset}"
    if lh.registry.find(qualified, Zone.RAW.value) is not None:
        raise UploadRefused(f"le jeu « {qualified} » existe déjà : choisir un autre nom")
    schema = corrected(staged.schema, types)
    entry = FileDataset(
        id=f"depot-{token}",
        source=UPLOAD_SOURCE,
        name=dataset,
        owner_service=service,
        description=f"Fichier « {staged.filename} » déposé par {who.name} ({who.subject}) dans l'espace de travail",
        key=("recordid",) if schema.column("recordid") else (),
    )
    identity = {**who.to_dict(), "interface": interface}
    AuditLog(lh).append(
        AUDIT_EVENT,
        who.subject,
        {"dataset": qualified, "file": staged.filename, "owner_service": service, "identity": identity},
    )  # before anything is written: no audit key, nothing ingested
    ctx = Context(tz=schema.timezone, options={"schema": schema, "dataset_config": entry, "schemas": {}})
    run = ingest_path(lh, CONNECTOR, staged.path, ctx)
    refused = [f.message for f in run.files if f.status == "rejeté"]
    if refused:
        shutil.rmtree(staged.folder, ignore_errors=True)
        raise UploadRefused(_named(Exception(refused[0]), staged.filename) + " (fichier mis en quarantaine)")
    lh.registry.record_source_format(qualified, Zone.RAW.value, schema.to_dict())
    proposal = scan_dataset(lh, qualified, actor=who.subject)
    shutil.rmtree(staged.folder, ignore_errors=True)
    counts = run.report.datasets[qualified]
    columns = [(c.original or c.name, TYPES[c.type]) for c in schema.columns]
    pending = [c for c, v in proposal.get("columns", {}).items() if v.get("tags")]
    return Outcome(
        qualified,
        service,
        counts.rows_in,
        counts.rows_raw,
        counts.rows_quarantined,
        counts.duplicates,
        columns,
        pending,
        proposal.get("level", ""),
    )
