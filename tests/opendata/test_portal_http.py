"""The portal's HTTP entry point under hostile requests, on raw sockets (no client-side cleanup).

Local lake (files) and S3 lake (Storage proxy): limits from ``Settings.limits``, host names
checked (DNS rebinding), traversal and malformed targets refused with a short French page,
and the server keeps answering afterwards.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from lakehouse.platform import Lakehouse
from opendata.publish import publish
from opendata.serve import serve_in_thread
from tests.opendata.conftest import air_table, dbt_manifest, opendata_meta, ready

AIR = "od_air_hourly"
PUBLIC_HOST = "data.val-de-lys.example.fr"


def _raw(url: str, request: bytes) -> tuple[int, bytes]:
    """Send bytes exactly as given; (status, whole answer). Every answer here closes the connection."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
        s.sendall(request)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


def _get(url: str, target: str, host: str | None = None, extra: str = "") -> tuple[int, bytes]:
    host = host or urlsplit(url).netloc
    return _raw(url, f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{extra}\r\n".encode("latin-1"))


@pytest.fixture
def portal(lakehouse, portal_env):
    lakehouse.storage.check()
    ready(lakehouse, AIR, air_table(24))
    publish(lakehouse, manifest=dbt_manifest({AIR: (opendata_meta("Qualité de l'air horaire"), {})}))
    server, url = serve_in_thread(lakehouse)
    yield lakehouse, url
    server.shutdown()
    server.server_close()


def test_hostile_requests_are_refused_in_french_and_the_portal_keeps_serving(portal):
    lh, url = portal
    limits = lh.settings.limits
    port = urlsplit(url).port
    assert _get(url, "/index.html")[0] == 200
    assert _get(url, f"/{AIR}/latest/{AIR}.csv")[0] == 200
    assert _get(url, "/index.html?theme=ENVI&q=qualit%C3%A9+de+l%27air")[0] == 200
    ok_body = b"x" * 100  # a small body is read and dropped
    status, _ = _raw(
        url,
        f"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 100\r\nConnection: close\r\n\r\n".encode()
        + ok_body,
    )
    assert status == 200

    hostile = {
        # DNS rebinding: a page of another site resolving its name to 127.0.0.1
        "bad host": (_get(url, "/index.html", host=f"evil.example:{port}"), 421),
        "bad host, no port": (_get(url, "/index.html", host="evil.example"), 421),
        "no host": (_raw(url, b"GET /index.html HTTP/1.0\r\n\r\n"), 400),
        "two hosts": (_get(url, "/index.html", extra="Host: evil.example\r\n"), 400),
        "huge body": (_get(url, "/index.html", extra=f"Content-Length: {limits.max_http_body_bytes + 1}\r\n"), 413),
        "body of 1 GB": (_get(url, "/index.html", extra=f"Content-Length: {1024**3}\r\n"), 413),
        "bad length": (_get(url, "/index.html", extra="Content-Length: -5\r\n"), 400),
        "chunked body": (_get(url, "/index.html", extra="Transfer-Encoding: chunked\r\n"), 411),
        "long URL": (_get(url, "/index.html?q=" + "a" * limits.max_http_url_bytes), 414),
        "60 kB URL": (_get(url, "/" + "a" * 60_000), 414),
        "bad escape": (_get(url, "/index.html?q=%zz"), 400),
        "not UTF-8": (_get(url, "/index.html?q=%ff%fe"), 400),
        "NUL in query": (_get(url, "/index.html?q=a%00b"), 400),
        "traversal": (_get(url, "/../../../etc/passwd"), 400),
        "traversal to the lake": (_get(url, f"/../curated/{AIR}/data.parquet"), 400),
        "encoded traversal": (_get(url, "/%2e%2e/%2e%2e/etc/passwd"), 400),
        "encoded slash traversal": (_get(url, f"/datasets/..%2f..%2fcurated%2f{AIR}%2fdata.parquet"), 400),
        "backslash traversal": (_get(url, "/..\\..\\etc\\passwd"), 400),
        "encoded NUL": (_get(url, "/index.html%00.txt"), 400),
        "raw NUL": (_get(url, "/index.html\x00.txt"), 400),
        "absolute target": (_get(url, "http://evil.example/index.html"), 400),
        "POST": (_raw(url, f"POST /index.html HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()), 501),
        "garbage": (_raw(url, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"), 400),
    }
    wrong = {name: got[0] for name, (got, expected) in hostile.items() if got[0] != expected}
    assert not wrong, wrong
    for name, ((_status, answer), _expected) in hostile.items():
        head, _, body = answer.partition(b"\r\n\r\n")
        assert b"Traceback" not in answer and b"root:" not in answer and b"PAR1" not in answer, name
        assert b"Connection: close" in head, name
        assert b"lang=fr" in body, name
    assert b"HYPERVISEUR_MAX_HTTP_BODY_BYTES" in hostile["huge body"][0][1]
    assert b"HYPERVISEUR_MAX_HTTP_URL_BYTES" in hostile["long URL"][0][1]
    assert _get(url, "/index.html")[0] == 200  # still serving


def test_the_public_host_name_is_served_and_no_other(tmp_path):
    lh = Lakehouse.from_env(
        {"HYPERVISEUR_DATA_DIR": str(tmp_path / "data"), "HYPERVISEUR_OPENDATA_BASE_URL": f"https://{PUBLIC_HOST}/"}
    )
    server, url = serve_in_thread(lh)
    try:
        assert _get(url, "/index.html", host=PUBLIC_HOST)[0] == 404  # served (nothing published yet)
        assert _get(url, "/index.html", host=PUBLIC_HOST.upper() + ":443")[0] == 404
        assert _get(url, "/index.html", host="val-de-lys.example.fr")[0] == 421
        assert _get(url, "/index.html", host="localhost")[0] == 421
    finally:
        server.shutdown()
        server.server_close()
