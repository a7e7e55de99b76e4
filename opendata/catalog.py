"""The DCAT-AP catalog of published datasets (JSON-LD and Turtle), built with rdflib.

Every controlled value is an EU vocabulary URI (themes, frequencies, file types, language,
access rights, country) described inline with its ``skos:inScheme`` and type, so the
official SHACL shapes can check it without fetching the vocabularies. Licences are
identified by their own page (what data.gouv.fr's harvester recognises), typed with the
ADMS licence type vocabulary and matched to the EU licence table when it has them.

The catalog conforms to DCAT-AP 2.1.1 and 3.0.0 at once, which rules out two optional
properties whose official shapes contradict each other: ``dcat:byteSize`` (2.1.1 demands an
``xsd:decimal``, 3.0.0 an ``xsd:nonNegativeInteger``) and ``spdx:checksum`` (2.1.1 admits only
SHA-1; 3.0.0's vocabulary shape wants an ``https://spdx.org/rdf/terms`` algorithm IRI, which
SPDX does not define). Sizes and sha256 checksums are in each dataset's ``manifest.json`` and
on its portal page.
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
FR = "fr"

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
    ):
        g.bind(prefix, ns)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "producteur"


def _datetime(value: str) -> Literal:
    return Literal(datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat(), datatype=XSD.dateTime)


class CatalogBuilder:
    """Accumulates datasets from their publication manifests into one graph."""

    def __init__(self, base_url: str):
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

    def _language(self) -> URIRef:
        return self._concept(vocab.FRENCH, vocab.LANGUAGE_SCHEME, "français", DCT.LinguisticSystem)

    def _france(self) -> URIRef:
        return self._concept(vocab.FRANCE, vocab.COUNTRY_SCHEME, "France", DCT.Location)

    # -- datasets -----------------------------------------------------------------------
    def add(self, manifest: dict) -> URIRef:
        meta = manifest["metadata"]
        name = manifest["dataset"]
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
        g.add((ds, DCAT.contactPoint, self._contact(meta)))
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
            period = BNode()
            g.add((ds, DCT.temporal, period))
            g.add((period, RDF.type, DCT.PeriodOfTime))
            g.add((period, DCAT.startDate, _datetime(manifest["temporal"]["start"])))
            g.add((period, DCAT.endDate, _datetime(manifest["temporal"]["end"])))
        g.add((ds, DCT.issued, _datetime(manifest.get("first_published_at") or manifest["published_at"])))
        g.add((ds, DCT.modified, _datetime(manifest["published_at"])))
        g.add((ds, OWL.versionInfo, Literal(manifest["version"])))
        g.add((ds, DCAT.landingPage, page))
        g.add((page, RDF.type, FOAF.Document))
        for f in manifest["files"]:
            g.add((ds, DCAT.distribution, self._distribution(manifest, f, page)))
        return ds

    def _contact(self, meta: dict) -> BNode:
        node = BNode()
        self.g.add((node, RDF.type, VCARD.Organization))
        self.g.add((node, RDF.type, VCARD.Kind))
        self.g.add((node, VCARD.fn, Literal(meta["producer"], lang=FR)))
        contact = meta["contact_point"]
        if "@" in contact and not contact.startswith(("http://", "https://")):
            self.g.add((node, VCARD.hasEmail, URIRef("mailto:" + contact.removeprefix("mailto:"))))
        else:
            self.g.add((node, VCARD.hasURL, URIRef(contact)))
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
        g.add((node, DCT.license, self._licence(meta["licence"])))
        g.add((node, DCT.issued, _datetime(manifest["published_at"])))
        g.add((node, DCT.modified, _datetime(manifest["published_at"])))
        g.add((node, DCT.language, self._language()))
        g.add((node, DCATAP.availability, self._concept(vocab.STABLE, vocab.AVAILABILITY_SCHEME, "stable")))
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


def build(manifests: list[dict], base_url: str, *, title: str, description: str, publisher: str, now: str) -> Graph:
    builder = CatalogBuilder(base_url)
    for m in sorted(manifests, key=lambda m: m["dataset"]):
        builder.add(m)
    issued = min((m.get("first_published_at") or m["published_at"] for m in manifests), default=now)
    modified = max((m["published_at"] for m in manifests), default=now)
    return builder.finish(title, description, publisher, issued, modified)


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
