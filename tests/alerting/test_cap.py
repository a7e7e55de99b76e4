"""CAP 1.2: produced messages validate against the OASIS XSD; incoming samples are judged safely."""

from __future__ import annotations

import http.server
import threading

import pytest
from lxml import etree

from alerting.cap import NS12, CapArea, build_alert, parse_cap, schema_errors
from alerting.errors import AlertingError, CapRejected

INVALID = {"invalid.cap": "schéma", "canada_errors.cap": "references", "noaa_errors.cap": "schéma", "xee.cap": "XXE"}


def cap_files(fixtures_dir):
    return sorted((fixtures_dir / "standards" / "cap").rglob("*.cap"))


def test_every_sample_is_accepted_or_rejected_with_a_reason(fixtures_dir):
    files = cap_files(fixtures_dir)
    assert len(files) >= 15
    for path in files:
        if path.name in INVALID:
            with pytest.raises(CapRejected) as exc:
                parse_cap(path.read_bytes(), path.name)
            assert INVALID[path.name] in exc.value.reason, (path.name, exc.value.reason)
        else:
            msg = parse_cap(path.read_bytes(), path.name)
            assert msg.identifier and msg.version in ("1.1", "1.2")


def test_latin1_sample_keeps_its_accents(fixtures_dir):
    path = next(p for p in cap_files(fixtures_dir) if p.name == "earthquake-iso8859-1.cap")
    assert b"encoding" in path.read_bytes()[:60]
    msg = parse_cap(path.read_bytes())
    assert msg.version == "1.2" and msg.infos


def test_xxe_sample_makes_no_request_even_when_the_doctype_check_is_bypassed(fixtures_dir):
    """The hardened parser itself must not fetch anything (we bypass the DOCTYPE check in UTF-16)."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<!ENTITY % send SYSTEM 'http://127.0.0.1/x'>")

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        raw = next(p for p in cap_files(fixtures_dir) if p.name == "xee.cap").read_text()
        raw = raw.replace("localhost:8080", f"127.0.0.1:{server.server_port}")
        for data in (raw.encode(), raw.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")):
            with pytest.raises(CapRejected) as exc:
                parse_cap(data)
            assert "DOCTYPE" in exc.value.reason
    finally:
        server.shutdown()
    assert hits == []


def test_feed_and_garbage_are_rejected():
    with pytest.raises(CapRejected, match="ce n'est pas une alerte CAP"):
        parse_cap(b"<feed xmlns='http://www.w3.org/2005/Atom'/>")
    with pytest.raises(CapRejected, match="mal formé"):
        parse_cap(b"<alert><oops></alert>")


def _alert(**over):
    kw = dict(
        identifier="INC-1-1",
        sender="alertes@val-de-lys.fr",
        sent=1773000000,
        status="Actual",
        msg_type="Alert",
        scope="Public",
        event="Fuite d'eau",
        category="Infra",
        urgency="Expected",
        severity="Severe",
        certainty="Likely",
        headline="Fuite probable — secteur Centre-Ville",
        description="Débit de nuit élevé ; rues concernées : Rue Nationale.",
        instruction="Évitez la rue.",
        area=CapArea("Quartier Centre-Ville", polygon=[(50.65, 2.86), (50.65, 2.89), (50.67, 2.89), (50.65, 2.86)]),
        sender_name="Commune de Val-de-Lys",
    )
    kw.update(over)
    return build_alert(**kw)


def test_built_alert_validates_and_round_trips():
    xml = _alert()
    assert schema_errors(xml) == []
    msg = parse_cap(xml)
    assert msg.msg_type == "Alert" and msg.infos[0]["headline"].startswith("Fuite probable")
    root = etree.fromstring(xml)
    assert root.findtext(f"{{{NS12}}}info/{{{NS12}}}language") == "fr-FR"
    assert "+01:00" in root.findtext(f"{{{NS12}}}sent")  # local time with offset, as CAP requires
    circle = _alert(area=CapArea("Rue Nationale", circle=(50.66, 2.88, 0.5)))
    assert schema_errors(circle) == []


def test_builder_refuses_what_cap_forbids():
    with pytest.raises(AlertingError, match="references"):
        _alert(msg_type="Update")
    with pytest.raises(AlertingError, match="restriction"):
        _alert(scope="Restricted")
    with pytest.raises(AlertingError, match="identifier"):
        _alert(identifier="avec espace")


def test_hostile_cap_billion_laughs_size_and_depth(fixtures_dir):
    """tests/fixtures/hostile/billion_laughs.cap is refused before any expansion; size and
    nesting limits come from LimitsSettings and the reason names their variable."""
    from lakehouse.settings import LimitsSettings

    with pytest.raises(CapRejected, match="DOCTYPE"):
        parse_cap((fixtures_dir / "hostile" / "billion_laughs.cap").read_bytes(), "billion_laughs.cap")
    sample = next(p for p in cap_files(fixtures_dir) if p.name == "earthquake-iso8859-1.cap").read_bytes()
    assert parse_cap(sample, "ok", LimitsSettings(max_message_bytes=len(sample)))
    with pytest.raises(CapRejected) as exc:
        parse_cap(sample, "gros.cap", LimitsSettings(max_message_bytes=len(sample) - 1))
    assert "HYPERVISEUR_MAX_MESSAGE_BYTES" in exc.value.reason and str(exc.value).startswith("gros.cap")
    deep = b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'>" + b"<a>" * 40 + b"</a>" * 40 + b"</alert>"
    with pytest.raises(CapRejected) as exc:
        parse_cap(deep, "profond.cap", LimitsSettings(max_nesting_depth=32))
    assert "41 niveaux" in exc.value.reason and "HYPERVISEUR_MAX_NESTING_DEPTH" in exc.value.reason


def test_cap_validate_command_reads_no_more_than_the_limit(fixtures_dir, tmp_path):
    """`hyperviseur alerts cap-validate`: a sample is accepted; a file over the message limit
    is refused naming the limit, without being read whole."""
    from click.testing import CliRunner

    from orchestration.cli import cli

    sample = next(p for p in cap_files(fixtures_dir) if p.name == "earthquake-iso8859-1.cap")
    big = tmp_path / "enorme.cap"
    big.write_bytes(sample.read_bytes() + b" " * 4096)
    env = {"HYPERVISEUR_MAX_MESSAGE_BYTES": str(len(sample.read_bytes()) + 100)}
    ok = CliRunner().invoke(cli, ["alerts", "cap-validate", str(sample)], env=env)
    assert ok.exit_code == 0 and "accepté" in ok.output, ok.output
    refused = CliRunner().invoke(cli, ["alerts", "cap-validate", str(sample), str(big)], env=env)
    assert refused.exit_code == 1 and "HYPERVISEUR_MAX_MESSAGE_BYTES" in refused.output, refused.output
