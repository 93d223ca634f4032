"""Faults that fire after the vendor acted, and canned responses."""

from __future__ import annotations

import time

import httpx
import pytest
import requests
from werkzeug.test import Client

from fakeservers.toolkit import Credentials, Fake, FaultInjector, Journal
from fakeservers.toolkit.transports import WSGIAdapter, WSGITransport
from loyaltykit import ManualClock, Program

CREDIT = {"points_transaction": {"customer_id": 1, "points_change": 25, "description": "x"}}


@pytest.fixture
def smile() -> Fake:
    return Fake("smile", ManualClock())


def test_error_after_applies_the_request_and_loses_the_answer(smile: Fake) -> None:
    smile.faults.error("points_transaction_create", status=502, after=True)
    client = Client(smile)
    response = client.post("/v1/points_transactions", json=CREDIT, headers=smile.headers())
    assert (response.status_code, response.json) == (502, {"error": {"message": "Bad Gateway."}})
    assert smile.program().member(1).balance == 5025  # the vendor acted
    entry = smile.journal.last()
    assert (entry.status, entry.fault, entry.applied_status) == (502, "error", 201)
    assert entry.to_json()["applied_status"] == 201
    # a naive retry credits twice
    retry = client.post("/v1/points_transactions", json=CREDIT, headers=smile.headers())
    assert retry.status_code == 201
    assert smile.program().member(1).balance == 5050


def test_a_fault_before_changes_nothing(smile: Fake) -> None:
    smile.faults.error("points_transaction_create", status=503)
    Client(smile).post("/v1/points_transactions", json=CREDIT, headers=smile.headers())
    assert smile.program().member(1).balance == 5000
    assert smile.journal.last().applied_status is None


def test_drop_after_with_requests_and_httpx_in_process(smile: Fake) -> None:
    smile.faults.drop("points_transaction_create", after=True, times=2)
    session = requests.Session()
    session.mount("https://api.smile.io", WSGIAdapter(smile))
    with pytest.raises(requests.ConnectionError):
        session.post("https://api.smile.io/v1/points_transactions", json=CREDIT,
                     headers=smile.headers())  # fmt: skip
    client = httpx.Client(transport=WSGITransport(smile), base_url="https://api.smile.io")
    with client, pytest.raises(httpx.RemoteProtocolError):
        client.post("/v1/points_transactions", json=CREDIT, headers=smile.headers())
    assert smile.program().member(1).balance == 5050
    dropped = smile.journal.entries("points_transaction_create")
    assert [(e.status, e.applied_status) for e in dropped] == [(None, 201), (None, 201)]


def test_drop_after_over_a_socket(
    smile_faults: FaultInjector,
    smile_url: str,
    smile_credentials: Credentials,
    smile_program: Program,
    smile_journal: Journal,
) -> None:
    smile_faults.drop("POST /v1/points_transactions", after=True)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{smile_url}/v1/points_transactions", json=CREDIT,
                      headers=smile_credentials.headers)  # fmt: skip
    assert smile_program.member(1).balance == 5025
    assert smile_journal.last().status is None


def test_latency_after_applies_then_waits(smile: Fake) -> None:
    smile.faults.latency(0.2, "points_transaction_create", after=True)
    started = time.perf_counter()
    response = Client(smile).post("/v1/points_transactions", json=CREDIT, headers=smile.headers())
    assert time.perf_counter() - started >= 0.2
    assert response.status_code == 201  # late, but it came: a client timeout would lose it


def test_latency_after_then_a_client_timeout(
    smile_faults: FaultInjector,
    smile_url: str,
    smile_credentials: Credentials,
    smile_program: Program,
) -> None:
    smile_faults.latency(0.5, "points_transaction_create", after=True)
    with pytest.raises(requests.Timeout):
        requests.post(f"{smile_url}/v1/points_transactions", json=CREDIT,
                      headers=smile_credentials.headers, timeout=0.1)  # fmt: skip
    time.sleep(0.5)
    assert smile_program.member(1).balance == 5025


def test_idempotency_keys_survive_a_lost_answer() -> None:
    fake = Fake("shopsocially", ManualClock())
    fake.faults.error("award", status=503, after=True)
    award = {"user_email": "bob@shopsocially.com", "activity_id": "made_a_purchase",
             "order_id": "A-7", "points_passed": 40}  # fmt: skip
    client = Client(fake)
    assert client.post("/v2/loyalty/award", data=award, headers=fake.headers()).status_code == 503
    retry = client.post("/v2/loyalty/award", data=award, headers=fake.headers())
    assert retry.status_code == 200 and retry.json["data"]["points"] == 40
    assert fake.program().member_by_email("bob@shopsocially.com").balance == 340


def test_canned_response_any_status_body_and_headers(smile: Fake) -> None:
    fault = smile.faults.respond(
        "customer_show",
        status=409,
        body={"error": {"message": "Customer is being merged."}},
        headers={"X-Request-Id": "abc"},
    )
    client = Client(smile)
    response = client.get("/v1/customers/1", headers=smile.headers())
    assert response.status_code == 409
    assert response.json == {"error": {"message": "Customer is being merged."}}
    assert response.headers["X-Request-Id"] == "abc"
    assert response.headers["Content-Type"] == "application/json"
    assert smile.journal.last().fault == "respond" and fault.fired == 1
    assert client.get("/v1/customers/1", headers=smile.headers()).status_code == 200  # once


def test_canned_text_empty_body_and_times(smile: Fake) -> None:
    smile.faults.respond("GET /v1/customers/*", status=502, text="<html>Bad gateway</html>",
                         headers={"Content-Type": "text/html"}, times=2)  # fmt: skip
    client = Client(smile)
    for _ in range(2):
        response = client.get("/v1/customers/1", headers=smile.headers())
        assert (response.status_code, response.data) == (502, b"<html>Bad gateway</html>")
        assert response.headers["Content-Type"] == "text/html"
    assert client.get("/v1/customers/1", headers=smile.headers()).status_code == 200
    smile.faults.respond("customer_show", status=204)
    response = client.get("/v1/customers/1", headers=smile.headers())
    assert (response.status_code, response.data) == (204, b"")


def test_canned_response_after_the_fake_acted(smile: Fake) -> None:
    smile.faults.respond("points_transaction_create", status=200, body={}, after=True)
    response = Client(smile).post("/v1/points_transactions", json=CREDIT, headers=smile.headers())
    assert (response.status_code, response.json) == (200, {})
    assert smile.program().member(1).balance == 5025


def test_extra_headers_on_vendor_shaped_faults(smile: Fake) -> None:
    smile.faults.rate_limit(retry_after=4, headers={"X-RateLimit-Remaining": "0"})
    response = Client(smile).get("/v1/customers/1", headers=smile.headers())
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert response.headers["Retry-After"] == "4"


def test_canned_responses_and_after_over_the_control_plane(
    smile_url: str, smile_credentials: Credentials, smile_program: Program
) -> None:
    armed = requests.post(f"{smile_url}/_fake/faults", json={
        "kind": "respond", "route": "customer_show", "status": 404,
        "body": {"error": {"message": "Customer not found."}}, "headers": {"X-A": "1"},
    })  # fmt: skip
    assert armed.status_code == 201
    assert armed.json()["fault"]["headers"] == {"X-A": "1"}
    response = requests.get(f"{smile_url}/v1/customers/1", headers=smile_credentials.headers)
    assert (response.status_code, response.headers["X-A"]) == (404, "1")
    armed = requests.post(f"{smile_url}/_fake/faults", json={
        "kind": "error", "route": "points_transaction_create", "after": True,
    })  # fmt: skip
    assert armed.json()["fault"]["after"] is True
    failed = requests.post(f"{smile_url}/v1/points_transactions", json=CREDIT,
                           headers=smile_credentials.headers)  # fmt: skip
    assert failed.status_code == 503 and smile_program.member(1).balance == 5025
    entries = requests.get(f"{smile_url}/_fake/journal", params={"limit": 1}).json()["entries"]
    assert entries[0]["applied_status"] == 201 and entries[0]["status"] == 503


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "respond", "status": 99}, "status must be between 200 and 599"),
        ({"kind": "respond", "status": 600}, "status must be between 200 and 599"),
        ({"kind": "respond", "body": {}, "text": "x"}, "not both"),
        ({"kind": "error", "text": "x"}, "text is for canned responses"),
        ({"kind": "respond", "headers": {"X-A": 1}}, "headers must be an object of strings"),
        ({"kind": "respond", "headers": ["X-A"]}, "headers must be an object of strings"),
        ({"kind": "respond", "headers": {"X A": "1"}}, "is not a valid header"),
        ({"kind": "respond", "headers": {"X-A": "1\r\nX-B: 2"}}, "is not a valid header"),
        ({"kind": "drop", "after": "yes"}, "after must be true or false"),
        ({"kind": "respond", "text": "x" * (1 << 20 + 1)}, "at most"),
    ],
)
def test_bad_canned_responses_are_refused_and_arm_nothing(
    smile: Fake, body: dict[str, object], message: str
) -> None:
    response = Client(smile).post("/_fake/faults", json=body)
    assert response.status_code == 400
    assert message in response.json["error"]["message"]
    assert smile.faults.faults() == []
