"""The published DCAT-AP catalogs conform to the official 2.1.1, 3.0.0 and HVD SHACL shapes."""

from __future__ import annotations

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, XSD

from lakehouse.audit import ensure_audit_key
from opendata import catalog
from opendata.publish import publish, rebuild_portal
from opendata.validation import validate
from tests.opendata.conftest import air_table, dbt_manifest, districts_table, opendata_meta, ready

RELEASES = ("2.1.1", "3.0.0")
BASE = "https://data.val-de-lys.example.fr/"
DCATAP = "http://data.europa.eu/r5r/"
SPDX = "http://spdx.org/rdf/terms#"


@pytest.fixture(scope="module")
def published(tmp_path_factory, fixtures_dir):
    import os

    from lakehouse.platform import Lakehouse

    os.environ.setdefault("HYPERVISEUR_OPENDATA_BASE_URL", "https://data.val-de-lys.example.fr/")
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path_factory.mktemp("cat") / "data")})
    ensure_audit_key(lh.settings)
    lh.storage.check()
    ready(lh, "od_air_hourly", air_table(48))
    ready(lh, "od_reports_by_district", districts_table())
    manifest = dbt_manifest(
        {
            "od_air_hourly": (
                {**opendata_meta("Qualité de l'air horaire"), "hvd_category": "earth_observation_environment"},
                {},
            ),
            "od_reports_by_district": (
                opendata_meta("Signalements par quartier", themes=("SOCI",), licence="odbl", frequency="daily"),
                {},
            ),
        }
    )
    publish(lh, manifest=manifest)
    return lh, fixtures_dir / "standards" / "dcat-ap" / "releases"


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("fmt,key", [("turtle", "opendata/catalog.ttl"), ("json-ld", "opendata/catalog.jsonld")])
def test_catalog_has_no_violation(published, release, fmt, key):
    lh, releases = published
    graph = Graph().parse(data=lh.storage.read_bytes(key), format=fmt)
    assert len(set(graph.subjects(None, DCAT.Dataset))) == 2
    report = validate(graph, releases, release)
    assert report.violations == []


def test_catalog_uses_eu_vocabularies_and_harvestable_links(published):
    lh, _ = published
    g = Graph().parse(data=lh.storage.read_bytes("opendata/catalog.ttl"), format="turtle")
    ds = URIRef("https://data.val-de-lys.example.fr/datasets/od_air_hourly")
    assert URIRef("http://publications.europa.eu/resource/authority/data-theme/ENVI") in set(g.objects(ds, DCAT.theme))
    assert g.value(ds, DCTERMS.accrualPeriodicity) == URIRef(
        "http://publications.europa.eu/resource/authority/frequency/HOURLY"
    )
    downloads = {str(u) for d in g.objects(ds, DCAT.distribution) if (u := g.value(d, DCAT.downloadURL))}
    assert downloads == {
        f"https://data.val-de-lys.example.fr/od_air_hourly/latest/od_air_hourly.{ext}"
        for ext in ("csv", "parquet", "json", "geojson")
    }
    licences = {g.value(d, DCTERMS.license) for d in g.objects(ds, DCAT.distribution)}
    assert licences == {URIRef("https://www.etalab.gouv.fr/licence-ouverte-open-licence/")}
    record = Graph().parse(data=lh.storage.read_bytes("opendata/datasets/od_air_hourly.jsonld"), format="json-ld")
    assert (ds, DCTERMS.title, Literal("Qualité de l'air horaire", lang="fr")) in record


@pytest.mark.parametrize("release", RELEASES)
def test_validation_catches_a_broken_catalog(published, release):
    """Negative control: a non-EU frequency and a missing title are violations."""
    lh, releases = published
    g = Graph().parse(data=lh.storage.read_bytes("opendata/catalog.ttl"), format="turtle")
    ds = URIRef("https://data.val-de-lys.example.fr/datasets/od_air_hourly")
    g.remove((ds, DCTERMS.title, None))
    g.set((ds, DCTERMS.accrualPeriodicity, URIRef("https://example.org/frequence/horaire")))
    report = validate(g, releases, release)
    assert any("title" in v for v in report.violations)
    assert any("accrualPeriodicity" in v or "frequence" in v for v in report.violations)


def _ttl(lh, key: str) -> Graph:
    return Graph().parse(data=lh.storage.read_bytes(f"opendata/{key}"), format="turtle")


@pytest.mark.parametrize("release", ["hvd", "3.0.0"])
def test_hvd_catalog_has_no_violation(published, release):
    lh, releases = published
    graph = _ttl(lh, "catalog-hvd.ttl")
    assert set(graph.subjects(RDF.type, DCAT.Dataset)) == {URIRef(BASE + "datasets/od_air_hourly")}
    assert validate(graph, releases, release).violations == []


def test_hvd_dataset_carries_category_legislation_and_api_service(published):
    lh, _ = published
    g = _ttl(lh, "catalog.ttl")
    ds = URIRef(BASE + "datasets/od_air_hourly")
    legislation = URIRef("http://data.europa.eu/eli/reg_impl/2023/138/oj")
    assert g.value(ds, URIRef(DCATAP + "hvdCategory")) == URIRef("http://data.europa.eu/bna/c_dd313021")
    assert g.value(ds, URIRef(DCATAP + "applicableLegislation")) == legislation
    service = URIRef(BASE + "datasets/od_air_hourly#api")
    assert (service, RDF.type, DCAT.DataService) in g
    assert g.value(service, DCAT.endpointURL) == URIRef(BASE + "api/explore/v2.1/catalog/datasets/od_air_hourly")
    assert g.value(service, DCAT.servesDataset) == ds
    assert all(
        (d, URIRef(DCATAP + "applicableLegislation"), legislation) in g for d in g.objects(ds, DCAT.distribution)
    )
    other = URIRef(BASE + "datasets/od_reports_by_district")
    assert g.value(other, URIRef(DCATAP + "hvdCategory")) is None


def test_common_catalog_fails_hvd_shapes_because_of_non_hvd_datasets(published):
    """Why there is a separate HVD catalog: the shapes demand an HVD category on every dataset."""
    lh, releases = published
    report = validate(_ttl(lh, "catalog.ttl"), releases, "hvd")
    assert report.violations and all("od_reports_by_district" in v for v in report.violations)


def test_dcat_ap_2_1_1_catalog_gives_sizes_and_sha1_checksums(published):
    lh, releases = published
    g = _ttl(lh, "catalog-dcat-ap-2.1.1.ttl")
    assert validate(g, releases, "2.1.1").violations == []
    manifest = lh.lake.read_json("opendata/od_air_hourly/latest/manifest.json")
    csv = next(f for f in manifest["files"] if f["format"] == "csv")
    dist = URIRef(BASE + "datasets/od_air_hourly#csv")
    size = g.value(dist, DCAT.byteSize)
    assert size.datatype == XSD.decimal and int(size.toPython()) == csv["bytes"]
    checksum = g.value(dist, URIRef(SPDX + "checksum"))
    assert g.value(checksum, URIRef(SPDX + "algorithm")) == URIRef(SPDX + "checksumAlgorithm_sha1")
    assert str(g.value(checksum, URIRef(SPDX + "checksumValue"))) == csv["sha1"]


def test_catalog_uris_are_stable_across_runs(published):
    lh, _ = published
    before = {key: _ttl(lh, key) for key, _ in catalog.CATALOG_FILES.values()}
    rebuild_portal(lh)
    for key, graph in before.items():
        again = _ttl(lh, key)
        assert not any(isinstance(n, BNode) for t in again for n in t)
        subjects = {s for s in again.subjects() if s != URIRef(BASE + "catalog")}
        assert subjects == {s for s in graph.subjects() if s != URIRef(BASE + "catalog")}
        assert set(again.triples((URIRef(BASE + "datasets/od_air_hourly"), None, None))) == set(
            graph.triples((URIRef(BASE + "datasets/od_air_hourly"), None, None))
        )


def test_large_catalog_is_paged_with_hydra(published):
    lh, releases = published
    manifests = [
        lh.lake.read_json(f"opendata/{d}/latest/manifest.json") for d in ("od_air_hourly", "od_reports_by_district")
    ]
    assert not lh.storage.list("opendata/catalog/")  # two datasets: one page is enough, none written
    identity = {
        "title": "Catalogue",
        "description": "Catalogue paginé",
        "publisher": "Val-de-Lys",
        "now": "2026-03-01T00:00:00+00:00",
    }
    first, second = catalog.pages(manifests, BASE, page_size=1, **identity)
    hydra = "http://www.w3.org/ns/hydra/core#"
    page1, page2 = URIRef(BASE + "catalog/page-1.ttl"), URIRef(BASE + "catalog/page-2.ttl")
    assert (page1, RDF.type, URIRef(hydra + "PagedCollection")) in first
    assert first.value(page1, URIRef(hydra + "nextPage")) == page2
    assert int(first.value(page1, URIRef(hydra + "totalItems"))) == 2
    assert second.value(page2, URIRef(hydra + "previousPage")) == page1
    assert second.value(page2, URIRef(hydra + "nextPage")) is None
    assert len(set(first.subjects(RDF.type, DCAT.Dataset))) == len(set(second.subjects(RDF.type, DCAT.Dataset))) == 1
    assert validate(second, releases, "3.0.0").violations == []
