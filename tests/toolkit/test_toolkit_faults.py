"""Fault injection: vendor-shaped 429 and 5xx, latency, dropped connections; deterministic."""

from __future__ import annotations

import time

import httpx
import pytest
import requests
from werkzeug.test import Client

from fakeservers.toolkit import Credentials, Fake, FaultInjector
from loyaltykit import ManualClock

SS_USER = "/v2/loyalty/users/bob@shopsocially.com"


@pytest.fixture
def smile() -> Fake:
    return Fake("smile", ManualClock())


@pytest.fixture
def shopsocially() -> Fake:
    return Fake("shopsocially", ManualClock())


def test_rate_limit_is_the_vendors_own_429(smile: Fake, shopsocially: Fake) -> None:
    smile.faults.rate_limit("customer_show", retry_after=7)
    response = Client(smile).get("/v1/customers/1", headers=smile.headers())
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json == {"error": {"message": "Too many requests."}}
    assert Client(smile).get("/v1/customers/1", headers=smile.headers()).status_code == 200

    shopsocially.faults.rate_limit(retry_after=2)
    response = Client(shopsocially).get(SS_USER, headers=shopsocially.headers())
    assert (response.status_code, response.headers["Retry-After"]) == (429, "2")
    assert response.json["success"] is False and response.json["reason"]


def test_5xx_in_the_vendors_error_format(smile: Fake, shopsocially: Fake) -> None:
    smile.faults.error(status=503)
    response = Client(smile).get("/v1/customers/1", headers=smile.headers())
    assert (response.status_code, response.json) == (
        503,
        {"error": {"message": "Service Unavailable."}},
    )
    shopsocially.faults.error(status=500)
    response = Client(shopsocially).get(SS_USER, headers=shopsocially.headers())
    assert response.status_code == 500
    assert response.json == {"reason": "internal server error", "success": False}


def test_custom_error_body(smile: Fake) -> None:
    smile.faults.error(status=502, body={"upstream": "timeout"})
    response = Client(smile).get("/v1/customers/1", headers=smile.headers())
    assert (response.status_code, response.json) == (502, {"upstream": "timeout"})


def test_next_n_calls_then_normal(smile: Fake) -> None:
    fault = smile.faults.error("GET /v1/customers/*", status=500, times=2)
    client = Client(smile)
    statuses = [
        client.get("/v1/customers/1", headers=smile.headers()).status_code for _ in range(4)
    ]
    assert statuses == [500, 500, 200, 200]
    assert (fault.fired, fault.remaining) == (2, 0)
    assert smile.faults.faults() == []  # spent faults are dropped


@pytest.mark.parametrize(
    ("route", "hit"),
    [
        ("customer_show", True),  # endpoint name
        ("/v1/customers/*", True),  # path glob
        ("GET /v1/customers/1", True),  # method + path
        ("POST /v1/customers/1", False),
        ("customers_list", False),
        (None, True),  # every route
    ],
)
def test_route_forms(smile: Fake, route: str | None, hit: bool) -> None:
    smile.faults.error(route, status=500)
    status = Client(smile).get("/v1/customers/1", headers=smile.headers()).status_code
    assert status == (500 if hit else 200)


def test_tenant_filter(smile: Fake) -> None:
    smile.control.create_tenant("other", ["other_key"])
    smile.faults.error(status=500, tenant="other", times=5)
    client = Client(smile)
    assert client.get("/v1/customers", headers=smile.headers("demo")).status_code == 200
    assert client.get("/v1/customers", headers=smile.headers("other")).status_code == 500


def _statuses(seed: int) -> list[int]:
    fake = Fake("smile", ManualClock())
    fake.faults.error(status=503, probability=0.3, seed=seed)
    client = Client(fake)
    return [client.get("/v1/customers/1", headers=fake.headers()).status_code for _ in range(40)]


def test_probability_under_a_seed_is_deterministic() -> None:
    first = _statuses(seed=42)
    assert first == _statuses(seed=42)
    assert 3 <= first.count(503) <= 25 and first.count(200) > 10
    assert first != _statuses(seed=7)


def test_latency_adds_real_time_then_answers(smile: Fake) -> None:
    smile.faults.latency(0.15, "customer_show")
    client = Client(smile)
    started = time.perf_counter()
    assert client.get("/v1/customers/1", headers=smile.headers()).status_code == 200
    assert time.perf_counter() - started >= 0.15
    started = time.perf_counter()
    client.get("/v1/customers/1", headers=smile.headers())
    assert time.perf_counter() - started < 0.15  # once by default


def test_latency_combines_with_an_error(smile: Fake) -> None:
    smile.faults.latency(0.05)
    smile.faults.error(status=504)
    started = time.perf_counter()
    assert Client(smile).get("/v1/customers/1", headers=smile.headers()).status_code == 504
    assert time.perf_counter() - started >= 0.05


def test_dropped_connection_over_a_socket_with_requests_and_httpx(
    smile_faults: FaultInjector, smile_url: str, smile_credentials: Credentials
) -> None:
    smile_faults.drop("customer_show", times=2)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{smile_url}/v1/customers/1", headers=smile_credentials.headers)
    with httpx.Client(base_url=smile_url) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/v1/customers/1", headers=smile_credentials.headers)
        assert client.get("/v1/customers/1", headers=smile_credentials.headers).is_success


def test_faults_over_the_control_plane(smile_url: str, smile_credentials: Credentials) -> None:
    created = requests.post(
        f"{smile_url}/_fake/faults",
        json={"kind": "rate_limit", "route": "customer_show", "times": 1, "retry_after": 3},
    )
    assert created.status_code == 201
    assert created.json()["fault"]["remaining"] == 1
    assert requests.get(f"{smile_url}/_fake/faults").json()["faults"][0]["kind"] == "rate_limit"
    limited = requests.get(f"{smile_url}/v1/customers/1", headers=smile_credentials.headers)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")

    requests.post(f"{smile_url}/_fake/faults", json={"kind": "error", "status": 500, "times": 9})
    assert requests.delete(f"{smile_url}/_fake/faults").json() == {"faults": []}
    ok = requests.get(f"{smile_url}/v1/customers/1", headers=smile_credentials.headers)
    assert ok.status_code == 200

    bad = requests.post(f"{smile_url}/_fake/faults", json={"kind": "explode"})
    assert bad.status_code == 400 and "kind must be one of" in bad.json()["error"]["message"]
    bad = requests.post(f"{smile_url}/_fake/faults", json={"kind": "error", "status": 404})
    assert bad.status_code == 400


def test_invalid_faults_are_refused(smile: Fake) -> None:
    with pytest.raises(ValueError):
        smile.faults.add("error", times=0)
    with pytest.raises(ValueError):
        smile.faults.add("error", probability=1.5)
    with pytest.raises(ValueError):
        smile.faults.add_from_json({"kind": "drop", "colour": "red"})
