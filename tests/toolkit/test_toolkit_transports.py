"""In-process transports (no socket) and interception of the vendors' real hosts."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import requests

from fakeservers.toolkit import Fake
from fakeservers.toolkit.transports import (
    AsyncWSGITransport,
    WSGIAdapter,
    WSGITransport,
    intercept,
    mount,
)
from loyaltykit import ManualClock

SMILE = "https://api.smile.io"
SHOPSOCIALLY = "https://api.shopsocially.com"


@pytest.fixture
def smile() -> Fake:
    return Fake("smile", ManualClock())


@pytest.fixture
def shopsocially() -> Fake:
    return Fake("shopsocially", ManualClock())


def test_requests_adapter_runs_the_same_app(smile: Fake) -> None:
    session = requests.Session()
    session.mount(SMILE, WSGIAdapter(smile))
    response = session.get(
        f"{SMILE}/v1/customers", params={"email": "jane@smile.io"}, headers=smile.headers()
    )
    assert response.status_code == 200 and response.reason == "OK"
    assert response.json()["customers"][0]["last_name"] == "Bond"
    assert response.headers["content-type"] == "application/json"
    assert response.url == f"{SMILE}/v1/customers?email=jane%40smile.io"
    purchase = session.post(
        f"{SMILE}/v1/points_products/1/purchase", json={"customer_id": 1}, headers=smile.headers()
    )
    assert purchase.status_code == 201
    assert smile.program().member(1).balance == 4500
    smile.journal.assert_called_once("points_product_purchase", body={"customer_id": 1})


def test_requests_adapter_form_bodies_and_quoted_paths(shopsocially: Fake) -> None:
    session = mount(requests.Session(), shopsocially)
    headers = shopsocially.headers()
    created = session.post(
        f"{SHOPSOCIALLY}/v2/loyalty/users",
        data={"email": "ann+test@example.com", "uid": "ann", "first_name": "Ann", "last_name": "B"},
        headers=headers,
    )
    assert created.json()["success"] is True
    quoted = f"{SHOPSOCIALLY}/v2/loyalty/users/ann%2Btest@example.com"
    fetched = session.get(quoted, headers=headers)
    assert fetched.json()["data"]["first_name"] == "Ann"


def test_requests_adapter_reports_a_drop_as_a_connection_error(smile: Fake) -> None:
    session = mount(requests.Session(), smile)
    smile.faults.drop()
    with pytest.raises(requests.ConnectionError):
        session.get(f"{SMILE}/v1/customers/1", headers=smile.headers())


def test_httpx_wsgi_transport(shopsocially: Fake) -> None:
    with httpx.Client(transport=WSGITransport(shopsocially), base_url=SHOPSOCIALLY) as client:
        awarded = client.post(
            "/v2/loyalty/award",
            data={"user_email": "bob@shopsocially.com", "activity_id": "shared_via_email"},
            headers=shopsocially.headers(),
        )
        assert awarded.json()["data"]["points"] == 100
        shopsocially.faults.drop("award")
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/v2/loyalty/award", headers=shopsocially.headers())
    # the plain httpx.WSGITransport works too (a drop then surfaces as the fake's exception)
    with httpx.Client(transport=httpx.WSGITransport(app=shopsocially)) as client:
        got = client.get(f"{SHOPSOCIALLY}/v2/loyalty/levels", headers=shopsocially.headers())
        assert got.json()["success"] is True


def test_httpx_async_transport(smile: Fake) -> None:
    async def fetch() -> str:
        transport = AsyncWSGITransport(smile)
        async with httpx.AsyncClient(transport=transport, base_url=SMILE) as client:
            response = await client.get("/v1/customers/1", headers=smile.headers())
            return str(response.json()["customer"]["first_name"])

    assert asyncio.run(fetch()) == "Jane"


def hard_coded_client_balance(customer_id: int, key: str) -> int:
    """Code under test that knows only the real vendor URL."""
    response = requests.get(
        f"https://api.smile.io/v1/customers/{customer_id}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=5,
    )
    response.raise_for_status()
    return int(response.json()["customer"]["points_balance"])


def test_intercept_routes_the_real_hosts_for_requests_and_httpx(
    smile: Fake, shopsocially: Fake
) -> None:
    with intercept(smile, shopsocially):
        assert hard_coded_client_balance(1, smile.credential()) == 5000
        got = httpx.get(
            "https://api.shopsocially.com/v2/loyalty/users/bob@shopsocially.com",
            headers=shopsocially.headers(),
        )
        assert got.json()["data"]["user_email"] == "bob@shopsocially.com"
        with httpx.Client() as client:  # a client's own transport is intercepted too
            assert client.get(f"{SMILE}/v1/customers/2", headers=smile.headers()).is_success

        async def fetch() -> int:
            async with httpx.AsyncClient() as client:
                response = await client.get(f"{SMILE}/v1/customers/1", headers=smile.headers())
                return response.status_code

        assert asyncio.run(fetch()) == 200
    smile.journal.assert_called("customer_show", times=3)
    shopsocially.journal.assert_called_once("get_user")
    assert requests.adapters.HTTPAdapter.send.__name__ == "send"  # restored
    assert httpx.HTTPTransport.handle_request.__qualname__.startswith("HTTPTransport")


def test_intercept_as_a_decorator_and_other_hosts_pass_through(
    smile: Fake, smile_url: str, smile_credentials: object
) -> None:
    @intercept(smile)
    def run() -> tuple[int, int]:
        balance = hard_coded_client_balance(1, smile.credential())
        # loopback is not intercepted: this reaches the plugin's live server
        live = requests.get(f"{smile_url}/v1/customers/1", headers=smile.headers())
        return balance, live.status_code

    smile.program().earn(1, 5, description="only in the in-process fake")
    assert run() == (5005, 200)


def test_nested_intercepts_innermost_wins(smile: Fake) -> None:
    other = Fake("smile", ManualClock(), demo=False)
    other.control.create_tenant("solo", ["solo_key"])
    with intercept(smile):
        with intercept(hosts={"api.smile.io": other}):
            response = requests.get(f"{SMILE}/v1/customers", headers=other.headers())
            assert response.status_code == 200 and response.json()["customers"] == []
        assert hard_coded_client_balance(1, smile.credential()) == 5000


# -- the hand-built environ against werkzeug's EnvironBuilder ------------------------------

_ENVIRON_CASES = [
    ("GET", "http://api.smile.io/v1/customers/1", {"Authorization": "Bearer k"}, b""),
    ("GET", "https://api.smile.io/v1/customers?limit=2&cursor=abc%3D", {}, b""),
    ("POST", "http://127.0.0.1:8001/v1/points_transactions",
     {"Content-Type": "application/json", "Content-Length": "11"}, b'{"a": "b"}\n'),
    ("PUT", "http://api.shopsocially.com:8002/v2/loyalty/users/bob%40x.com",
     {"Content-Type": "application/x-www-form-urlencoded", "partner-id": "p", "api-key": "k"},
     b"loyalty_level_id=1"),
    ("DELETE", "http://localhost/caf%C3%A9?q=%C3%A9t%C3%A9", {"X-Custom": "1"}, b""),
]  # fmt: skip
_COMPARED = (
    "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME",
    "SERVER_PORT", "HTTP_HOST", "SERVER_PROTOCOL", "wsgi.url_scheme", "CONTENT_TYPE",
    "CONTENT_LENGTH",
)  # fmt: skip


@pytest.mark.parametrize(("method", "url", "headers", "body"), _ENVIRON_CASES)
def test_the_adapter_environ_is_what_werkzeug_would_build(
    method: str, url: str, headers: dict[str, str], body: bytes
) -> None:
    """The in-process adapter writes the environ out by hand (werkzeug's builder cost as
    much as the app); it must stay what the builder makes of the same request."""
    from urllib.parse import urlsplit

    from werkzeug.test import EnvironBuilder

    from fakeservers.toolkit.transports import _environ

    parts = urlsplit(url)
    expected = EnvironBuilder(
        path=parts.path, base_url=f"{parts.scheme}://{parts.netloc}",
        query_string=parts.query, method=method, headers=headers, data=body or None,
    ).get_environ()  # fmt: skip
    ours = _environ(method, url, headers, body)
    for key in _COMPARED:
        assert ours.get(key) == expected.get(key), key
    ours_headers = {k: v for k, v in ours.items() if k.startswith("HTTP_")}
    assert ours_headers == {k: v for k, v in expected.items() if k.startswith("HTTP_")}
    assert ours["wsgi.input"].read() == expected["wsgi.input"].read()


def test_the_adapter_environ_of_an_ipv6_host_keeps_its_port() -> None:
    from fakeservers.toolkit.transports import _environ

    environ = _environ("GET", "http://[::1]:8001/v1/customers", {}, b"")
    assert (environ["HTTP_HOST"], environ["SERVER_NAME"], environ["SERVER_PORT"]) == (
        "[::1]:8001", "[::1]", "8001",
    )  # fmt: skip
