"""The public records API of the portal: the published version of each dataset, read-only.

Routes (a subset of OpenDataSoft's Explore API v2.1; every difference is listed in
:data:`DIFFERENCES` and on the portal's API page)::

    /api/explore/v2.1/catalog/datasets                              published datasets
    /api/explore/v2.1/catalog/datasets/{id}                         one dataset and its fields
    /api/explore/v2.1/catalog/datasets/{id}/records                 ?select=&where=&group_by=&order_by=&limit=&offset=
    /api/explore/v2.1/catalog/datasets/{id}/exports/{json,csv,geojson}

A dataset is answered only if its ``latest/manifest.json`` is online (what passes the gates
today); the query runs on that exact version — its local DuckDB copy once built
(:mod:`opendata.copies`: sorted pages read a few row groups), its Parquet file until then —
through :mod:`opendata.odsql` (parsed, checked against the published columns, parameterised).
DuckDB itself is locked down: one in-memory database per portal, file access limited to the
lake's ``opendata/`` zone (local folder or S3 prefix) and to the copies' folder, configuration
locked, a memory limit, and every query interrupted after ``HYPERVISEUR_OPENDATA_API_TIMEOUT_S``.
Totals and pages of recent queries are remembered per published version (which never changes).
Each client address gets ``HYPERVISEUR_OPENDATA_API_RATE_PER_MINUTE`` requests per minute
(token bucket).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dtime
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode

from lakehouse import duck
from lakehouse.errors import ObjectNotFound
from opendata import copies, odsql
from opendata.export import FORMULA_STARTS, quote, sql_string

PREFIX = "/api/explore/v2.1/catalog/datasets"
ZONE = "opendata"
DATASET_ID = re.compile(r"^[a-z0-9_]{1,128}$")
QUERY_PARAMS = ("select", "where", "group_by", "order_by", "limit", "offset")
CSV_DELIMITERS = {";": ";", ",": ",", "\t": "\t", "|": "|"}
DEFAULT_LIMIT = 10  # ODS default page size
MAX_CLIENTS = 10_000  # rate-limit buckets kept in memory (oldest dropped)
COUNT_CACHE_ENTRIES = 4096  # totals of recent queries (key: dataset version + query)
PAGE_CACHE_ENTRIES = 512  # pages of recent queries (at most api_max_limit rows each)
log = logging.getLogger(__name__)
DIFFERENCES = (
    "Seuls les paramètres select, where, group_by, order_by, limit et offset sont acceptés "
    "(plus delimiter pour l'export CSV) ; refine, exclude, lang, timezone, include_links… sont refusés (400).",
    'Fonctions : count, sum, avg, min, max (select, order_by) ; search(champ, "texte") et '
    'startswith(champ, "texte") (where) ; une chaîne seule cherche dans tous les champs texte. '
    "Pas d'arithmétique, ni de fonctions de date (year, date_format…), ni de within_distance.",
    "group_by n'accepte que des noms de champs (pas de range() ni de date_format()).",
    "where : comparaisons, AND/OR/NOT, IS [NOT] NULL, IN (liste) et IN [a..b] ; les dates s'écrivent date'AAAA-MM-JJ'.",
    "Les réponses de /records ajoutent un tableau « links » (self, first, prev, next) et un en-tête Link.",
    "L'export CSV est séparé par « ; » comme chez ODS ; les cellules texte commençant par = + - @ "
    "reçoivent une apostrophe (protection des tableurs).",
    "Les exports sont limités à HYPERVISEUR_OPENDATA_API_EXPORT_MAX_ROWS lignes (au-delà : 400, "
    "télécharger le fichier complet) ; limit=-1 signifie « tout, dans cette limite ».",
    "Les heures sont rendues en UTC (ISO 8601), quel que soit le fuseau demandé.",
    "Erreurs : JSON {error_code, message} ; 429 au-delà du débit par client, 503 si la requête "
    "dépasse le temps ou la mémoire alloués.",
)


@dataclass
class Response:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def _error(exc: ApiError) -> Response:
    body = json.dumps({"error_code": exc.code, "message": exc.message}, ensure_ascii=False).encode()
    return Response(exc.status, "application/json; charset=utf-8", body, exc.headers)


class RateLimiter:
    """Token bucket per client address: ``per_minute`` requests, refilled continuously."""

    def __init__(self, per_minute: int):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.lock = threading.Lock()

    def wait_time(self, client: str) -> float:
        """0 if the request may go (a token is taken), else seconds until the next token."""
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.pop(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self.buckets[client] = (tokens - 1 if wait == 0 else tokens, now)
            while len(self.buckets) > MAX_CLIENTS:
                self.buckets.popitem(last=False)
        return wait


class Remembered:
    """The ``size`` most recently used answers (key: dataset, version, SQL, parameters)."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict[tuple, object] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple):
        with self.lock:
            if key not in self.items:
                return None
            self.items.move_to_end(key)
            return self.items[key]

    def put(self, key: tuple, value):
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (date, dtime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (bytes, bytearray)):
        return None
    return value


def _csv_cell(value) -> str:
    value = _jsonable(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class RecordsApi:
    """Answers the API routes for one lakehouse (shared by the portal's request threads)."""

    def __init__(self, lh, base_url: str):
        self.lh = lh
        self.base = base_url.rstrip("/")
        self.settings = lh.settings.opendata
        self.limiter = RateLimiter(self.settings.api_rate_per_minute)
        self._con = None
        self._lock = threading.Lock()
        self._counts = Remembered(COUNT_CACHE_ENTRIES)
        self._pages = Remembered(PAGE_CACHE_ENTRIES)
        self.copies = copies.Copies(lh, self.connection)

    # -- DuckDB ----------------------------------------------------------------------------
    def connection(self):
        """The API's database: in memory, sandboxed to the published zone and the copies of its
        versions, configuration locked."""
        with self._lock:
            if self._con is None:
                con = self.lh.duckdb(
                    extensions=duck.SPATIAL,  # GeoJSON answers
                    config={
                        "memory_limit": self.settings.api_memory_limit,
                        "threads": self.lh.settings.limits.duckdb_threads,
                    },
                )
                con.execute("SET TimeZone='UTC'")
                con.execute("SET parquet_metadata_cache=true")  # footers read once per published file
                zone = self.lh.storage.uri(ZONE) + "/"  # a folder of the local lake, or s3://bucket/opendata/
                local = str(copies.folder(self.lh.settings)) + "/"  # copies of published versions only
                con.execute(f"SET allowed_directories=[{sql_string(zone)}, {sql_string(local)}]")
                con.execute("SET enable_external_access=false")
                con.execute("SET lock_configuration=true")
                self._con = con
            return self._con

    def _run(self, sql: str, params: list, fetch):
        """Run one statement on its own cursor, interrupted after the configured timeout."""
        import duckdb

        cursor = self.connection().cursor()
        timer = threading.Timer(self.settings.api_timeout_s, cursor.interrupt)
        timer.start()
        try:
            return fetch(cursor.execute(sql, params))
        except duckdb.InterruptException:
            raise ApiError(
                503,
                "QueryTimeout",
                f"requête interrompue : plus de {self.settings.api_timeout_s:g} s "
                "(HYPERVISEUR_OPENDATA_API_TIMEOUT_S) ; affiner le filtre",
            ) from None
        except duckdb.OutOfMemoryException:
            raise ApiError(
                503,
                "QueryMemory",
                f"requête trop gourmande en mémoire (limite {self.settings.api_memory_limit}, "
                "HYPERVISEUR_OPENDATA_API_MEMORY_LIMIT) ; affiner le filtre",
            ) from None
        except (duckdb.ConversionException, duckdb.BinderException, duckdb.InvalidInputException) as exc:
            log.info("API : requête refusée par DuckDB : %s", exc)
            raise ApiError(
                400, "ODSQLError", "requête invalide : une valeur ne correspond pas au type du champ comparé"
            ) from None
        finally:
            timer.cancel()
            cursor.close()

    # -- datasets --------------------------------------------------------------------------
    def manifest(self, dataset: str) -> dict:
        if not DATASET_ID.match(dataset):
            raise ApiError(404, "DatasetNotFound", f"jeu de données « {dataset[:80]} » inconnu")
        try:
            return self.lh.lake.read_json(f"{ZONE}/{dataset}/latest/manifest.json")
        except ObjectNotFound:
            raise ApiError(404, "DatasetNotFound", f"jeu de données « {dataset} » inconnu ou non publié") from None

    def _sources(self, manifest: dict) -> tuple[str, dict[str, str]]:
        """``FROM`` target of the published version, and of its rollups (column -> target)."""
        parquet = next((f for f in manifest["files"] if f["format"] == "parquet"), None)
        if parquet is None:
            raise ApiError(404, "DatasetNotFound", f"« {manifest['dataset']} » n'est pas publié en Parquet")
        uri = self.lh.storage.uri(parquet["key"])
        copy = self.copies.table(manifest["dataset"], manifest["version"], uri)
        return copy or (f"read_parquet({sql_string(uri)})", {})

    @staticmethod
    def _columns(manifest: dict) -> dict[str, str]:
        return {c["name"]: c["type"] for c in manifest["columns"]}

    def _dataset_info(self, manifest: dict) -> dict:
        meta = manifest["metadata"]
        return {
            "dataset_id": manifest["dataset"],
            "title": meta["title"],
            "description": meta["description"],
            "version": manifest["version"],
            "modified": manifest["published_at"],
            "records_count": manifest["rows"],
            "fields": [
                {"name": c["name"], "type": c["type"], "description": c.get("description") or ""}
                for c in manifest["columns"]
            ],
            "links": [{"rel": "records", "href": f"{self.base}{PREFIX}/{manifest['dataset']}/records"}],
        }

    # -- entry point -----------------------------------------------------------------------
    def handle(self, path: str, query: str, client: str) -> Response:
        try:
            wait = self.limiter.wait_time(client)
            if wait:
                raise ApiError(
                    429,
                    "TooManyRequests",
                    f"trop de requêtes : limite de {self.settings.api_rate_per_minute} par minute "
                    "(HYPERVISEUR_OPENDATA_API_RATE_PER_MINUTE)",
                    {"Retry-After": str(math.ceil(wait))},
                )
            params = self._params(query)
            return self._route(path, params)
        except odsql.QueryError as exc:
            return _error(ApiError(400, "ODSQLError", str(exc)))
        except ApiError as exc:
            return _error(exc)

    @staticmethod
    def _params(query: str) -> dict[str, str]:
        pairs = parse_qsl(query, keep_blank_values=True)
        params: dict[str, str] = {}
        for key, value in pairs:
            if key in params:
                raise ApiError(400, "InvalidRESTParameterError", f"paramètre « {key[:40]} » répété")
            params[key] = value
        return params

    def _route(self, path: str, params: dict[str, str]) -> Response:
        rest = path[len(PREFIX) :].strip("/")
        parts = rest.split("/") if rest else []
        if not parts:
            self._only(params, ())
            return self._json(self._catalog())
        manifest = self.manifest(parts[0])
        if len(parts) == 1:
            self._only(params, ())
            return self._json(self._dataset_info(manifest))
        if parts[1:] == ["records"]:
            self._only(params, QUERY_PARAMS)
            return self._records(manifest, params)
        if len(parts) == 3 and parts[1] == "exports" and parts[2] in ("json", "csv", "geojson"):
            self._only(params, QUERY_PARAMS + (("delimiter",) if parts[2] == "csv" else ()))
            return self._export(manifest, parts[2], params)
        raise ApiError(404, "NotFound", "adresse d'API inconnue (voir /api.html)")

    @staticmethod
    def _only(params: dict, allowed: tuple) -> None:
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            accepted = ", ".join(allowed) or "aucun"
            raise ApiError(
                400,
                "InvalidRESTParameterError",
                f"paramètre(s) non pris en charge : {', '.join(u[:40] for u in unknown)} (acceptés : {accepted})",
            )

    def _json(self, doc, status: int = 200, headers: dict | None = None) -> Response:
        body = json.dumps(doc, ensure_ascii=False, default=_jsonable).encode()
        return Response(status, "application/json; charset=utf-8", body, headers or {})

    def _catalog(self) -> dict:
        keys = sorted(o.key for o in self.lh.storage.list(f"{ZONE}/") if o.key.endswith("/latest/manifest.json"))
        results = [self._dataset_info(self.lh.lake.read_json(k)) for k in keys]
        return {"total_count": len(results), "results": results}

    # -- queries ---------------------------------------------------------------------------
    def _compile(self, manifest: dict, params: dict) -> odsql.Query:
        source, rollups = self._sources(manifest)
        return odsql.compile_query(
            self._columns(manifest),
            source,
            select=params.get("select"),
            where=params.get("where"),
            group_by=params.get("group_by"),
            order_by=params.get("order_by"),
            rollups=rollups,
        )

    @staticmethod
    def _int(params: dict, name: str, default: int) -> int:
        raw = params.get(name, "").strip()
        if raw == "":
            return default
        if not re.fullmatch(r"-?\d{1,12}", raw):
            raise ApiError(400, "InvalidRESTParameterError", f"paramètre « {name} » : entier attendu")
        return int(raw)

    def _records(self, manifest: dict, params: dict) -> Response:
        s = self.settings
        limit = self._int(params, "limit", DEFAULT_LIMIT)
        offset = self._int(params, "offset", 0)
        if not 0 <= limit <= s.api_max_limit:
            raise ApiError(
                400,
                "InvalidRESTParameterError",
                f"paramètre « limit » : entre 0 et {s.api_max_limit} (HYPERVISEUR_OPENDATA_API_MAX_LIMIT) ; "
                "pour tout obtenir, utiliser /exports",
            )
        if offset < 0 or offset + limit > s.api_max_offset:
            raise ApiError(
                400,
                "InvalidRESTParameterError",
                f"offset + limit ne peut dépasser {s.api_max_offset} (HYPERVISEUR_OPENDATA_API_MAX_OFFSET) ; "
                "pour tout obtenir, utiliser /exports",
            )
        q = self._compile(manifest, params)
        total = self._count(manifest, q)
        sql = f"{q.sql} LIMIT {limit} OFFSET {offset}"
        key = (manifest["dataset"], manifest["version"], sql, repr(q.params))
        rows = self._pages.get(key)
        if rows is None:
            rows = self._pages.put(key, self._run(sql, q.params, lambda cur: cur.fetchall()))
        results = [{name: _jsonable(v) for name, v in zip(q.output, row)} for row in rows]
        links = self._links(manifest["dataset"], params, total, limit, offset)
        header = ", ".join(f'<{link["href"]}>; rel="{link["rel"]}"' for link in links if link["rel"] != "self")
        return self._json({"total_count": total, "results": results, "links": links}, headers={"Link": header})

    def _count(self, manifest: dict, q: odsql.Query) -> int:
        """Rows (or groups) matching ``q``; remembered per published version, which never changes,
        so the following pages of a query cost one scan instead of two."""
        key = (manifest["dataset"], manifest["version"], q.count_sql(), repr(q.params))
        total = self._counts.get(key)
        if total is None:
            total = self._counts.put(key, self._run(q.count_sql(), q.params, lambda cur: cur.fetchone()[0]))
        return total

    def _links(self, dataset: str, params: dict, total: int, limit: int, offset: int) -> list[dict]:
        def href(new_offset: int) -> str:
            query = {k: v for k, v in params.items() if k != "offset"}
            query["limit"] = str(limit)
            if new_offset:
                query["offset"] = str(new_offset)
            return f"{self.base}{PREFIX}/{dataset}/records?{urlencode(query)}"

        links = [{"rel": "self", "href": href(offset)}, {"rel": "first", "href": href(0)}]
        if offset > 0:
            links.append({"rel": "prev", "href": href(max(0, offset - limit))})
        if limit and offset + limit < total and offset + 2 * limit <= self.settings.api_max_offset:
            links.append({"rel": "next", "href": href(offset + limit)})
        return links

    def _export(self, manifest: dict, fmt: str, params: dict) -> Response:
        s = self.settings
        limit = self._int(params, "limit", -1)
        offset = self._int(params, "offset", 0)
        if limit < -1 or offset < 0:
            raise ApiError(
                400, "InvalidRESTParameterError", "paramètres « limit »/« offset » : entiers positifs attendus"
            )
        q = self._compile(manifest, params)
        geometry = None
        if fmt == "geojson":
            geometry = self._geometry_sql(manifest)
            if q.grouped:
                raise ApiError(
                    400, "InvalidRESTParameterError", "export GeoJSON impossible avec group_by ou un agrégat"
                )
        total = self._count(manifest, q)
        rows = max(0, total - offset) if limit == -1 else min(limit, max(0, total - offset))
        if rows > s.api_export_max_rows:
            raise ApiError(
                400,
                "ExportTooLarge",
                f"export de {rows} lignes refusé : au plus {s.api_export_max_rows} "
                "(HYPERVISEUR_OPENDATA_API_EXPORT_MAX_ROWS) ; filtrer, ou télécharger le fichier complet",
            )
        select = q.select_sql + (f", {geometry} AS {quote('__geometry')}" if geometry else "")
        sql = f"SELECT {select} {q.from_where_sql}{q.tail_sql} LIMIT {rows} OFFSET {offset}"
        batches = self._run(sql, q.params, lambda cur: cur.fetchall())
        name = manifest["dataset"]
        disposition = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
        if fmt == "json":
            records = [{n: _jsonable(v) for n, v in zip(q.output, r)} for r in batches]
            body = json.dumps(records, ensure_ascii=False)
            return Response(200, "application/json; charset=utf-8", body.encode(), disposition)
        if fmt == "csv":
            delimiter = CSV_DELIMITERS.get(params.get("delimiter", ";"))
            if delimiter is None:
                raise ApiError(400, "InvalidRESTParameterError", "paramètre « delimiter » : ; , | ou tabulation")
            out = io.StringIO()
            writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
            writer.writerow(q.output)
            writer.writerows([_csv_cell(v) for v in r] for r in batches)
            return Response(200, "text/csv; charset=utf-8", out.getvalue().encode("utf-8"), disposition)
        features = [
            {
                "type": "Feature",
                "geometry": json.loads(r[-1]) if r[-1] else None,
                "properties": {n: _jsonable(v) for n, v in zip(q.output, r[:-1])},
            }
            for r in batches
        ]
        body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
        return Response(200, "application/geo+json", body.encode(), disposition)

    def _geometry_sql(self, manifest: dict) -> str:
        geo = manifest.get("geometry") or []
        columns = self._columns(manifest)
        if len(geo) == 2 and all(g in columns for g in geo):
            lat, lon = (quote(g) for g in geo)
            return (
                f"CASE WHEN {lat} IS NULL OR {lon} IS NULL THEN NULL "
                f"ELSE json_object('type', 'Point', 'coordinates', json_array({lon}, {lat}))::VARCHAR END"
            )
        if len(geo) == 1 and geo[0] in columns:
            wkt = quote(geo[0])
            return f"CASE WHEN {wkt} IS NULL THEN NULL ELSE ST_AsGeoJSON(ST_GeomFromText({wkt}))::VARCHAR END"
        raise ApiError(
            400, "InvalidRESTParameterError", f"« {manifest['dataset']} » n'a pas de géométrie : pas d'export GeoJSON"
        )
