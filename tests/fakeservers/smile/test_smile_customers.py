"""Customers: retrieve, includes, filters, classic paging; customer identities."""

from __future__ import annotations

from decimal import Decimal

import pytest
from smile_client import Api

from fakeservers.smile import SmileApp
from loyaltykit import ManualClock


@pytest.fixture
def tiers(app: SmileApp) -> tuple[int, int]:
    """A fresh tenant-wide VIP track would clash with the demo's; raise the demo's instead."""
    program = app.control.backend("demo").program
    silver, gold = program.tiers()
    program.update_tier(silver.id, threshold=Decimal(5000))
    return silver.id, gold.id


def test_retrieve_and_unknown(api: Api) -> None:
    assert api.ok("/v1/customers/2")["customer"]["first_name"] == "Abe"
    assert api.error(api.get("/v1/customers/999"), 404) == "Customer not found."


def test_include_vip_tier(api: Api, tiers: tuple[int, int]) -> None:
    jane = api.ok("/v1/customers/1", include="vip_tier")["customer"]
    assert jane["vip_tier_id"] == tiers[0]
    assert jane["vip_tier"] == {
        "id": tiers[0],
        "name": "Silver",
        "image_url": "https://platform-images.smilecdn.co/582j2kd82k2j.png",
    }
    assert api.ok("/v1/customers/2", include="vip_tier")["customer"]["vip_tier"] is None
    assert "vip_tier" not in api.ok("/v1/customers/1")["customer"]
    listed = api.ok("/v1/customers", include="vip_tier", limit="1")["customers"]
    assert "vip_tier" in listed[0]


def test_include_vip_status(api: Api, tiers: tuple[int, int]) -> None:
    status = api.ok("/v1/customers/1", include="vip_status")["customer"]["vip_status"]
    assert status == {
        "vip_tier_id": tiers[0],
        "vip_tier_expires_at": None,
        "progress_value": 5500.0,
        "current_vip_period_end": None,
        "delta_to_retain_vip_tier": None,
        "next_vip_tier_id": tiers[1],
        "delta_to_next_vip_tier": 19500.0,
    }
    both = api.ok("/v1/customers/1", include="vip_status.vip_tier, vip_status.next_vip_tier")[
        "customer"
    ]["vip_status"]
    assert both["vip_tier"]["name"] == "Silver" and both["next_vip_tier"]["name"] == "Gold"
    listed = api.ok("/v1/customers", include="vip_status")["customers"]
    assert all("vip_status" in c for c in listed)


def test_vip_tiers_endpoint(api: Api, tiers: tuple[int, int]) -> None:
    plain = api.ok("/v1/vip_tiers")["vip_tiers"]
    assert [(t["name"], t["milestone"]) for t in plain] == [("Silver", 5000.0), ("Gold", 25000.0)]
    assert "perks" not in plain[0]
    full = api.ok("/v1/vip_tiers", include="perks,entry_rewards")["vip_tiers"]
    assert full[1]["perks"] == [{"name": "Early access to new product releases"}]
    assert full[1]["entry_rewards"] == []


def test_list_filters(app: SmileApp, api: Api, clock: ManualClock) -> None:
    by_email = api.ok("/v1/customers", email="ABE@smile.io")["customers"]
    assert [c["id"] for c in by_email] == [2]
    assert api.ok("/v1/customers", email="nobody@smile.io")["customers"] == []
    app.control.create_customer("demo", email="cand@smile.io", state="candidate")
    assert [c["email"] for c in api.ok("/v1/customers", state="candidate")["customers"]] == [
        "cand@smile.io"
    ]
    assert len(api.ok("/v1/customers", state="member")["customers"]) == 10
    recent = api.ok("/v1/customers", updated_at_min="2018-11-03T12:05:29.121Z")["customers"]
    assert [c["id"] for c in recent] == [11, 10, 9]
    clock.advance(5)
    app.control.backend("demo").program.update_member(3, first_name="Samuel")
    touched = api.ok("/v1/customers", updated_at_min="2024-01-01T00:00:01Z")["customers"]
    assert [(c["id"], c["first_name"]) for c in touched] == [(3, "Samuel")]


def test_classic_paging_is_oldest_first(api: Api) -> None:
    page1 = api.ok("/v1/customers", page_size="4")["customers"]
    page3 = api.ok("/v1/customers", page="3", page_size="4")["customers"]
    assert [c["id"] for c in page1] == [1, 2, 3, 4]
    assert [c["id"] for c in page3] == [9, 10]
    assert api.ok("/v1/customers", page="4", page_size="4")["customers"] == []
    default = api.ok("/v1/customers", page="1")
    assert len(default["customers"]) == 10 and "metadata" not in default


def test_customer_identity_create_link_update(app: SmileApp, api: Api) -> None:
    path = "/v1/customer_identities/create_or_update"
    new = {
        "customer_identity": {"email": "jd@doe.com", "distinct_id": "cust_1", "first_name": "Jane"}
    }
    created = api.created(path, new)["customer_identity"]
    assert created == {
        "id": 1,
        "first_name": "Jane",
        "last_name": None,
        "email": "jd@doe.com",
        "distinct_id": "cust_1",
        "properties": {},
        "customer_id": 11,
    }
    assert api.ok("/v1/customers/11")["customer"]["email"] == "jd@doe.com"
    linked = api.created(
        path, {"customer_identity": {"email": "abe@smile.io", "distinct_id": "cust_2"}}
    )
    assert linked["customer_identity"]["customer_id"] == 2
    update = {
        "customer_identity": {
            "email": "new@doe.com",
            "distinct_id": "cust_1",
            "last_name": "Doe",
            "properties": {"tier": "x"},
        }
    }
    response = api.post(path, update)
    assert response.status_code == 200
    assert response.json["customer_identity"]["last_name"] == "Doe"
    assert response.json["customer_identity"]["properties"] == {"tier": "x"}
    assert api.ok("/v1/customers/11")["customer"]["email"] == "jd@doe.com"  # customer untouched
    bad = api.post(path, {"customer_identity": {"email": "no-at-sign", "distinct_id": "cust_3"}})
    assert api.error(bad, 400).startswith("customer_identity.email")
    assert len(api.ok("/v1/customers")["customers"]) == 11
