"""The request journal: per tenant, bounded, readable from Python and the control plane."""

from __future__ import annotations

import re

import pytest
import requests
from werkzeug.test import Client

from fakeservers.toolkit import Fake, Journal
from loyaltykit import ManualClock


@pytest.fixture
def smile() -> Fake:
    fake = Fake("smile", ManualClock(), journal_size=5)
    fake.control.create_tenant("other", ["other_key"])
    return fake


def test_records_request_and_response_per_tenant(smile: Fake) -> None:
    client = Client(smile)
    client.post(
        "/v1/points_transactions",
        json={"points_transaction": {"customer_id": 1, "points_change": 30, "description": "x"}},
        headers=smile.headers(),
    )
    client.get("/v1/customers", headers=smile.headers("other"))
    client.get("/v1/customers", headers={"Authorization": "Bearer nope"})
    client.get("/_fake/tenants")  # the control plane is not recorded

    demo = smile.journal.entries(tenant="demo")
    assert [(e.method, e.path, e.endpoint, e.status) for e in demo] == [
        ("POST", "/v1/points_transactions", "points_transaction_create", 201)
    ]
    entry = demo[0]
    assert entry.data["points_transaction"]["points_change"] == 30
    assert entry.response_data["points_transaction"]["points_change"] == 30
    assert entry.headers["Authorization"].startswith("Bearer ")
    assert entry.at == smile.now()
    assert [e.tenant for e in smile.journal.entries()] == ["demo", "other", None]
    assert smile.journal.last().status == 401


def test_bounded_per_tenant_oldest_dropped_first(smile: Fake) -> None:
    client = Client(smile)
    for n in range(1, 8):
        client.get(f"/v1/customers/{n}", headers=smile.headers())
    client.get("/v1/customers", headers=smile.headers("other"))
    paths = [e.path for e in smile.journal.entries(tenant="demo")]
    assert paths == [f"/v1/customers/{n}" for n in range(3, 8)]
    assert len(smile.journal.entries(tenant="other")) == 1  # another tenant's room


def test_assertion_helpers(smile: Fake) -> None:
    client = Client(smile)
    client.post(
        "/v1/activities",
        json={"activity": {"customer_id": 1, "token": "activity_f57a9b5a8d0ac5"}},
        headers=smile.headers(),
    )
    client.get("/v1/customers/1", headers=smile.headers())
    client.get("/v1/customers/2", headers=smile.headers())
    journal = smile.journal

    assert len(journal.assert_called("customer_show", times=2)) == 2
    journal.assert_called("GET /v1/customers/*")
    activity = {"customer_id": 1, "token": "activity_f57a9b5a8d0ac5"}
    entry = journal.assert_called_once("POST /v1/activities", body={"activity": activity})
    assert entry.status == 201
    journal.assert_called("activity_create", body=re.compile(r'"customer_id":\s*1'))
    journal.assert_called("activity_create", body=lambda data: data["activity"]["customer_id"] == 1)
    journal.assert_not_called("points_product_purchase")
    journal.assert_not_called("activity_create", body={"activity": {"customer_id": 2}})

    with pytest.raises(AssertionError, match=r"expected customer_show 3 time\(s\), got 2"):
        journal.assert_called("customer_show", times=3)
    with pytest.raises(AssertionError, match="GET /v1/customers/1 -> 200"):
        journal.assert_not_called("customer_show")


def test_form_bodies_match_with_plain_values() -> None:
    fake = Fake("shopsocially", ManualClock())
    Client(fake).post(
        "/v2/loyalty/award",
        data={"user_email": "bob@shopsocially.com", "activity_id": "made_a_purchase",
              "points_passed": 100, "order_id": "A-1"},
        headers=fake.headers(),
    )  # fmt: skip
    fake.journal.assert_called_once("award", body={"points_passed": 100, "order_id": "A-1"})
    fake.journal.assert_not_called("award", body={"points_passed": 99})


def test_journal_over_the_control_plane(smile_url: str, smile_journal: Journal) -> None:
    headers = {"Authorization": "Bearer test_cnzGMghxTmPzK1spPraT"}
    for n in (1, 2, 3):
        requests.get(f"{smile_url}/v1/customers/{n}", headers=headers)
    requests.get(f"{smile_url}/v1/points_products", headers=headers)
    body = requests.get(f"{smile_url}/_fake/journal", params={"route": "customer_show"}).json()
    assert [e["path"] for e in body["entries"]] == [f"/v1/customers/{n}" for n in (1, 2, 3)]
    assert body["entries"][0]["tenant"] == "demo" and body["entries"][0]["status"] == 200
    assert '"first_name":"Jane"' in body["entries"][0]["response_body"]
    last = requests.get(f"{smile_url}/_fake/journal", params={"limit": 1}).json()["entries"]
    assert [e["endpoint"] for e in last] == ["points_products_list"]
    assert requests.delete(f"{smile_url}/_fake/journal").status_code == 200
    assert len(smile_journal) == 0


def test_reset_over_the_control_plane_clears_journal_and_faults(
    smile_url: str, smile_journal: Journal
) -> None:
    headers = {"Authorization": "Bearer test_cnzGMghxTmPzK1spPraT"}
    requests.get(f"{smile_url}/v1/customers/1", headers=headers)
    requests.post(f"{smile_url}/_fake/faults", json={"kind": "error", "times": 3})
    assert requests.post(f"{smile_url}/_fake/reset", json={}).json() == {"reset": ["demo"]}
    assert len(smile_journal) == 0
    assert requests.get(f"{smile_url}/v1/customers/1", headers=headers).status_code == 200
