"""The DCAT-AP catalogs of published datasets (JSON-LD and Turtle), built with rdflib.

Every controlled value is an EU vocabulary URI (themes, frequencies, file types, language,
access rights, country, HVD categories) described inline with its ``skos:inScheme`` and
type, so the official SHACL shapes can check it without fetching the vocabularies. Licences
are identified by their own page (what data.gouv.fr's harvester recognises), typed with the
ADMS licence type vocabulary and matched to the EU licence table when it has them.

No single graph satisfies every profile, so one catalog is written per profile
(:data:`PROFILES`):

- ``common`` (``catalog.ttl``/``catalog.jsonld``): conforms to DCAT-AP 2.1.1 and 3.0.0 at
  once. It leaves out ``dcat:byteSize`` (2.1.1 demands ``xsd:decimal``; the 3.0.0 release
  ships two shape files, one demanding ``xsd:decimal``, the other ``xsd:nonNegativeInteger``)
  and ``spdx:checksum`` (3.0.0's vocabulary shape wants an ``https://spdx.org/rdf/terms``
  algorithm IRI, which SPDX does not define).
- ``2.1.1`` (``catalog-dcat-ap-2.1.1.ttl``): the same plus ``dcat:byteSize`` and an SHA-1
  ``spdx:checksum`` per file, as DCAT-AP 2.1.1 wants them.
- ``hvd`` (``catalog-hvd.ttl``): only the High-Value Datasets (the HVD shapes make an HVD
  category and the applicable legislation mandatory on every dataset and distribution),
  with the records API of each as a ``dcat:DataService``; also conforms to 3.0.0.

High-Value Datasets carry ``dcatap:hvdCategory`` and ``dcatap:applicableLegislation`` (the
ELI of Implementing Regulation 2023/138) in every profile. Every node has a URI derived from
the portal address and the dataset name (no blank nodes), so records are the same across runs.
"""

from __future__ import annotations

import re
from datetime import datetime

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, FOAF, OWL, RDF, RDFS, SKOS, XSD
from rdflib.namespace import DCTERMS as DCT

from opendata import vocab

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
LOCN = Namespace("http://www.w3.org/ns/locn#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
SPDX = Namespace(vocab.SPDX)
ELI = Namespace("http://data.europa.eu/eli/ontology#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
CATALOG_PAGE_SIZE = 100  # datasets per page of the paged catalog (written only beyond one page)
PAGES_DIR = "catalog"  # <portal>/catalog/page-<n>.ttl
FR = "fr"
PROFILES = ("common", "2.1.1", "hvd")
# Where each profile's catalog is written, relative to the portal root (Turtle, JSON-LD or None).
CATALOG_FILES = {
    "common": ("catalog.ttl", "catalog.jsonld"),
    "2.1.1": ("catalog-dcat-ap-2.1.1.ttl", None),
    "hvd": ("catalog-hvd.ttl", None),
}
API_PREFIX = "api/explore/v2.1/catalog/datasets/"
API_DOC_PAGE = "api.html"
API_OPENAPI = "api/openapi.json"

SCHEME_TITLES = {
    vocab.THEME_SCHEME: "Data theme",
    vocab.FREQUENCY_SCHEME: "Frequency",
    vocab.FILE_TYPE_SCHEME: "File type",
    vocab.LANGUAGE_SCHEME: "Language",
    vocab.COUNTRY_SCHEME: "Country",
    vocab.ACCESS_RIGHT_SCHEME: "Access right",
    vocab.LICENCE_TYPE_SCHEME: "Licence type",
    vocab.PUBLISHER_TYPE_SCHEME: "Publisher type",
    vocab.AVAILABILITY_SCHEME: "Planned availability",
    vocab.HVD_CATEGORY_SCHEME: "High-value dataset categories",
}


def _bind(g: Graph) -> None:
    for prefix, ns in (
        ("dcat", DCAT),
        ("dct", DCT),
        ("foaf", FOAF),
        ("skos", SKOS),
        ("vcard", VCARD),
        ("dcatap", DCATAP),
        ("locn", LOCN),
        ("adms", ADMS),
        ("owl", OWL),
        ("gsp", GSP),
        ("spdx", SPDX),
        ("eli", ELI),
        ("hydra", HYDRA),
    ):
        g.bind(prefix, ns)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "producteur"


def _datetime(value: str) -> Literal:
    return Literal(datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat(), datatype=XSD.dateTime)


class CatalogBuilder:
    """Accumulates datasets from their publication manifests into one graph."""

    def __init__(self, base_url: str, profile: str = "common"):
        if profile not in PROFILES:
            raise ValueError(f"profil DCAT-AP inconnu « {profile} » (attendu : {', '.join(PROFILES)})")
        self.profile = profile
        self.base = base_url.rstrip("/") + "/"
        self.g = Graph()
        _bind(self.g)
        self.catalog = URIRef(self.base + "catalog")
        self._described: set[URIRef] = set()

    # -- vocabulary nodes ---------------------------------------------------------------
    def _concept(self, uri: str, scheme: str, label: str, *types: URIRef) -> URIRef:
        node = URIRef(uri)
        if node not in self._described:
            self._described.add(node)
            self.g.add((node, RDF.type, SKOS.Concept))
            for t in types:
                self.g.add((node, RDF.type, t))
            self.g.add((node, SKOS.inScheme, URIRef(scheme)))
            self.g.add((node, SKOS.prefLabel, Literal(label, lang=FR)))
            scheme_node = URIRef(scheme)
            self.g.add((scheme_node, RDF.type, SKOS.ConceptScheme))
            self.g.set((scheme_node, DCT.title, Literal(SCHEME_TITLES[scheme], lang="en")))
        return node

    def _licence(self, code: str) -> URIRef:
        lic = vocab.LICENCES[code]
        node = URIRef(lic.uri)
        if node not in self._described:
            self._described.add(node)
            self.g.add((node, RDF.type, DCT.LicenseDocument))
            self.g.add((node, DCT.title, Literal(lic.label_fr, lang=FR)))
            for t in lic.licence_types:
                self.g.add((node, DCT.type, self._concept(t, vocab.LICENCE_TYPE_SCHEME, t.rsplit("/", 1)[1])))
            if lic.eu_match:
                self.g.add((node, SKOS.exactMatch, URIRef(lic.eu_match)))
        return node

    def _publisher(self, name: str) -> URIRef:
        node = URIRef(f"{self.base}organisations/{_slug(name)}")
        if node not in self._described:
            self._described.add(node)
            self.g.add((node, RDF.type, FOAF.Agent))
            self.g.add((node, RDF.type, FOAF.Organization))
            self.g.add((node, FOAF.name, Literal(name, lang=FR)))
            self.g.add(
                (
                    node,
                    DCT.type,
                    self._concept(vocab.LOCAL_AUTHORITY, vocab.PUBLISHER_TYPE_SCHEME, "Collectivité territoriale"),
                )
            )
        return node

    def _legislation(self) -> URIRef:
        node = URIRef(vocab.HVD_LEGISLATION)
        if node not in self._described:
            self._described.add(node)
            self.g.add((node, RDF.type, ELI.LegalResource))
            self.g.add((node, DCT.title, Literal(vocab.HVD_LEGISLATION_TITLE, lang=FR)))
        return node

    def _hvd(self, node: URIRef, category: str) -> None:
        """Mark ``node`` (dataset, distribution or service) as High-Value under 2023/138."""
        self.g.add((node, DCATAP.applicableLegislation, self._legislation()))
        uri, label = vocab.HVD_CATEGORIES[category]
        self.g.add((node, DCATAP.hvdCategory, self._concept(uri, vocab.HVD_CATEGORY_SCHEME, label)))

    def _language(self) -> URIRef:
        return self._concept(vocab.FRENCH, vocab.LANGUAGE_SCHEME, "français", DCT.LinguisticSystem)

    def _france(self) -> URIRef:
        return self._concept(vocab.FRANCE, vocab.COUNTRY_SCHEME, "France", DCT.Location)

    # -- datasets -----------------------------------------------------------------------
    def add(self, manifest: dict) -> URIRef | None:
        """Describe one dataset; None when the profile leaves it out (non-HVD in ``hvd``)."""
        meta = manifest["metadata"]
        name = manifest["dataset"]
        hvd = meta.get("hvd_category")
        if self.profile == "hvd" and not hvd:
            return None
        g = self.g
        ds = URIRef(f"{self.base}datasets/{name}")
        page = URIRef(f"{self.base}datasets/{name}.html")
        g.add((self.catalog, DCAT.dataset, ds))
        g.add((ds, RDF.type, DCAT.Dataset))
        g.add((ds, DCT.identifier, Literal(name)))
        g.add((ds, DCT.title, Literal(meta["title"], lang=FR)))
        g.add((ds, DCT.description, Literal(meta["description"], lang=FR)))
        for kw in meta["keywords"]:
            g.add((ds, DCAT.keyword, Literal(kw, lang=FR)))
        for theme in meta["themes"]:
            g.add((ds, DCAT.theme, self._concept(vocab.theme_uri(theme), vocab.THEME_SCHEME, vocab.THEMES_FR[theme])))
        g.add((ds, DCT.publisher, self._publisher(meta["producer"])))
        g.add((ds, DCAT.contactPoint, self._contact(name, meta)))
        g.add(
            (
                ds,
                DCT.accrualPeriodicity,
                self._concept(
                    vocab.frequency_uri(meta["frequency"]),
                    vocab.FREQUENCY_SCHEME,
                    vocab.FREQUENCIES[meta["frequency"]][1],
                    DCT.Frequency,
                ),
            )
        )
        g.add((ds, DCT.language, self._language()))
        g.add(
            (
                ds,
                DCT.accessRights,
                self._concept(vocab.PUBLIC_ACCESS, vocab.ACCESS_RIGHT_SCHEME, "public", DCT.RightsStatement),
            )
        )
        g.add((ds, DCT.spatial, self._france()))
        if manifest.get("bbox") or meta.get("spatial"):
            g.add((ds, DCT.spatial, self._territory(name, meta.get("spatial"), manifest.get("bbox"))))
        if manifest.get("temporal"):
            period = URIRef(f"{self.base}datasets/{name}#periode")
            g.add((ds, DCT.temporal, period))
            g.add((period, RDF.type, DCT.PeriodOfTime))
            g.add((period, DCAT.startDate, _datetime(manifest["temporal"]["start"])))
            g.add((period, DCAT.endDate, _datetime(manifest["temporal"]["end"])))
        g.add((ds, DCT.issued, _datetime(manifest.get("first_published_at") or manifest["published_at"])))
        g.add((ds, DCT.modified, _datetime(manifest["published_at"])))
        g.add((ds, OWL.versionInfo, Literal(manifest["version"])))
        g.add((ds, DCAT.landingPage, page))
        g.add((page, RDF.type, FOAF.Document))
        distributions = [self._distribution(manifest, f, page) for f in manifest["files"]]
        service = self._service(manifest, ds)
        distributions.append(self._api_distribution(manifest, service))
        for node in distributions:
            g.add((ds, DCAT.distribution, node))
            if hvd:
                self._hvd(node, hvd)
        if hvd:
            self._hvd(ds, hvd)
            self._hvd(service, hvd)
        return ds

    def _service(self, manifest: dict, ds: URIRef) -> URIRef:
        """The records API of the dataset (its published version), as a ``dcat:DataService``."""
        name, meta = manifest["dataset"], manifest["metadata"]
        g = self.g
        node = URIRef(f"{self.base}datasets/{name}#api")
        endpoint = URIRef(f"{self.base}{API_PREFIX}{name}")
        description = URIRef(self.base + API_OPENAPI)
        doc = URIRef(self.base + API_DOC_PAGE)
        g.add((self.catalog, DCAT.service, node))
        g.add((node, RDF.type, DCAT.DataService))
        g.add((node, DCT.title, Literal(f"API des enregistrements — {meta['title']}", lang=FR)))
        g.add(
            (
                node,
                DCT.description,
                Literal(
                    "Interrogation en lecture seule de la version publiée (filtre, tri, agrégats, pagination ; "
                    "syntaxe de l'API Explore v2.1 d'OpenDataSoft).",
                    lang=FR,
                ),
            )
        )
        g.add((node, DCAT.endpointURL, endpoint))
        g.add((node, DCAT.endpointDescription, description))
        g.add((node, DCAT.servesDataset, ds))
        g.add((node, DCAT.contactPoint, self._contact(name, meta)))
        g.add((node, FOAF.page, doc))
        g.add((node, DCT.license, self._licence(meta["licence"])))
        g.add(
            (
                node,
                DCT.accessRights,
                self._concept(vocab.PUBLIC_ACCESS, vocab.ACCESS_RIGHT_SCHEME, "public", DCT.RightsStatement),
            )
        )
        for resource in (endpoint, description):
            g.add((resource, RDF.type, RDFS.Resource))
        g.add((doc, RDF.type, FOAF.Document))
        return node

    def _api_distribution(self, manifest: dict, service: URIRef) -> URIRef:
        name, meta = manifest["dataset"], manifest["metadata"]
        g = self.g
        node = URIRef(f"{self.base}datasets/{name}#api-json")
        access = URIRef(f"{self.base}{API_PREFIX}{name}/records")
        g.add((node, RDF.type, DCAT.Distribution))
        g.add((node, DCT.title, Literal(f"{meta['title']} (API)", lang=FR)))
        g.add((node, DCT.description, Literal("Enregistrements de la version publiée, par l'API (JSON).", lang=FR)))
        g.add((node, DCAT.accessURL, access))
        g.add((access, RDF.type, RDFS.Resource))
        g.add((node, DCAT.accessService, service))
        self._distribution_terms(node, manifest, vocab.FORMATS["json"])
        return node

    def _distribution_terms(self, node: URIRef, manifest: dict, fmt: vocab.FileFormat) -> None:
        """What every distribution states, a file or the API: format, media type, licence, dates,
        language, availability."""
        g = self.g
        g.add(
            (
                node,
                DCT.format,
                self._concept(vocab.file_type_uri(fmt.key), vocab.FILE_TYPE_SCHEME, fmt.label, DCT.MediaTypeOrExtent),
            )
        )
        media = URIRef(vocab.IANA_MEDIA_TYPES + fmt.media_type)
        g.add((node, DCAT.mediaType, media))
        g.add((media, RDF.type, DCT.MediaType))
        g.add((node, DCT.license, self._licence(manifest["metadata"]["licence"])))
        g.add((node, DCT.issued, _datetime(manifest["published_at"])))
        g.add((node, DCT.modified, _datetime(manifest["published_at"])))
        g.add((node, DCT.language, self._language()))
        g.add((node, DCATAP.availability, self._concept(vocab.STABLE, vocab.AVAILABILITY_SCHEME, "stable")))

    def _contact(self, name: str, meta: dict) -> URIRef:
        node = URIRef(f"{self.base}datasets/{name}#contact")
        self.g.add((node, RDF.type, VCARD.Organization))
        self.g.add((node, RDF.type, VCARD.Kind))
        self.g.add((node, VCARD.fn, Literal(meta["producer"], lang=FR)))
        contact = meta["contact_point"]
        if "@" in contact and not contact.startswith(("http://", "https://")):
            prop, target = VCARD.hasEmail, URIRef("mailto:" + contact.removeprefix("mailto:"))
        else:
            prop, target = VCARD.hasURL, URIRef(contact)
        self.g.add((node, prop, target))
        self.g.add((target, RDF.type, RDFS.Resource))
        return node

    def _territory(self, name: str, label: str | None, bbox: list | None) -> URIRef:
        node = URIRef(f"{self.base}datasets/{name}#territoire")
        self.g.add((node, RDF.type, DCT.Location))
        if label:
            self.g.add((node, SKOS.prefLabel, Literal(label, lang=FR)))
        if bbox:
            x0, y0, x1, y1 = bbox
            wkt = f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"
            self.g.add((node, DCAT.bbox, Literal(wkt, datatype=GSP.wktLiteral)))
            centroid = f"POINT({(x0 + x1) / 2} {(y0 + y1) / 2})"
            self.g.add((node, DCAT.centroid, Literal(centroid, datatype=GSP.wktLiteral)))
        return node

    def _distribution(self, manifest: dict, f: dict, page: URIRef) -> URIRef:
        fmt = vocab.FORMATS[f["format"]]
        meta = manifest["metadata"]
        g = self.g
        node = URIRef(f"{self.base}datasets/{manifest['dataset']}#{fmt.key}")
        g.add((node, RDF.type, DCAT.Distribution))
        download = URIRef(self.base + f["path"])
        g.add((node, DCT.title, Literal(f"{meta['title']} ({fmt.label})", lang=FR)))
        g.add((node, DCT.description, Literal(f"Dernière version du jeu de données au format {fmt.label}.", lang=FR)))
        g.add((node, DCAT.accessURL, page))
        g.add((node, DCAT.downloadURL, download))
        g.add((page, RDF.type, RDFS.Resource))
        g.add((download, RDF.type, RDFS.Resource))
        self._distribution_terms(node, manifest, fmt)
        if self.profile == "2.1.1":
            g.add((node, DCAT.byteSize, Literal(f["bytes"], datatype=XSD.decimal)))
            if f.get("sha1"):
                checksum = URIRef(f"{node}-checksum")
                algorithm = SPDX.checksumAlgorithm_sha1
                g.add((node, SPDX.checksum, checksum))
                g.add((checksum, RDF.type, SPDX.Checksum))
                g.add((checksum, SPDX.algorithm, algorithm))
                g.add((algorithm, RDF.type, SPDX.ChecksumAlgorithm))
                g.add((checksum, SPDX.checksumValue, Literal(f["sha1"], datatype=XSD.hexBinary)))
        return node

    # -- catalog ------------------------------------------------------------------------
    def finish(self, title: str, description: str, publisher: str, issued: str, modified: str) -> Graph:
        g = self.g
        g.add((self.catalog, RDF.type, DCAT.Catalog))
        g.add((self.catalog, DCT.title, Literal(title, lang=FR)))
        g.add((self.catalog, DCT.description, Literal(description, lang=FR)))
        g.add((self.catalog, DCT.publisher, self._publisher(publisher)))
        g.add((self.catalog, DCT.language, self._language()))
        g.add((self.catalog, DCT.spatial, self._france()))
        g.add((self.catalog, DCT.issued, _datetime(issued)))
        g.add((self.catalog, DCT.modified, _datetime(modified)))
        g.add((self.catalog, DCAT.themeTaxonomy, URIRef(vocab.THEME_SCHEME)))
        g.add((self.catalog, FOAF.homepage, URIRef(self.base + "index.html")))
        g.add((URIRef(self.base + "index.html"), RDF.type, FOAF.Document))
        g.add((self.catalog, DCT.license, self._licence(vocab.DEFAULT_LICENCE)))
        return g


def build(
    manifests: list[dict],
    base_url: str,
    *,
    title: str,
    description: str,
    publisher: str,
    now: str,
    profile: str = "common",
) -> Graph:
    builder = CatalogBuilder(base_url, profile)
    if profile == "hvd":
        manifests = [m for m in manifests if m["metadata"].get("hvd_category")]
    for m in sorted(manifests, key=lambda m: m["dataset"]):
        builder.add(m)
    issued = min((m.get("first_published_at") or m["published_at"] for m in manifests), default=now)
    modified = max((m["published_at"] for m in manifests), default=now)
    return builder.finish(title, description, publisher, issued, modified)


def page_key(n: int) -> str:
    return f"{PAGES_DIR}/page-{n}.ttl"


def pages(manifests: list[dict], base_url: str, *, page_size: int = CATALOG_PAGE_SIZE, **catalog) -> list[Graph]:
    """The ``common`` catalog cut into pages of ``page_size`` datasets, linked with Hydra.

    Each page is a whole DCAT-AP catalog (same catalog URI) holding a slice of the datasets,
    plus a ``hydra:PagedCollection`` node with ``hydra:totalItems``, ``hydra:itemsPerPage``
    and first/previous/next/last page links: what paging harvesters (data.europa.eu's
    piveau, data.gouv.fr's DCAT harvester) follow. An empty list when one page is enough.
    """
    ordered = sorted(manifests, key=lambda m: m["dataset"])
    if len(ordered) <= page_size:
        return []
    base = base_url.rstrip("/") + "/"
    count = -(-len(ordered) // page_size)
    out = []
    for i in range(count):
        g = build(ordered[i * page_size : (i + 1) * page_size], base, **catalog)
        here = URIRef(base + page_key(i + 1))
        g.add((here, RDF.type, HYDRA.PagedCollection))
        g.add((here, HYDRA.totalItems, Literal(len(ordered), datatype=XSD.nonNegativeInteger)))
        g.add((here, HYDRA.itemsPerPage, Literal(page_size, datatype=XSD.nonNegativeInteger)))
        g.add((here, HYDRA.firstPage, URIRef(base + page_key(1))))
        g.add((here, HYDRA.lastPage, URIRef(base + page_key(count))))
        if i > 0:
            g.add((here, HYDRA.previousPage, URIRef(base + page_key(i))))
        if i + 1 < count:
            g.add((here, HYDRA.nextPage, URIRef(base + page_key(i + 2))))
        out.append(g)
    return out


def dataset_record(graph: Graph, base_url: str, dataset: str) -> Graph:
    """The part of the catalog describing one dataset (its DCAT record, linked from its page)."""
    base = base_url.rstrip("/") + "/"
    root = URIRef(f"{base}datasets/{dataset}")
    record = Graph()
    _bind(record)
    seen, todo = set(), [root]
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for p, o in graph.predicate_objects(node):
            record.add((node, p, o))
            if isinstance(o, (URIRef, BNode)) and (o, None, None) in graph and o != URIRef(f"{base}catalog"):
                todo.append(o)
    return record


def serialise(graph: Graph) -> tuple[bytes, bytes]:
    """JSON-LD and Turtle bytes of ``graph``."""
    return graph.serialize(format="json-ld", indent=1).encode(), graph.serialize(format="turtle").encode()
