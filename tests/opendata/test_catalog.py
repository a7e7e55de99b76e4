"""The published DCAT-AP catalog conforms to the official 2.1.1 and 3.0.0 SHACL shapes."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS

from lakehouse.audit import ensure_audit_key
from opendata.publish import publish
from opendata.validation import validate
from tests.opendata.conftest import air_table, dbt_manifest, districts_table, opendata_meta, ready

RELEASES = ("2.1.1", "3.0.0")


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
            "od_air_hourly": (opendata_meta("Qualité de l'air horaire"), {}),
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
    downloads = {str(g.value(d, DCAT.downloadURL)) for d in g.objects(ds, DCAT.distribution)}
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
