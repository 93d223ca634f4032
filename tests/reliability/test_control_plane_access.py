"""Issue 11, section 3: the control plane is for the developer, not for any web page.

On main a page open in the developer's browser could drive `/_fake/`: CORS echoed every
Origin, JSON was read whatever the Content-Type (so a "simple" cross-site POST needed no
preflight), the Host header was not checked (DNS rebinding), and `GET /_fake/journal`
showed callers' `Authorization` and `api-key` values. Now, on every control route of both
fakes: no CORS headers; a foreign Origin or Host is refused (403); a body that is not
declared JSON is refused (415); an optional control token, required when serving beyond
loopback; secrets masked in the journal. The vendor APIs keep their CORS, and the
in-process transports still reach the control plane.
"""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from reliability_kit import is_control_error
from werkzeug.test import Client

from fakeservers.__main__ import main, parse_args
from fakeservers.shopsocially import DEMO_API_KEY, DEMO_PARTNER_ID
from fakeservers.smile import DEMO_KEY
from fakeservers.toolkit import Fake
from fakeservers.toolkit.transports import WSGIAdapter, WSGITransport, intercept
from loyaltykit import ManualClock

START = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
TOKEN_HEADER = "X-Fake-Control-Token"
CONTROL_GETS = ["/_fake/tenants", "/_fake/tenants/demo", "/_fake/clock", "/_fake/journal",
                "/_fake/faults", "/_fake/export"]
CONTROL_POSTS = ["/_fake/reset", "/_fake/tenants", "/_fake/clock/advance", "/_fake/faults",
                 "/_fake/seed", "/_fake/tenants/demo/reset", "/_fake/tenants/demo/settings",
                 "/_fake/tenants/demo/credentials", "/_fake/journal/clear"]
CORS = ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods",
        "Access-Control-Allow-Headers", "Access-Control-Expose-Headers")


def fake(vendor: str = "smile", **options: Any) -> Fake:
    return Fake(vendor, ManualClock(START), **options)


@pytest.fixture(scope="module")
def served() -> Iterator[Fake]:
    built = fake().serve()
    try:
        yield built
    finally:
        built.stop()


def raw(port: int, method: str, path: str, headers: dict[str, str],
        body: bytes = b"") -> tuple[int, dict[str, str], Any]:
    """One request over a socket with exactly these headers (Host included)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        if body:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        data = response.read()
        return response.status, dict(response.getheaders()), _json(data)
    finally:
        connection.close()


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def _port(built: Fake) -> int:
    return int(built.url.rsplit(":", 1)[1])


# ------------------------------------------------------------------ the examples


@pytest.mark.parametrize("path", CONTROL_GETS)
def test_a_foreign_page_cannot_read_the_control_plane(served: Fake, path: str) -> None:
    port = _port(served)
    status, headers, body = raw(port, "GET", path, {
        "Host": f"127.0.0.1:{port}", "Origin": "http://evil.example"})
    assert status == 403 and is_control_error(body), (status, body)
    assert not any(name in headers for name in CORS)


@pytest.mark.parametrize("path", CONTROL_POSTS)
def test_a_simple_cross_site_post_changes_nothing(served: Fake, path: str) -> None:
    port = _port(served)
    before = served.export()
    for content_type in ("text/plain", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=x"):
        status, headers, body = raw(port, "POST", path, {
            "Host": f"127.0.0.1:{port}", "Origin": "http://evil.example",
            "Content-Type": content_type}, b'{"name": "evil", "seconds": 60}')
        assert status == 403 and is_control_error(body), (status, body)
        assert not any(name in headers for name in CORS)
    assert served.export() == before


@pytest.mark.parametrize("path", CONTROL_POSTS)
def test_control_json_needs_a_json_content_type(served: Fake, path: str) -> None:
    port = _port(served)
    before = served.export()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Host": f"127.0.0.1:{port}"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        status, _, body = raw(port, "POST", path, headers, b'{"name": "evil"}')
        assert status == 415 and is_control_error(body), (path, content_type, status, body)
    assert served.export() == before


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8001", "127.0.0.1.nip.io",
                                  "localhost.evil.example", "[::2]:80", "", "0.0.0.0"])
def test_dns_rebinding_is_refused(served: Fake, host: str) -> None:
    """A rebound name reaches 127.0.0.1 with the attacker's Host header."""
    status, _headers, body = raw(_port(served), "GET", "/_fake/tenants", {"Host": host})
    assert status == 403 and is_control_error(body), (host, status, body)
    assert "--allowed-host" in body["error"]["message"]


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:{port}", "127.0.0.1", "127.0.0.1:{port}",
                                  "[::1]", "[::1]:{port}", "127.1.2.3:{port}"])
def test_loopback_names_are_allowed(served: Fake, host: str) -> None:
    port = _port(served)
    status, headers, body = raw(port, "GET", "/_fake/tenants",
                                {"Host": host.format(port=port)})
    assert status == 200 and body["tenants"][0]["name"] == "demo"
    assert not any(name in headers for name in CORS)


def test_the_vendor_api_keeps_its_cors(served: Fake) -> None:
    port = _port(served)
    status, headers, _ = raw(port, "GET", "/v1/customers/1", {
        "Host": "api.example", "Origin": "http://shop.example",
        "Authorization": f"Bearer {DEMO_KEY}"})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "http://shop.example"
    status, headers, _ = raw(port, "OPTIONS", "/v1/customers/1", {
        "Host": "api.example", "Origin": "http://shop.example",
        "Access-Control-Request-Method": "GET"})
    assert status == 204 and "GET" in headers["Access-Control-Allow-Methods"]


def test_no_preflight_is_granted_on_the_control_plane(served: Fake) -> None:
    port = _port(served)
    status, headers, _ = raw(port, "OPTIONS", "/_fake/reset", {
        "Host": f"localhost:{port}", "Origin": f"http://localhost:{port + 1}",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert status >= 400 and not any(name in headers for name in CORS)


def test_allowed_hosts_can_be_added() -> None:
    with fake(allowed_hosts=["fakes.internal"]).serve() as built:
        port = _port(built)
        status, _, _ = raw(port, "GET", "/_fake/clock", {"Host": f"fakes.internal:{port}"})
        assert status == 200
        status, _, _ = raw(port, "GET", "/_fake/clock", {"Host": "other.internal"})
        assert status == 403


# ------------------------------------------------------------------ the control token


def test_a_control_token_is_required_once_set() -> None:
    with fake(control_token="s3cret-token").serve() as built:
        port = _port(built)
        host = {"Host": f"127.0.0.1:{port}"}
        for headers in (host, {**host, TOKEN_HEADER: "wrong"}, {**host, TOKEN_HEADER: ""}):
            status, _, body = raw(port, "GET", "/_fake/tenants", headers)
            assert status == 401 and is_control_error(body), (headers, status, body)
        status, _, body = raw(port, "GET", "/_fake/tenants",
                              {**host, TOKEN_HEADER: "s3cret-token"})
        assert status == 200
        status, _, _ = raw(port, "GET", "/v1/customers/1",
                           {**host, "Authorization": f"Bearer {DEMO_KEY}"})
        assert status == 200  # the vendor API does not need it


def test_serving_beyond_loopback_needs_a_token() -> None:
    with pytest.raises(ValueError, match="control token"):
        fake().serve("0.0.0.0")
    built = fake(control_token="t0ken-for-lan").serve("0.0.0.0")
    try:
        port = _port(built)
        status, _, _ = raw(port, "GET", "/_fake/clock",
                           {"Host": f"127.0.0.1:{port}", TOKEN_HEADER: "t0ken-for-lan"})
        assert status == 200
    finally:
        built.stop()


def test_the_command_line_refuses_a_public_bind_without_a_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAKESERVERS_CONTROL_TOKEN", raising=False)
    assert main(["--host", "0.0.0.0", "--smile-port", "0", "--shopsocially-port", "0"]) == 2
    captured = capsys.readouterr()
    assert "error: " in captured.out + captured.err


def test_the_command_line_reads_token_and_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    args = parse_args(["--control-token", "abc", "--allowed-host", "a.test",
                       "--allowed-host", "b.test"])
    assert args.control_token == "abc" and args.allowed_host == ["a.test", "b.test"]
    monkeypatch.setenv("FAKESERVERS_CONTROL_TOKEN", "from-env")
    monkeypatch.setenv("FAKESERVERS_ALLOWED_HOSTS", "c.test, d.test")
    args = parse_args([])
    assert args.control_token == "from-env" and args.allowed_host == ["c.test", "d.test"]


# ------------------------------------------------------------------ in-process callers


def test_in_process_transports_still_reach_the_control_plane() -> None:
    built = fake(control_token="needed-over-http")
    session = requests.Session()
    session.mount("https://api.smile.io", WSGIAdapter(built))
    assert session.post("https://api.smile.io/_fake/reset").status_code == 200
    response = session.post("https://api.smile.io/_fake/clock/advance", json={"seconds": 60})
    assert response.status_code == 200, response.text
    with httpx.Client(transport=WSGITransport(built), base_url="http://testserver") as client:
        assert client.get("/_fake/tenants").status_code == 200
    with intercept(built):
        assert requests.get("https://api.smile.io/_fake/clock").status_code == 200
    assert Client(built).get("/_fake/tenants").status_code == 401  # a request like any other


def test_in_process_transports_still_need_json() -> None:
    built = fake()
    session = requests.Session()
    session.mount("https://api.smile.io", WSGIAdapter(built))
    response = session.post("https://api.smile.io/_fake/clock/advance",
                            data="seconds=60", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_the_marker_cannot_be_sent_as_a_header(served: Fake) -> None:
    port = _port(served)
    status, _, _ = raw(port, "GET", "/_fake/tenants", {
        "Host": "evil.example", "fakeservers.in-process": "1",
        "Fakeservers-In-Process": "1"})
    assert status == 403


# ------------------------------------------------------------------ secrets in the journal


def test_the_journal_masks_credentials() -> None:
    smile = fake()
    Client(smile).get("/v1/customers/1", headers={"Authorization": f"Bearer {DEMO_KEY}"})
    Client(smile).get("/v1/customers/1", headers={"Authorization": "Bearer wrong-key-1234"})
    shown = json.dumps(Client(smile).get("/_fake/journal").json)
    assert DEMO_KEY not in shown and "wrong-key-1234" not in shown
    first, second = smile.journal.entries()
    assert first.headers["Authorization"] == "Bearer ****PraT"
    assert second.headers["Authorization"] == "Bearer ****1234"

    shop = fake("shopsocially")
    Client(shop).get("/v2/loyalty/levels",
                     headers={"partner-id": DEMO_PARTNER_ID, "api-key": DEMO_API_KEY})
    entry = shop.journal.last()
    assert entry.headers["Api-Key"] == "****-key"
    assert entry.headers["Partner-Id"] == DEMO_PARTNER_ID
    assert DEMO_API_KEY not in json.dumps(Client(shop).get("/_fake/journal").json)


def test_the_control_token_never_reaches_the_journal_or_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    served = fake(control_token="very-secret-token")
    with caplog.at_level(logging.INFO, logger="fakeservers.access"), served.serve() as built:
        port = _port(built)
        raw(port, "GET", "/v1/customers/1", {
            "Host": "localhost", TOKEN_HEADER: "very-secret-token",
            "Authorization": f"Bearer {DEMO_KEY}"})
        raw(port, "GET", "/_fake/journal", {"Host": "localhost",
                                            TOKEN_HEADER: "very-secret-token"})
        assert "very-secret-token" not in json.dumps(built.export())
        entry = built.journal.last()
        assert "very-secret-token" not in json.dumps(entry.to_json())
    assert "very-secret-token" not in caplog.text and DEMO_KEY not in caplog.text


# ------------------------------------------------------------------ the class, generated


HOSTS = st.one_of(
    st.sampled_from(["evil.example", "localhost.evil", "127.0.0.1.evil", "[::ffff:7f00:1]",
                     "0177.0.0.1", "2130706433", "localhost:x", "local host", "[::1",
                     "::1", "loca\u0131host", "LOCALHOST.", "127.0.0.1:80:80"]),
    st.text(min_size=1, max_size=20).filter(lambda h: h.isprintable() and h.isascii()),
)


@given(host=HOSTS, origin=st.none() | st.sampled_from(
    ["null", "http://evil.example", "http://localhost.evil:80", "file://", "http://[::2]"]))
def test_only_loopback_hosts_and_origins_pass(host: str, origin: str | None) -> None:
    built = fake()
    headers = {"Host": host}
    if origin is not None:
        headers["Origin"] = origin
    response = Client(built).get("/_fake/tenants", headers=headers)
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    loopback = name.lower() in ("localhost", "[::1]") or (
        name.startswith("127.") and name.replace(".", "").isdigit() and name.count(".") == 3)
    if response.status_code == 200:
        assert loopback and origin is None, (host, origin)
    else:
        assert response.status_code == 403 and is_control_error(response.json)
    assert "Access-Control-Allow-Origin" not in response.headers
