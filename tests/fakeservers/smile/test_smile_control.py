"""The control plane: Smile's creation routes, their Python twins, reset and the clock."""

from __future__ import annotations

from smile_client import Api
from werkzeug.test import Client

from fakeservers.smile import SmileApp
from loyaltykit import ManualClock


def test_create_customer_route_and_twin(app: SmileApp, api: Api) -> None:
    client = Client(app)
    response = client.post(
        "/_fake/tenants/demo/customers",
        json={
            "email": "new@smile.io",
            "first_name": "New",
            "date_of_birth": "1990-01-02",
            "points_balance": 300,
            "state": "candidate",
        },
    )
    assert response.status_code == 201
    made = response.json["customer"]
    assert (made["id"], made["points_balance"], made["state"]) == (11, 300, "candidate")
    assert api.ok("/v1/customers/11")["customer"] == made
    twin = app.control.create_customer("demo", email="twin@smile.io", points_balance=7)
    assert api.ok(f"/v1/customers/{twin.id}")["customer"]["points_balance"] == 7


def test_create_product_rule_and_tier_routes(app: SmileApp, api: Api) -> None:
    client = Client(app)
    product = client.post(
        "/_fake/tenants/demo/points_products",
        json={
            "name": "$5 off",
            "points_price": 500,
            "code_prefix": "5off",
            "usage_instructions": "Use this discount code on your next order!",
            "expires_in_days": 30,
        },
    )
    assert product.status_code == 201
    assert product.json["points_product"]["exchange_description"] == "500 Pins"
    pid = product.json["points_product"]["id"]
    bought = api.created(f"/v1/points_products/{pid}/purchase", {"customer_id": 1})
    fulfillment = bought["points_purchase"]["reward_fulfillment"]
    assert fulfillment["code"].startswith("5off-")
    assert fulfillment["usage_instructions"] == "Use this discount code on your next order!"
    assert fulfillment["expires_at"] == "2024-01-31T00:00:00.000Z"

    rule = client.post(
        "/_fake/tenants/demo/earning_rules",
        json={"name": "Follow us", "token": "follow", "points": 25, "max_awards": 1},
    )
    assert rule.status_code == 201
    assert rule.json["earning_rule"]["earning_limit"] == {"max": 1, "type": "lifetime"}
    assert rule.json["earning_rule"] in api.ok("/v1/earning_rules")["earning_rules"]
    weekly = app.control.create_earning_rule(
        "demo", name="W", token="w", points=1, max_awards=2, window="week"
    )
    listed = {r["id"]: r for r in api.ok("/v1/earning_rules")["earning_rules"]}
    assert listed[weekly.id]["earning_limit"] == {
        "max": 2,
        "type": "rolling",
        "rolling": {"unit": "day", "unit_count": 7},
    }

    tier = client.post(
        "/_fake/tenants/demo/vip_tiers",
        json={"name": "Bronze", "milestone": 1000, "perks": ["Free shipping"]},
    )
    assert tier.status_code == 201
    assert tier.json["vip_tier"]["perks"] == [{"name": "Free shipping"}]
    assert api.ok("/v1/customers/1")["customer"]["vip_tier_id"] == tier.json["vip_tier"]["id"]


def test_control_errors_use_the_control_format(app: SmileApp) -> None:
    client = Client(app)
    unknown = client.post("/_fake/tenants/nobody/customers", json={})
    assert unknown.status_code == 404 and unknown.json["error"]["code"] == "unknown_tenant"
    bad = client.post("/_fake/tenants/demo/customers", json={"points_balance": -1})
    assert bad.status_code == 400 and "points_balance" in bad.json["error"]["message"]
    dup = client.post("/_fake/tenants/demo/customers", json={"email": "jane@smile.io"})
    assert dup.status_code == 400 and dup.json["error"]["code"] == "duplicate_member"
    no_name = client.post("/_fake/tenants/demo/points_products", json={})
    assert no_name.status_code == 400
    both = client.post("/_fake/tenants/demo/earning_rules", json={"name": "x", "token": "t"})
    assert both.status_code == 400
    bad_tier = client.post("/_fake/tenants/demo/vip_tiers", json={"name": "x", "milestone": "lots"})
    assert bad_tier.status_code == 400


def test_reset_restores_the_seeded_demo(app: SmileApp, api: Api) -> None:
    original = api.ok("/v1/customers")
    bought = api.created("/v1/points_products/1/purchase", {"customer_id": 1})
    app.control.create_customer("demo", email="extra@smile.io")
    assert api.ok("/v1/customers") != original
    assert Client(app).post("/_fake/tenants/demo/reset").json == {"reset": ["demo"]}
    assert api.ok("/v1/customers") == original
    assert api.ok("/v1/reward_fulfillments")["reward_fulfillments"] == []
    again = api.created("/v1/points_products/1/purchase", {"customer_id": 1})
    code = again["points_purchase"]["reward_fulfillment"]["code"]
    assert code == bought["points_purchase"]["reward_fulfillment"]["code"]  # deterministic


def test_new_tenant_seeded_with_the_demo(app: SmileApp, api: Api) -> None:
    response = Client(app).post(
        "/_fake/tenants", json={"name": "copy", "credentials": ["copy_key"], "seed": "demo"}
    )
    assert response.status_code == 201
    assert api.as_key("copy_key").ok("/v1/customers/1") == api.ok("/v1/customers/1")


def test_clock_routes_drive_timestamps(app: SmileApp, api: Api, clock: ManualClock) -> None:
    client = Client(app)
    assert client.post("/_fake/clock", json={"now": "2025-06-01T12:00:00Z"}).status_code == 200
    assert client.post("/_fake/clock/advance", json={"seconds": 1.5}).json == {
        "now": "2025-06-01T12:00:01.500000Z"
    }
    body = {"points_transaction": {"customer_id": 1, "points_change": 1, "description": "x"}}
    made = api.created("/v1/points_transactions", body)["points_transaction"]
    assert made["created_at"] == "2025-06-01T12:00:01.500Z"
    assert app.control.now() == clock.now()


def test_default_clock_is_wall_time_that_the_control_plane_can_move() -> None:
    from fakeservers.smile import create_app

    app = create_app()
    client = Client(app)
    assert client.post("/_fake/clock", json={"now": "2030-01-01T00:00:00Z"}).status_code == 200
    api = Api(client, "test_cnzGMghxTmPzK1spPraT")
    body = {"points_transaction": {"customer_id": 1, "points_change": 1, "description": "x"}}
    made = api.created("/v1/points_transactions", body)["points_transaction"]
    assert made["created_at"].startswith("2030-01-01T00:00:0")
    assert api.ok("/v1/customers/1")["customer"]["created_at"] == "2017-04-04T15:10:42.030Z"
