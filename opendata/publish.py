"""Publish the datasets that pass every gate, refuse (and audit) the others, rebuild catalog and portal.

Layout under the lake's ``opendata/`` zone::

    <dataset>/<version>/<dataset>.{csv,parquet,json,geojson} + manifest.json
    <dataset>/latest/…                      same files at a stable address
    catalog.jsonld, catalog.ttl             DCAT-AP catalog of what is published now (2.1.1 and 3.0.0)
    catalog-dcat-ap-2.1.1.ttl, catalog-hvd.ttl   the same per profile (sizes/checksums; HVD only)
    catalog/page-<n>.ttl                    the catalog in Hydra pages, beyond 100 datasets
    index.html, datasets/<dataset>.html, datasets/<dataset>.jsonld, assets/   the portal
    datasets/<dataset>.schema.json          Table Schema of the dataset
    api.html, api/openapi.json              the records API's page and description

A dataset whose source, metadata and formats have not changed since its last version is
not exported again. A dataset that is refused while an earlier version is online is
withdrawn (its files are deleted): what the portal shows is always what passes the gates
today. Every decision — published, unchanged, refused, withdrawn — goes to the audit log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lakehouse import duck
from lakehouse.audit import AuditLog
from lakehouse.errors import LakehouseError, ObjectNotFound
from lakehouse.settings import OpenDataSettings
from lakehouse.storage import backoff
from opendata import catalog, export, gate, openapi, site, tableschema, vocab
from opendata.metadata import declared, load_manifest
from opendata.profile import profile

ZONE = "opendata"
BASE_URL_ENV = "HYPERVISEUR_OPENDATA_BASE_URL"
MEMORY_ENV = "HYPERVISEUR_OPENDATA_MEMORY_LIMIT"
KEEP_VERSIONS = 3
AUDIT_EVENT = "export"

log = logging.getLogger(__name__)


@dataclass
class PublishReport:
    published: dict[str, str] = field(default_factory=dict)  # dataset -> version
    unchanged: dict[str, str] = field(default_factory=dict)
    refused: dict[str, list[str]] = field(default_factory=dict)  # dataset -> reasons (French)
    withdrawn: list[str] = field(default_factory=list)
    online: list[str] = field(default_factory=list)  # in the catalog after this run


def base_url(settings, env=None) -> str:
    """Public address of the portal (what the DCAT catalog's URIs start with): the settings'
    ``HYPERVISEUR_OPENDATA_BASE_URL``, else the one of ``env`` (default: the process environment),
    else the local portal."""
    own = getattr(settings, "opendata", None)
    url = (
        (own.base_url if own else None)
        or OpenDataSettings.from_env(env).base_url
        or f"http://{settings.host}:{settings.portal_port}/"
    )
    return url.rstrip("/") + "/"


def _now() -> datetime:
    return datetime.now(UTC)


def _version(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"


def latest_manifest_key(dataset: str) -> str:
    return f"{ZONE}/{dataset}/latest/manifest.json"


def _read_json(lh, key: str):
    try:
        return lh.lake.read_json(key)
    except ObjectNotFound:
        return None


def _fingerprint(lh, dataset: str, metadata: dict, formats: list[str]) -> str:
    """Identity of what would be published: source object (size, date), metadata, formats."""
    src = next((o for o in lh.storage.list(gate.source_key(dataset)) if o.key == gate.source_key(dataset)), None)
    body = {
        "source": [src.size, src.last_modified.isoformat()] if src else None,
        "metadata": metadata,
        "formats": formats,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _put(storage, tmp: Path, keys: list[str]) -> None:
    """Publish one local file under several keys (each put may consume its file)."""
    for key in keys[:-1]:
        copy = tmp.with_name(tmp.name + f".{uuid.uuid4().hex[:6]}")
        shutil.copyfile(tmp, copy)
        try:
            storage.put_file(key, copy)
        finally:
            copy.unlink(missing_ok=True)
    storage.put_file(keys[-1], tmp)


def export_dataset(
    lh, dataset: str, metadata, formats: list[str] | None = None, memory_limit: str | None = None
) -> dict:
    """Export ``dataset`` to every format as a new version; returns its manifest."""
    now = _now()
    version = _version(now)
    source = lh.storage.uri(gate.source_key(dataset))
    work = lh.storage.scratch_dir() / f"opendata-{uuid.uuid4().hex}"
    work.mkdir(parents=True, exist_ok=True)
    con = lh.duckdb(extensions=duck.SPATIAL)  # GeoJSON exports and the dataset page's map
    try:
        export.prepare(con)
        con.execute(f"SET memory_limit='{memory_limit or lh.settings.opendata.memory_limit}'")
        cols = export.columns(con, source)
        geo = export.detect_geometry(cols)
        wanted = [f for f in (formats or list(vocab.FORMATS)) if f != "geojson" or geo is not None]
        facts = profile(con, source, cols, geo)
        files = []
        for fmt in wanted:
            path = work / f"{dataset}.{fmt}"
            done = export.write(con, source, fmt, path, cols, geo)
            version_key = f"{ZONE}/{dataset}/{version}/{path.name}"
            latest_key = f"{ZONE}/{dataset}/latest/{path.name}"
            _put(lh.storage, path, [version_key, latest_key])
            files.append(
                {
                    "format": fmt,
                    "key": version_key,
                    "latest_key": latest_key,
                    "path": latest_key.removeprefix(f"{ZONE}/"),  # relative to the portal's root
                    "bytes": done.bytes,
                    "sha256": done.sha256,
                    "sha1": done.sha1,
                    "media_type": vocab.FORMATS[fmt].media_type,
                }
            )
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)
    previous = _read_json(lh, latest_manifest_key(dataset)) or {}
    return {
        "dataset": dataset,
        "version": version,
        "published_at": now.isoformat(),
        "first_published_at": previous.get("first_published_at") or now.isoformat(),
        "source": gate.source_key(dataset),
        "metadata": metadata.to_dict(),
        "columns": [{"name": c.name, "type": c.type, "description": metadata.columns.get(c.name, "")} for c in cols],
        "geometry": list(geo.columns) if geo else None,
        "files": files,
        **facts,
    }


def _transient(exc: Exception) -> bool:
    """A lake read that failed on the network or on a server error (not a refusal, not a 404)."""
    import duckdb

    if isinstance(exc, duckdb.HTTPException):
        return exc.status_code >= 500
    return isinstance(exc, duckdb.IOException)


def _export_retrying(lh, dataset: str, metadata, formats, memory_limit) -> dict:
    """:func:`export_dataset`, retried with backoff while the S3 lake is unreachable.

    Each attempt is a new version; an interrupted one has no manifest, so it is never online
    and :func:`_prune` removes it later. The retry budget is the storage's
    (``HYPERVISEUR_S3_RETRY_S``).
    """
    import duckdb

    pauses = backoff(lh.settings.limits.s3_retry_s) if lh.settings.s3 else iter(())
    while True:
        try:
            return export_dataset(lh, dataset, metadata, formats, memory_limit)
        except duckdb.Error as exc:
            if not _transient(exc):
                raise
            pause = next(pauses, None)
            if pause is None:
                raise LakehouseError(
                    f"export de « {dataset} » impossible, lac injoignable : {str(exc).splitlines()[0]}"
                ) from exc
            log.warning("export de %s : lac injoignable (%s) ; nouvel essai dans %.1f s", dataset, exc, pause)
            time.sleep(pause)


def _prune(lh, dataset: str, keep: int = KEEP_VERSIONS) -> None:
    prefix = f"{ZONE}/{dataset}/"
    versions = sorted({o.key[len(prefix) :].split("/", 1)[0] for o in lh.storage.list(prefix)} - {"latest"})
    for old in versions[:-keep]:
        for o in lh.storage.list(f"{prefix}{old}/"):
            lh.storage.delete(o.key)


def withdraw(lh, dataset: str) -> bool:
    """Delete every published file of ``dataset``; True if something was online."""
    objects = lh.storage.list(f"{ZONE}/{dataset}/")
    for o in objects:
        lh.storage.delete(o.key)
    return bool(objects)


def online_manifests(lh) -> list[dict]:
    keys = [o.key for o in lh.storage.list(f"{ZONE}/") if o.key.endswith("/latest/manifest.json")]
    return [lh.lake.read_json(k) for k in keys]


def kept_versions(lh, dataset: str) -> list[dict]:
    """Manifests of every version of ``dataset`` still in the lake (at most ``KEEP_VERSIONS``)."""
    prefix = f"{ZONE}/{dataset}/"
    keys = [
        o.key
        for o in lh.storage.list(prefix)
        if o.key.endswith("/manifest.json") and not o.key.startswith(prefix + "latest/")
    ]
    return [m for m in (_read_json(lh, k) for k in sorted(keys)) if m]


def rebuild_portal(lh, manifests: list[dict] | None = None) -> None:
    """Write the DCAT-AP catalog and the static site for what is online now."""
    manifests = online_manifests(lh) if manifests is None else manifests
    now = _now().isoformat()
    base = base_url(lh.settings)
    producers = sorted({m["metadata"]["producer"] for m in manifests})
    publisher = producers[0] if len(producers) == 1 else "Hyperviseur"
    territories = sorted({m["metadata"].get("spatial") for m in manifests if m["metadata"].get("spatial")})
    territory = ", ".join(territories) or "votre territoire"
    identity = {
        "title": f"Données ouvertes — {publisher}",
        "description": f"Catalogue des jeux de données ouverts publiés par {publisher} ({territory}).",
        "publisher": publisher,
        "now": now,
    }
    graph = _write_catalogs(lh, manifests, base, identity)
    for m in manifests:
        record = catalog.dataset_record(graph, base, m["dataset"])
        lh.storage.write_bytes(f"{ZONE}/datasets/{m['dataset']}.jsonld", catalog.serialise(record)[0])
        schema = tableschema.build(m, base)
        lh.storage.write_bytes(
            f"{ZONE}/datasets/{m['dataset']}.schema.json", json.dumps(schema, ensure_ascii=False, indent=1).encode()
        )
    spec = openapi.build(manifests, base, lh.settings.opendata)
    lh.storage.write_bytes(f"{ZONE}/{catalog.API_OPENAPI}", json.dumps(spec, ensure_ascii=False, indent=1).encode())
    pages = site.render(
        [{**m, "versions": kept_versions(lh, m["dataset"])} for m in manifests],
        site_name=f"Données ouvertes — {territory}",
        publisher=publisher,
        territory=territory,
        generated_at=now,
    )
    for rel, data in pages.items():
        lh.storage.write_bytes(f"{ZONE}/{rel}", data)
    online = {m["dataset"] for m in manifests}
    for o in lh.storage.list(f"{ZONE}/datasets/"):
        if o.key.rsplit("/", 1)[1].split(".", 1)[0] not in online:
            lh.storage.delete(o.key)  # page, record or schema of a withdrawn dataset


def _write_catalogs(lh, manifests: list[dict], base: str, identity: dict):
    """One catalog per DCAT-AP profile, plus Hydra pages when large; returns the ``common`` graph."""
    graphs = {p: catalog.build(manifests, base, profile=p, **identity) for p in catalog.PROFILES}
    written = set()
    for n, page in enumerate(catalog.pages(manifests, base, **identity), start=1):
        written.add(f"{ZONE}/{catalog.page_key(n)}")
        lh.storage.write_bytes(f"{ZONE}/{catalog.page_key(n)}", catalog.serialise(page)[1])
    for o in lh.storage.list(f"{ZONE}/{catalog.PAGES_DIR}/"):
        if o.key not in written:
            lh.storage.delete(o.key)  # a page beyond the catalog's current size
    for name, (ttl_name, jsonld_name) in catalog.CATALOG_FILES.items():
        jsonld, turtle = catalog.serialise(graphs[name])
        lh.storage.write_bytes(f"{ZONE}/{ttl_name}", turtle)
        if jsonld_name:
            lh.storage.write_bytes(f"{ZONE}/{jsonld_name}", jsonld)
    return graphs["common"]


def publish(
    lh,
    datasets: list[str] | None = None,
    *,
    manifest: dict | None = None,
    actor: str = "hyperviseur",
    formats: list[str] | None = None,
    memory_limit: str | None = None,
) -> PublishReport:
    """Gate, export and catalog ``datasets`` (default: every model declaring ``meta.opendata``)."""
    manifest = manifest if manifest is not None else load_manifest()
    candidates = datasets or declared(manifest)
    audit = AuditLog(lh)
    report = PublishReport()
    formats = formats or list(vocab.FORMATS)
    for name in candidates:
        decision = gate.evaluate(lh, name, manifest)
        if not decision.allowed:
            report.refused[name] = decision.reasons
            audit.append(AUDIT_EVENT, actor, {"dataset": name, "decision": "refused", "reasons": decision.reasons})
            if withdraw(lh, name):
                report.withdrawn.append(name)
                audit.append(
                    AUDIT_EVENT, actor, {"dataset": name, "decision": "withdrawn", "reasons": decision.reasons}
                )
            continue
        meta = decision.metadata
        fingerprint = _fingerprint(lh, name, meta.to_dict(), formats)
        previous = _read_json(lh, latest_manifest_key(name))
        if previous and previous.get("fingerprint") == fingerprint:
            report.unchanged[name] = previous["version"]
            audit.append(AUDIT_EVENT, actor, {"dataset": name, "decision": "unchanged", "version": previous["version"]})
            continue
        doc = _export_retrying(lh, name, meta, formats, memory_limit)
        doc["fingerprint"] = fingerprint
        lh.lake.write_json(f"{ZONE}/{name}/{doc['version']}/manifest.json", doc)
        lh.lake.write_json(latest_manifest_key(name), doc)
        _prune(lh, name)
        report.published[name] = doc["version"]
        audit.append(
            AUDIT_EVENT,
            actor,
            {
                "dataset": name,
                "decision": "published",
                "version": doc["version"],
                "rows": doc["rows"],
                "files": [{k: f[k] for k in ("format", "key", "bytes", "sha256")} for f in doc["files"]],
            },
        )
    manifests = online_manifests(lh)
    report.online = sorted(m["dataset"] for m in manifests)
    rebuild_portal(lh, manifests)
    return report
