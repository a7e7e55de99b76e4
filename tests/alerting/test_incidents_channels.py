"""Consequence graph, incidents (grouping, escalation, ack/close across restarts), channels and audit."""

from __future__ import annotations

import http.server
import json
import textwrap
import threading
from datetime import UTC, datetime, timedelta

import pytest

from alerting.cap import parse_cap
from alerting.engine import Engine
from alerting.errors import ConfigError
from alerting.graph import ConsequenceGraph
from alerting.referential import Referential
from alerting.store import AlertStore
from ingestion.stream.clock import SimulatedClock
from lakehouse.audit import AuditLog

T0 = datetime(2026, 3, 9, 8, tzinfo=UTC)
NOW = SimulatedClock(T0 + timedelta(hours=1))  # the simulated "now" of these replays


def traffic(engine, seg, minutes, occ):
    out = []
    for m in minutes:
        body = json.dumps({"ts": (T0 + timedelta(minutes=m)).isoformat(), "occupancy_pct": occ}).encode()
        out += engine.process(f"city/traffic/{seg}", body)
    return out


def test_graph_lists_consequences_and_rejects_unknown_ids(tmp_path):
    ref = Referential.load()
    graph = ConsequenceGraph.load(ref)
    impact = graph.impact("sector", "SEC01")
    nodes = [c.node for c in impact.consequences]
    assert "segment:SEG001" in nodes and "bus_line:L1" in nodes
    assert any("École" in s for s in impact.sensitive_sites) and impact.population == 13064
    bad = tmp_path / "g.yaml"
    bad.write_text("relations: {r: x}\nedges:\n  - {from: sector:SEC01, to: [segment:SEG999], relation: r}\n")
    with pytest.raises(ConfigError, match=r"g\.yaml.*lien n° 1.*segment:SEG999"):
        ConsequenceGraph.load(ref, bad)


def test_related_alerts_group_and_escalate_then_survive_restart(lh, channels_file):
    engine = Engine(lh, channels=channels_file, clock=NOW)
    water = json.dumps({"ts": T0.isoformat(), "sector_id": "SEC01", "flow_m3h": 1.0}).encode()
    engine.process("city/water/WM01A", water)
    d1 = traffic(engine, "SEG001", range(0, 40, 5), 80)  # jam on Rue Nationale
    d2 = traffic(engine, "SEG003", range(0, 40, 5), 80)  # and on Rue de la République, same district
    new = [d for d in d1 + d2 if d.action == "new"]
    assert len(new) == 1, "deux congestions du même quartier forment un seul incident"
    inc = new[0].incident
    assert len(inc.signals) == 2 and inc.impact["consequences"]
    assert engine.tick((T0 + timedelta(hours=3)).timestamp())  # not acknowledged → escalation
    assert inc.escalation_level >= 1
    engine.dispatcher.flush()
    outbox = [o.key for o in lh.storage.list("_meta/alerts/outbox/")]
    assert any(k.endswith(".xml") for k in outbox)
    for key in outbox:
        if key.endswith(".xml"):
            parse_cap(lh.storage.read_bytes(key))  # every CAP produced validates (XSD + CAP rules)

    AlertStore(lh).add_action(inc.incident_id, "ack", "Mme Martin")
    restarted = Engine(lh, channels=channels_file, clock=NOW)
    restarted.tick((T0 + timedelta(hours=3)).timestamp())
    again = restarted.manager.incidents[inc.incident_id]
    assert again.status == "acknowledged" and again.acked_by == "Mme Martin"
    AlertStore(lh).add_action(inc.incident_id, "close", "Mme Martin")
    closing = restarted.tick((T0 + timedelta(hours=4)).timestamp())
    assert [d.action for d in closing] == ["close"]
    restarted.dispatcher.flush()
    cancels = [lh.storage.read_bytes(o.key) for o in lh.storage.list("_meta/alerts/outbox/") if o.key.endswith(".xml")]
    assert any(b"<msgType>Cancel</msgType>" in x for x in cancels)


def test_webhook_channel_through_apprise_and_audit(lh, tmp_path):
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(
                (self.path, self.headers.get("Content-Type"), self.rfile.read(int(self.headers["Content-Length"])))
            )
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    conf = tmp_path / "channels.yaml"
    conf.write_text(
        textwrap.dedent(f"""
        audiences:
          astreinte:
            scope: Restricted
            actions: [new]
            channels:
              - {{type: apprise, name: webhook, urls: ["json://127.0.0.1:{port}/astreinte"]}}
              - {{type: apprise, name: sms, urls_env: HV_TEST_UNSET_SMS_URLS}}
          public:
            scope: Public
            actions: [new]
            channels:
              - {{type: cap_http, name: haut_parleurs, url: "http://127.0.0.1:{port}/haut-parleurs"}}
    """)
    )
    try:
        audit = AuditLog(lh)
        engine = Engine(lh, channels=conf, audit=audit, clock=NOW)
        assert [len(a.channels) for a in engine.dispatcher.audiences] == [1, 1]  # unset SMS gateway skipped
        for i in range(6):
            body = json.dumps({"ts": T0.isoformat(), "circuit_id": "LC02", "status": "fault"}).encode()
            engine.process(f"city/lighting/L{i}", body)
        engine.dispatcher.flush()
    finally:
        server.shutdown()
    paths = sorted(p for p, _, _ in received)
    assert paths == ["/astreinte", "/haut-parleurs"]
    hook = next(json.loads(b) for p, _, b in received if p == "/astreinte")
    assert "Panne groupée" in hook["title"] and "Conséquences probables" in hook["message"]
    cap = next(b for p, _, b in received if p == "/haut-parleurs")
    assert parse_cap(cap).scope == "Public"
    sends = [r for r in audit.records() if r.get("event_type") == "alert.send"]
    assert len(sends) == 2 and all(r["payload"]["ok"] for r in sends)
    assert audit.verify().ok
