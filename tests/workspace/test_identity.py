"""The shared identity checks of the pages behind the sign-on (lakehouse.web_identity)."""

from __future__ import annotations

import pytest

from lakehouse.errors import LakehouseError
from lakehouse.web_identity import CsrfTokens, identity_from_headers, private_socket, request_refusal

HEADERS = {
    # as an HTTP server hands them over: UTF-8 bytes decoded as Latin-1
    "Hv-User": "referent",
    "Hv-Name": "Nicolas Petit Hélène".encode().decode("latin-1"),
    "Hv-Groups": "Steward; Analyst",
    "Hv-Auth-Level": "5",
    "Hv-Session-Start": "1764520000",
}


def test_identity_from_the_gateway_headers():
    who = identity_from_headers(HEADERS)
    assert who.to_dict() == {
        "sub": "referent",
        "name": "Nicolas Petit Hélène",
        "groups": ["Analyst", "Steward"],
        "auth_level": 5,
    }
    assert who.second_factor and who.in_any(("Steward",))
    assert not identity_from_headers({**HEADERS, "Hv-Auth-Level": "2"}).second_factor
    assert identity_from_headers({"Hv-Groups": "Admin"}) is None


def test_csrf_token_is_bound_to_user_session_and_start():
    tokens = CsrfTokens()
    who = identity_from_headers(HEADERS)
    token = tokens.token(who)
    assert tokens.valid(who, token)
    assert not tokens.valid(who, None) and not tokens.valid(who, "0" * 64)
    assert not tokens.valid(identity_from_headers({**HEADERS, "Hv-Session-Start": "1764520001"}), token)
    assert not tokens.valid(identity_from_headers({**HEADERS, "Hv-User": "admin"}), token)
    assert not CsrfTokens().valid(who, token)  # a restarted page draws a new secret


def test_host_and_origin():
    ok = {"Host": "127.0.0.1:8100", "Origin": "http://127.0.0.1:8100"}
    assert request_refusal("POST", ok, "127.0.0.1:8100") is None
    assert request_refusal("GET", {"Host": "127.0.0.1:8100"}, "127.0.0.1:8100") is None
    assert request_refusal("GET", {**ok, "Host": "evil.example:8100"}, "127.0.0.1:8100")[0] == 421
    assert request_refusal("POST", {"Host": "127.0.0.1:8100"}, "127.0.0.1:8100")[0] == 403
    assert request_refusal("POST", {**ok, "Origin": "http://evil.example"}, "127.0.0.1:8100")[0] == 403


def test_private_socket_folder(tmp_path):
    folder = tmp_path / "page"
    assert private_socket(folder / "page.sock").parent.stat().st_mode & 0o777 == 0o700
    folder.chmod(0o755)
    with pytest.raises(LakehouseError, match="privé"):
        private_socket(folder / "page.sock")
