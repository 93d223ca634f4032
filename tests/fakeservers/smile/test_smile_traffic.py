"""Injected faults and the request journal, seen through the Smile fake."""

from __future__ import annotations

import pytest
from smile_client import Api
from werkzeug.test import Client

from fakeservers.smile import SmileApp


def test_injected_status_uses_the_smile_error_shape_then_clears(app: SmileApp, api: Api) -> None:
    client = Client(app)
    made = client.post(
        "/_fake/faults", json={"status": 503, "count": 2, "path_prefix": "/v1/customers"}
    )
    assert made.status_code == 201
    assert made.json["fault"] == {
        "status": 503,
        "remaining": 2,
        "path_prefix": "/v1/customers",
        "delay_seconds": 0.0,
    }
    assert api.get("/v1/points_settings").status_code == 200  # another path
    assert api.error(api.get("/v1/customers/1"), 503) == "Service Unavailable."
    assert client.get("/_fake/faults").json["faults"][0]["remaining"] == 1
    assert client.get("/_fake/clock").status_code == 200  # the control plane is never disturbed
    assert api.error(api.get("/v1/customers"), 503)
    assert api.get("/v1/customers/1").status_code == 200
    assert client.get("/_fake/faults").json == {"faults": []}


def test_fault_until_cleared_and_a_refused_request_changes_nothing(app: SmileApp, api: Api) -> None:
    app.control.inject_fault(500, count=None)
    body = {"points_transaction": {"customer_id": 1, "points_change": 5, "description": "x"}}
    for _ in range(3):
        assert api.error(api.post("/v1/points_transactions", body), 500)
    assert app.control.backend("demo").program.member(1).balance == 5000
    assert Client(app).delete("/_fake/faults").json == {"faults": []}
    assert api.post("/v1/points_transactions", body).status_code == 201


def test_latency_only_fault(app: SmileApp, api: Api) -> None:
    slept: list[float] = []
    app.control.faults._sleep = slept.append  # no real waiting in the test
    app.control.inject_fault(0, delay_seconds=1.5)
    assert api.get("/v1/customers/1").status_code == 200
    assert slept == [1.5]


@pytest.mark.parametrize(
    "body",
    [{"status": 200}, {"status": 700}, {"count": 0}, {"delay_seconds": 61}, {"status": "x"}],
)
def test_bad_faults_are_refused(app: SmileApp, body: dict[str, object]) -> None:
    response = Client(app).post("/_fake/faults", json=body)
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_argument"
    assert app.control.pending_faults() == []


def test_request_journal_records_vendor_traffic_only(app: SmileApp, api: Api) -> None:
    api.get("/v1/customers", limit="2")
    api.as_key("wrong").get("/v1/customers/1")
    api.get("/v1/nowhere")
    Client(app).get("/_fake/clock")
    entries = Client(app).get("/_fake/requests").json["requests"]
    assert [(e["method"], e["path"], e["query"], e["status"], e["endpoint"]) for e in entries] == [
        ("GET", "/v1/customers", "limit=2", 200, "customers_list"),
        ("GET", "/v1/customers/1", "", 401, "customer_show"),
        ("GET", "/v1/nowhere", "", 404, None),
    ]
    assert entries[0]["at"] == "2024-01-01T00:00:00Z"
    assert [e.path for e in app.control.requests()] == [e["path"] for e in entries]
    assert Client(app).delete("/_fake/requests").json == {"requests": []}
    assert app.control.requests() == []
