"""The incidents page over HTTP and `alerts watch` on a stored state holding absurd times: they render
("date invalide"), never crash; the page refuses request bodies beyond ``max_http_body_bytes``.

The page is served on a Unix socket in a private folder, behind the sign-on gateway (see
tests/sso/test_operator_page.py for the whole chain); here the requests carry the identity
headers the gateway would set."""

from __future__ import annotations

import http.client
import re
import socket
import threading

import pytest
from click.testing import CliRunner

from alerting.store import AlertStore
from lakehouse.audit import AuditLog, ensure_audit_key
from lakehouse.platform import Lakehouse
from orchestration.cli.alerts import alerts, incidents_server
from tests.incident_samples import incident


@pytest.fixture
def absurd_lake(tmp_path) -> Lakehouse:
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")})
    AlertStore(lh).save(
        [
            incident(1, opened_at=float("inf"), updated_at=float("inf")),
            incident(2, opened_at=1e18, acked_at=-1e300, acked_by="agent", status="acknowledged"),
            incident(3, opened_at=float("nan")),
            incident(4),
            {"incident_id": "INC-5", "inconnu": True},  # not an incident at all: skipped with a warning
        ],
        "",
    )
    ensure_audit_key(lh.settings)
    return lh


def test_watch_renders_a_state_with_absurd_times(absurd_lake, tmp_path):
    env = {"HYPERVISEUR_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    result = CliRunner().invoke(alerts, ["watch", "--une-fois"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.count("date invalide") == 3 and "INC-4" in result.output and "INC-5" not in result.output


HOST = "127.0.0.1:8090"
OPERATOR = {
    "Host": HOST,
    "Hv-User": "astreinte",
    "Hv-Name": "Claire Dubois",
    "Hv-Groups": "Agent_eau; Operator",
    "Hv-Auth-Level": "5",
    "Hv-Session-Start": "1700000000",
}


def _request(sock: str, method: str, path: str, headers: dict | None = None, body: bytes = b"") -> tuple[int, str]:
    """One request on the page's Unix socket, as the gateway would send it (identity headers of
    OPERATOR unless overridden), written in one piece: the page may answer and close before
    reading a body it refuses."""
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in {**OPERATOR, **(headers or {})}.items()
    )
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(sock)
        s.sendall(head.encode("latin-1") + b"\r\n" + body)
        r = http.client.HTTPResponse(s, method=method)
        r.begin()
        text = r.read().decode()
    return r.status, text


@pytest.fixture
def page_socket(absurd_lake, tmp_path):
    path = tmp_path / "page" / "page.sock"
    server = incidents_server(absurd_lake, path, HOST)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield str(path)
    finally:
        server.shutdown()
        server.server_close()


def test_page_renders_absurd_times_and_refuses_oversized_bodies(absurd_lake, page_socket):
    limit = absurd_lake.settings.limits.max_http_body_bytes
    status, page = _request(page_socket, "GET", "/")
    assert status == 200 and page.count("date invalide") >= 3 and "INC-4" in page
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)
    post = {"Origin": f"http://{HOST}", "Content-Type": "application/x-www-form-urlencoded"}

    status, text = _request(page_socket, "POST", "/acquitter/INC-4", {**post, "Content-Length": str(limit + 1)})
    assert status == 413 and f"max_http_body_bytes = {limit}" in text  # refused before reading the body
    status, text = _request(
        page_socket, "POST", "/acquitter/INC-4", {**post, "Transfer-Encoding": "chunked"}, b"0\r\n\r\n"
    )
    assert status == 411 and "chunked" in text
    status, text = _request(page_socket, "POST", "/acquitter/INC-4", {**post, "Content-Length": "-5"})
    assert status == 400
    assert not AlertStore(absurd_lake).actions_after("")

    body = f"csrf={token}".encode()
    status, _ = _request(page_socket, "POST", "/acquitter/INC-4", {**post, "Content-Length": str(len(body))}, body)
    assert status == 303
    [action] = [a for _, a in AlertStore(absurd_lake).actions_after("")]
    assert (action["incident_id"], action["actor"], action["identity"]["name"]) == (
        "INC-4",
        "astreinte",
        "Claire Dubois",
    )
    [record] = AuditLog(absurd_lake).records()
    assert (record["event_type"], record["actor"], record["payload"]["groups"]) == (
        "incident.ack",
        "astreinte",
        ["Agent_eau", "Operator"],
    )


def test_page_checks_identity_group_host_origin_csrf_and_second_factor(absurd_lake, page_socket):
    status, page = _request(page_socket, "GET", "/")
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)
    body = f"csrf={token}".encode()
    post = {"Origin": f"http://{HOST}", "Content-Length": str(len(body))}

    def refused(path: str, headers: dict, expected: int, data: bytes = body) -> str:
        status, text = _request(page_socket, "POST", path, headers, data)
        assert status == expected, (headers, status, text)
        return text

    assert "passerelle" in refused("/acquitter/INC-4", {**post, "Hv-User": ""}, 401)
    assert _request(page_socket, "GET", "/", {"Hv-User": ""})[0] == 401
    refused("/acquitter/INC-4", {**post, "Hv-Groups": "Analyst; Steward"}, 403)
    refused("/acquitter/INC-4", {**post, "Host": "evil.example:8090"}, 421)
    refused("/acquitter/INC-4", {**post, "Origin": "http://evil.example"}, 403)
    refused("/acquitter/INC-4", {"Content-Length": str(len(body))}, 403)  # no Origin
    assert "CSRF" in refused("/acquitter/INC-4", {**post, "Content-Length": "0"}, 403, b"")
    # a token is bound to the user and to their session (another session start: another token)
    refused("/acquitter/INC-4", {**post, "Hv-Session-Start": "1700000001"}, 403)
    refused("/acquitter/INC-4", {**post, "Hv-User": "admin", "Hv-Groups": "Admin"}, 403)
    assert "second facteur" in refused("/clore/INC-4", {**post, "Hv-Auth-Level": "2"}, 403)
    assert not AlertStore(absurd_lake).actions_after("")
    assert _request(page_socket, "POST", "/clore/INC-4", post, body)[0] == 303  # the same, with the second factor
    assert [a["action"] for _, a in AlertStore(absurd_lake).actions_after("")] == ["close"]


def test_page_refuses_to_serve_from_a_shared_folder(absurd_lake, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    with pytest.raises(Exception, match="doit être privé"):
        incidents_server(absurd_lake, shared / "page.sock", HOST)


def test_command_line_actions_are_audited_under_the_system_account(absurd_lake, tmp_path):
    import getpass

    env = {"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")}
    result = CliRunner().invoke(alerts, ["ack", "INC-4", "--par", "Nom libre"], env=env)
    assert result.exit_code == 0, result.output
    [record] = AuditLog(absurd_lake).records()
    assert (record["event_type"], record["actor"], record["payload"]["par"]) == (
        "incident.ack",
        getpass.getuser(),
        "Nom libre",
    )
    assert [a["incident_id"] for _, a in AlertStore(absurd_lake).actions_after("")] == ["INC-4"]
