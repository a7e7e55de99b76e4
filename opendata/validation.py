"""Check a DCAT-AP catalog against the official SHACL shapes of a release, offline.

The shapes come from SEMIC's release folders (``releases/2.1.1``, ``releases/3.0.0``); the HVD
annex's shapes ship in the package (``opendata/shapes``, release ``hvd``). Only
the shape files are loaded; the vocabularies they would import are not needed because the
catalog describes every controlled value it uses (type and ``skos:inScheme``) inline.
A result counts if it is a top-level ``sh:Violation``; warnings (e.g. a commune absent from
the EU corporate-bodies table) are reported but do not fail.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Namespace

SH = Namespace("http://www.w3.org/ns/shacl#")
PACKAGE_SHAPES = Path(__file__).resolve().parent / "shapes"

SHAPE_FILES = {
    "2.1.1": [
        "2.1.1/dcat-ap_2.1.1_shacl_shapes.ttl",
        "2.1.1/dcat-ap_2.1.1_shacl_range.ttl",
        "2.1.1/dcat-ap_2.1.1_shacl_mdr-vocabularies.shape.ttl",
        "2.1.1/dcat-ap_2.1.1_shacl_shapes_recommended.ttl",
        "2.1.1/dcat-ap_2.1.1_shacl_deprecateduris.ttl",
    ],
    "3.0.0": [
        "3.0.0/shacl/dcat-ap-SHACL.ttl",
        "3.0.0/html/shacl/shapes.ttl",
        "3.0.0/html/shacl/range.ttl",
        "3.0.0/html/shacl/mdr-vocabularies.shape.ttl",
        "3.0.0/html/shacl/shapes_recommended.ttl",
        "3.0.0/html/shacl/deprecateduris.ttl",
    ],
    "hvd": ["hvd-SHACL.ttl"],
}


@dataclass
class Report:
    release: str
    violations: list[str]
    warnings: Counter

    @property
    def conforms(self) -> bool:
        return not self.violations


def validate(data: Graph, releases_dir: Path | None, release: str) -> Report:
    """Validate ``data`` against every shape file of ``release`` (each file on its own).

    ``releases_dir`` holds SEMIC's release folders; the ``hvd`` shapes are the package's own.
    """
    import pyshacl

    root = PACKAGE_SHAPES if release == "hvd" else Path(releases_dir)
    violations, warnings = [], Counter()
    for rel in SHAPE_FILES[release]:
        shapes = Graph().parse(root / rel)
        _, results, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none", allow_warnings=True, advanced=True)
        for r in results.objects(None, SH.result):
            text = f"{rel} : {results.value(r, SH.focusNode)} {results.value(r, SH.resultPath)} — {results.value(r, SH.resultMessage)}"
            if results.value(r, SH.resultSeverity) == SH.Violation:
                violations.append(text)
            else:
                warnings[str(results.value(r, SH.resultPath))] += 1
    return Report(release, violations, warnings)
