"""Property-based tests: whatever a file or payload holds (random JSON, extreme numbers and
dates, wrong types, encodings, deep nesting, huge strings, random bytes), every parser and
mapping either gives rows that the runner can tabulate and validate, or raises the
project's own :class:`~ingestion.formats.errors.InputRejected` naming the input — nothing else."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from alerting.cap import parse_cap
from alerting.errors import CapRejected
from ingestion.formats import jsontext
from ingestion.formats.errors import InputRejected
from ingestion.formats.tabular import ReadOptions, read_records
from ingestion.formats.values import parse_datetime, parse_dms, parse_interval_start, parse_number
from ingestion.sources import get
from ingestion.sources.base import Context
from ingestion.sources.runner import _connector_rejects, records_table
from ingestion.validation import validate
from lakehouse.settings import LimitsSettings

SETTINGS = settings(  # modest counts: these tests together stay well under a minute on 2 cores
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
CHEAP = settings(SETTINGS, max_examples=100)  # pure parsers, no file, no Arrow
LIMITS = LimitsSettings(max_line_bytes=50_000, max_cell_chars=5_000, max_document_bytes=2_000_000, max_features=500)

# Field names the connectors look for, so that generated objects reach their mapping code.
KEYS = [
    "id",
    "type",
    "@context",
    "data",
    "value",
    "features",
    "properties",
    "geometry",
    "coordinates",
    "Point",
    "dateObserved",
    "dateObservedFrom",
    "dateObservedTo",
    "observedAt",
    "unitCode",
    "location",
    "refDevice",
    "no2",
    "pm25",
    "PM10",
    "intensity",
    "occupancy",
    "laneId",
    "status",
    "powerState",
    "illuminanceLevel",
    "waterConsumption",
    "minFlow",
    "alarmInProgress",
    "result",
    "phenomenonTime",
    "resultTime",
    "Datastream",
    "unitOfMeasurement",
    "symbol",
    "ObservedProperty",
    "name",
    "Thing",
    "@iot.id",
    "dataArray",
    "components",
    "Observations",
    "FeatureOfInterest",
    "feature",
    "service_request_id",
    "requested_datetime",
    "updated_datetime",
    "notes",
    "datetime",
    "extended_attributes",
    "ward",
    "lat",
    "long",
    "service_code",
    "service_name",
    "events",
    "occurred_at",
    "camera_id",
    "confidence",
    "posted_at",
    "author",
    "geotag",
    "text",
    "image",
]
DATES = (
    "2024-03-31T02:30:00",
    "2024-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-05:00",
    "31/12/9999 23:59",
    "2024-01-01T00:00:00Z/2023-01-01T00:00:00Z",
    "29/02/2023",
    "20240101000000",
    "/",
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(DATES)
    | st.builds(lambda c, n: c * n, st.characters(), st.integers(0, 20_000))  # huge strings
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=25,
)
MUTATIONS = (
    ("0", "9" * 5000),  # an integer Python refuses to convert
    ("0", "1e999"),
    ("0", "NaN"),
    ("null", "Infinity"),
    ("{", "{" * 300),  # deep (and broken) nesting
    ("[", "[" * 40),
    ('"', "'"),
    ("}", ""),
)
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "latin-1")


@st.composite
def documents(draw, shape=json_values) -> bytes:
    """A JSON document, sometimes mutated, encoded in some encoding, or plain random bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    text = json.dumps(draw(shape), ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        old, new = draw(st.sampled_from(MUTATIONS))
        text = text.replace(old, new, 1)
    if draw(st.integers(0, 6)) == 0:
        depth = draw(st.integers(1, 120))
        text = "[" * depth + text + "]" * depth
    return text.encode(draw(st.sampled_from(ENCODINGS)), "replace")


def anchored(anchor: dict, keys: str) -> st.SearchStrategy:
    """Objects with the keys a connector recognises (``anchor``), each of ``keys`` optional:
    they get past the document checks and reach the mapping of every field."""
    record = st.fixed_dictionaries(anchor, optional={k: json_values for k in keys.split()})
    return record | st.lists(record, min_size=1, max_size=3)


TYPES = st.sampled_from(["AirQualityObserved", "TrafficFlowObserved", "Streetlight", "WaterConsumptionObserved", "X"])
FIWARE_KEYS = (
    "dateObserved dateObservedFrom dateObservedTo location refDevice no2 pm25 intensity occupancy laneId status "
    "powerState illuminanceLevel waterConsumption minFlow maxFlow alarmInProgress averageVehicleSpeed circuit @context"
)
OBSERVATION_KEYS = "phenomenonTime resultTime FeatureOfInterest parameters resultQuality @iot.id id"
ANCHORS = {
    "fiware": anchored({"id": st.text(min_size=1, max_size=5), "type": TYPES}, FIWARE_KEYS)
    | anchored({"type": st.just("Feature"), "id": st.just("x"), "properties": json_values}, "geometry"),
    "sensorthings": anchored({"result": json_values}, "Datastream " + OBSERVATION_KEYS)
    | anchored({"dataArray": st.lists(json_values, max_size=3)}, "components Datastream")
    | anchored({"unitOfMeasurement": json_values}, "Observations ObservedProperty Thing Sensor name @iot.id"),
    "open311": anchored(
        {"service_request_id": json_values},
        "status notes requested_datetime updated_datetime extended_attributes first_name last_name service_name "
        "service_code description address lat long phone email",
    ),
    "cctv": anchored({"event_id": json_values}, "occurred_at camera_id event_type zone confidence image ts"),
    "social": anchored({"id": json_values}, "author posted_at text geotag lat lon platform"),
    "fichiers": st.just({}),
}


features = st.fixed_dictionaries(
    {"type": st.just("Feature"), "properties": json_values, "geometry": json_values},
    optional={"id": json_values},
)
geojson = st.fixed_dictionaries(
    {"type": st.just("FeatureCollection"), "features": st.lists(json_values | features, max_size=6)},
    optional={"crs": json_values},
)


def rows_or_rejected(read, path: Path) -> None:
    """Run a reader to the end: its batches must tabulate and validate, else it raised InputRejected."""
    try:
        batches = list(read())
    except InputRejected as exc:
        assert path.name in str(exc), str(exc)
        return
    for batch in batches:
        table = records_table(batch.spec, batch.records, batch.numbers)
        validate(table, batch.spec, str(path))
        if batch.rejects:
            _connector_rejects(batch.spec, batch, str(path))


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hypothesis")


CONNECTORS = {
    "fiware": "entites.json",
    "sensorthings": "observations.json",
    "open311": "demandes.json",
    "cctv": "evenements.json",
    "social": "posts.jsonl",
    "fichiers": "couche.geojson",
}


@pytest.mark.parametrize("connector", sorted(CONNECTORS))
@SETTINGS
@given(data=st.data())
def test_json_connectors_give_rows_or_reject(work, connector, data):
    data = data.draw(documents(json_values | ANCHORS[connector]))
    path = work / CONNECTORS[connector]
    if connector == "social":  # JSON lines: several documents
        data = data.replace(b"\n", b" ") + b"\n" + data + b"\n"
    path.write_bytes(data)
    rows_or_rejected(lambda: get(connector).read(path, Context(limits=LIMITS)), path)


@SETTINGS
@given(doc=geojson, encoding=st.sampled_from(ENCODINGS))
@example(doc={"type": "FeatureCollection", "features": ["\ud800"]}, encoding="utf-8")  # a lone surrogate escape
def test_geojson_gives_rows_or_rejects(work, doc, encoding):
    path = work / "collection.geojson"
    path.write_bytes(json.dumps(doc).encode(encoding, "replace"))
    rows_or_rejected(lambda: get("fichiers").read(path, Context(limits=LIMITS)), path)


def _xml(value, tag="service_request") -> str:
    if isinstance(value, dict):
        inner = "".join(_xml(v, k if k.isidentifier() else "x") for k, v in value.items())
    elif isinstance(value, list):
        inner = "".join(_xml(v, "item") for v in value)
    else:
        inner = "" if value is None else str(value).replace("&", "&amp;").replace("<", "&lt;")
    return f"<{tag}>{inner}</{tag}>"


@SETTINGS
@given(items=st.lists(json_values, max_size=4), root=st.sampled_from(["service_requests", "services", "errors", "x"]))
def test_open311_xml_gives_rows_or_rejects(work, items, root):
    path = work / "demandes.xml"
    path.write_text(f"<?xml version='1.0'?><{root}>{''.join(_xml(i) for i in items)}</{root}>")
    rows_or_rejected(lambda: get("open311").read(path, Context(limits=LIMITS)), path)


CSV_CELLS = st.text(st.characters(blacklist_categories=["Cs"]), max_size=12) | st.sampled_from(
    DATES + ("1 234,5", "#N/A", "mq", '=HYPERLINK("x")', "\x00", '"', "48°51'18N", "9" * 400, "-1e309")
)


@st.composite
def csv_files(draw) -> bytes:
    if draw(st.integers(0, 5)) == 0:
        return draw(st.binary(max_size=400))
    delimiter = draw(st.sampled_from([";", ",", "\t", "|"]))
    header = draw(
        st.lists(
            st.sampled_from(["lat", "lon", "date,D", "n,N,10,0", "x,F,19,11", "nom"]) | st.text(max_size=6),
            min_size=1,
            max_size=5,
        )
    )
    rows = draw(st.lists(st.lists(CSV_CELLS, max_size=6), max_size=8))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(delimiter.join(r) for r in [header, *rows])
    return text.encode(draw(st.sampled_from(ENCODINGS)), "replace")


@pytest.mark.parametrize("connector", ["fichiers", "dansmarue", "meteofrance"])
@SETTINGS
@given(data=csv_files())
def test_csv_connectors_give_rows_or_reject(work, connector, data):
    path = work / "fichier.csv"
    path.write_bytes(data)
    rows_or_rejected(lambda: get(connector).read(path, Context(limits=LIMITS)), path)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def real_shape(fixtures_dir) -> bytes:
    return next((fixtures_dir / "data").rglob("*.zip")).read_bytes()


@pytest.fixture(scope="module")
def cap_samples(fixtures_dir) -> list[bytes]:
    return [p.read_bytes() for p in sorted((fixtures_dir / "standards" / "cap").rglob("*.cap"))]


@SETTINGS
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".zip", ".xlsx"]), kind=st.integers(0, 2))
def test_archives_give_rows_or_reject(work, real_shape, data, suffix, kind):
    """Random bytes, a zip of random members, or a real archive with random bytes spliced in."""
    path = work / f"archive{suffix}"
    if kind == 1:
        data = _zip(
            {"couche.shp": data, "couche.dbf": data[::-1], "couche.shx": data[:100], "[Content_Types].xml": data}
        )
    elif kind == 2:
        real = bytearray(real_shape)
        at = len(data) % max(len(real), 1)
        real[at : at + len(data)] = data
        data = bytes(real)
    path.write_bytes(data)
    rows_or_rejected(lambda: read_records(path, ReadOptions(limits=LIMITS)), path)


@CHEAP
@given(data=st.binary(max_size=500) | documents(), cut=st.integers(0, 4000), splice=st.binary(max_size=40))
def test_cap_parser_accepts_or_rejects(cap_samples, data, cut, splice):
    real = cap_samples[cut % len(cap_samples)]
    at = cut % max(len(real), 1)
    for candidate in (data, real[:at] + splice + real[at + len(splice) :], b"<a>" * cut + b"</a>" * cut):
        try:
            parse_cap(candidate, "essai", LIMITS)
        except CapRejected as exc:
            assert exc.reason


@CHEAP
@given(value=json_values | CSV_CELLS)
def test_value_parsers_return_or_raise_value_error(value):
    for parse in (parse_number, parse_dms, parse_datetime, parse_interval_start):
        try:
            parse(value)
        except ValueError as exc:
            assert str(exc)


@CHEAP
@given(depth=st.integers(0, 5000), inner=st.sampled_from(["[]", "{}", '"]]]"', "1"]))
@example(depth=32, inner="1")  # exactly at the limit: accepted
@example(depth=33, inner="1")  # one beyond: refused
@example(depth=32, inner="[]")
def test_json_nesting_limit_is_exact_and_safe(depth, inner):
    text = "[" * depth + inner + "]" * depth
    nesting = depth + (inner in ("[]", "{}"))  # an empty array or object is one level more
    try:
        jsontext.parse(text, "essai", LIMITS)
        assert nesting <= LIMITS.max_nesting_depth
    except InputRejected as exc:
        assert nesting > LIMITS.max_nesting_depth and "HYPERVISEUR_MAX_NESTING_DEPTH" in str(exc)
