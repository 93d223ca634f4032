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
    with pytest.raises(AssertionError, match=r"GET /v1/customers/1 \[customer_show\] -> 200"):
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


def _post_credit(fake: Fake, points: int, description: str = "Birthday bonus") -> None:
    Client(fake).post(
        "/v1/points_transactions",
        json={"points_transaction": {
            "customer_id": 1, "points_change": points, "description": description,
        }},
        headers=fake.headers(),
    )  # fmt: skip


def test_nested_bodies_match_partially(smile: Fake) -> None:
    _post_credit(smile, 5)
    journal = smile.journal
    journal.assert_called_once("points_transaction_create",
                               body={"points_transaction": {"points_change": 5}})  # fmt: skip
    journal.assert_not_called(body={"points_transaction": {"points_change": 6}})
    journal.assert_called(body={"points_transaction": {"description": re.compile("^Birth")}})
    journal.assert_called(body={"points_transaction": {"points_change": lambda n: n > 0}})
    journal.assert_not_called(body={"points_transaction": {"points_change": lambda n: n > 5}})
    journal.assert_not_called(body={"points_transaction": {"note": "x"}})  # a missing key
    journal.assert_not_called(body={"points_transaction": 5})
    journal.assert_not_called(body={"points_transaction": {"points_change": {"a": 1}}})


def test_lists_match_item_by_item() -> None:
    fake = Fake("smile", ManualClock())
    order = {"event": {"topic": "order/updated", "data": {
        "external_id": "1001", "payment_status": "paid", "grand_total": "12.00",
        "coupons": [{"code": "A", "kind": "x"}, {"code": "B"}], "customer": None,
    }}}  # fmt: skip
    Client(fake).post("/v1/events", json=order, headers=fake.headers())
    journal = fake.journal
    coupons = {"event": {"data": {"coupons": [{"code": "A"}, {"code": "B"}]}}}
    journal.assert_called_once("event_create", body=coupons)
    journal.assert_not_called(body={"event": {"data": {"coupons": [{"code": "A"}]}}})
    journal.assert_not_called(body={"event": {"data": {"coupons": [{"code": "B"}, {}]}}})
    journal.assert_not_called(body={"event": {"data": {"coupons": {"code": "A"}}}})
    journal.assert_called(body={"event": {"data": {"customer": None}}})


def test_status_entries_last_count_and_dropped(smile: Fake) -> None:
    client = Client(smile)
    client.get("/v1/customers/1", headers=smile.headers())
    client.get("/v1/customers/999", headers=smile.headers())
    smile.faults.drop("customer_show")
    with pytest.raises(Exception, match="dropped"):
        client.get("/v1/customers/2", headers=smile.headers())
    journal = smile.journal
    assert [e.status for e in journal.entries("customer_show")] == [200, 404, None]
    assert journal.count("customer_show", status=404) == 1
    assert journal.last("customer_show", status=200).path == "/v1/customers/1"
    dropped = journal.last()
    assert (dropped.status, dropped.fault, dropped.response_body) == (None, "drop", b"")
    assert journal.entries(status=None) == journal.entries()  # None filters nothing
    journal.assert_called("customer_show", status=404, times=1)
    with pytest.raises(AssertionError, match="expected points_product_purchase at least"):
        journal.last("points_product_purchase")


def test_a_failed_assertion_shows_the_near_misses(smile: Fake) -> None:
    client = Client(smile)
    client.get("/v1/customers/1", headers=smile.headers())
    _post_credit(smile, 50)
    client.get("/v1/customers", headers=smile.headers("other"))
    with pytest.raises(AssertionError) as caught:
        smile.journal.assert_called(
            "points_transaction_create",
            body={"points_transaction": {"points_change": 5, "description": "Birthday bonus"}},
            tenant="demo",
        )
    message = str(caught.value)
    lines = message.splitlines()
    assert lines[0].startswith("expected points_transaction_create for tenant 'demo' with body")
    assert lines[0].endswith("at least once, got 0")
    assert lines[1] == "closest requests (what differed):"
    # the closest first: only its points differ
    assert lines[2] == (
        "  #2 POST /v1/points_transactions [points_transaction_create] -> 201, tenant 'demo'"
    )
    assert lines[3] == "      body.points_transaction.points_change: expected 5, got 50"
    assert (
        "route: expected points_transaction_create, got GET /v1/customers/1 [customer_show]"
        in message
    )
    assert "tenant: expected 'demo', got 'other'" in message
    assert "recent requests (oldest first, last 10):" in message
    assert "  #3 GET /v1/customers [customers_list] -> 200, tenant 'other'" in message


def test_an_empty_journal_says_so(smile: Fake) -> None:
    with pytest.raises(AssertionError, match="got 0; nothing was recorded"):
        smile.journal.assert_called("customer_show")


def test_too_many_calls_lists_the_matching_ones(smile: Fake) -> None:
    for _ in range(2):
        Client(smile).get("/v1/customers/1", headers=smile.headers())
    with pytest.raises(AssertionError, match=r"(?s)1 time\(s\), got 2\nmatching requests:\n  #1 "):
        smile.journal.assert_called_once("customer_show")
