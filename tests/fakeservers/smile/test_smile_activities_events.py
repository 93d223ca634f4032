"""Activities (token -> earning rule) and order / customer events."""

from __future__ import annotations

from typing import Any

from smile_client import Api

from fakeservers.smile import SmileApp
from loyaltykit import ManualClock

TOKEN = "activity_f57a9b5a8d0ac5"  # the demo's 100-point earning rule


def balance(app: SmileApp, customer_id: int) -> int:
    return app.control.backend("demo").program.member(customer_id).balance


def activity(**fields: Any) -> dict[str, Any]:
    return {"activity": {"customer_id": 2, "token": TOKEN, **fields}}


def event(topic: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"event": {"topic": topic, "data": data}}


# -- activities ---------------------------------------------------------------------


def test_activity_awards_its_rule_and_is_echoed(app: SmileApp, api: Api) -> None:
    body = api.created(
        "/v1/activities",
        activity(
            distinct_id="212993",
            properties={"grand_total": 115.0},
            created_on_origin_at="2023-04-04T15:10:42.030Z",
            updated_on_origin_at="2023-04-04T15:10:42.030Z",
        ),
    )["activity"]
    assert body == {
        "id": 1,
        "customer_id": 2,
        "token": TOKEN,
        "properties": {"grand_total": 115.0},
        "distinct_id": "212993",
        "created_on_origin_at": "2023-04-04T15:10:42.030Z",
        "updated_on_origin_at": "2023-04-04T15:10:42.030Z",
        "created_at": "2024-01-01T00:00:00.000Z",
        "updated_at": "2024-01-01T00:00:00.000Z",
    }
    assert balance(app, 2) == 4300
    txn = api.ok("/v1/points_transactions", customer_id="2")["points_transactions"][0]
    assert (txn["points_change"], txn["description"]) == (100, "Complete an activity")


def test_distinct_id_makes_an_activity_award_once(app: SmileApp, api: Api) -> None:
    api.created("/v1/activities", activity(distinct_id="A1"))
    again = api.post("/v1/activities", activity(distinct_id="A1"))
    assert again.status_code == 200 and again.json["activity"]["id"] == 1
    assert balance(app, 2) == 4300
    api.created("/v1/activities", activity(distinct_id="A2"))
    api.created("/v1/activities", activity())  # no distinct id: every call counts
    assert balance(app, 2) == 4500


def test_distinct_id_may_be_a_number(api: Api) -> None:
    body = api.created("/v1/activities", activity(distinct_id=212993))["activity"]
    assert body["distinct_id"] == "212993"


def test_activity_before_the_program_started_earns_nothing(app: SmileApp, api: Api) -> None:
    body = api.created("/v1/activities", activity(created_on_origin_at="2016-12-31T23:59:59Z"))
    assert body["activity"]["created_on_origin_at"] == "2016-12-31T23:59:59.000Z"
    assert balance(app, 2) == 4200
    api.created("/v1/activities", activity(created_on_origin_at="2017-01-01T00:00:00Z"))
    assert balance(app, 2) == 4300


def test_updated_on_origin_at_keeps_the_latest_update(api: Api, clock: ManualClock) -> None:
    first = activity(
        distinct_id="ord-1", properties={"v": 2}, updated_on_origin_at="2023-05-02T00:00:00Z"
    )
    api.created("/v1/activities", first)
    clock.advance(10)
    stale = activity(
        distinct_id="ord-1", properties={"v": 1}, updated_on_origin_at="2023-05-01T00:00:00Z"
    )
    kept = api.post("/v1/activities", stale).json["activity"]
    assert kept["properties"] == {"v": 2}
    assert kept["updated_at"] == "2024-01-01T00:00:00.000Z"
    fresh = activity(
        distinct_id="ord-1", properties={"v": 3}, updated_on_origin_at="2023-05-03T00:00:00Z"
    )
    newer = api.post("/v1/activities", fresh).json["activity"]
    assert newer["properties"] == {"v": 3}
    assert newer["updated_on_origin_at"] == "2023-05-03T00:00:00.000Z"
    assert newer["updated_at"] == "2024-01-01T00:00:10.000Z"


def test_activity_by_customer_email(app: SmileApp, api: Api) -> None:
    body = {"activity": {"customer_email": "abe@smile.io", "token": TOKEN}}
    assert api.created("/v1/activities", body)["activity"]["customer_id"] == 2
    unknown = {"activity": {"customer_email": "who@smile.io", "token": TOKEN}}
    assert api.error(api.post("/v1/activities", unknown), 404) == "Customer not found."


def test_activity_refusals_change_nothing(app: SmileApp, api: Api) -> None:
    program = app.control.backend("demo").program
    before = program.state()
    assert api.error(api.post("/v1/activities", activity(token="nope")), 404) == (
        "Earning rule not found."
    )
    assert api.error(
        api.post("/v1/activities", {"activity": {"customer_id": 99, "token": TOKEN}}), 404
    )
    assert api.error(
        api.post("/v1/activities", activity(created_on_origin_at="soon")), 400
    ).startswith("activity.created_on_origin_at")
    assert program.state() == before
    assert app.control.backend("demo").activities == {}


def test_activity_earning_limit_is_402(app: SmileApp, api: Api) -> None:
    app.control.create_earning_rule(
        "demo", name="Daily visit", token="visit", points=5, max_awards=1, window="day"
    )
    api.created("/v1/activities", activity(token="visit"))
    refused = api.post("/v1/activities", activity(token="visit"))
    assert api.error(refused, 402) == "The earning limit for this activity has been reached."
    assert balance(app, 2) == 4205


def test_multiplier_activity_needs_rewardable_total(app: SmileApp, api: Api) -> None:
    app.control.create_earning_rule("demo", name="Spend", token="spend", points_per_dollar=2)
    assert api.error(api.post("/v1/activities", activity(token="spend")), 400).startswith(
        "activity.properties.rewardable_total"
    )
    api.created("/v1/activities", activity(token="spend", properties={"rewardable_total": 12.5}))
    assert balance(app, 2) == 4225


# -- order events -------------------------------------------------------------------


def order(external_id: str = "100", **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "external_id": external_id,
        "subtotal": 200,
        "grand_total": 230,
        "rewardable_total": 200,
        "external_created_at": "2023-11-19T21:19:30.559Z",
        "external_updated_at": "2023-12-03T11:17:35.159Z",
        "payment_status": "paid",
        "coupons": [],
        "customer": {"external_id": "c-1", "email": "abe@smile.io", "first_name": "Abe"},
    }
    data.update(fields)
    return event("order/updated", data)


def test_paid_order_earns_once_and_refund_revokes(app: SmileApp, api: Api) -> None:
    response = api.post("/v1/events", order())
    assert response.status_code == 202 and response.json == {"event": {"topic": "order/updated"}}
    assert balance(app, 2) == 5200  # 5 points per $1 of rewardable_total
    api.post("/v1/events", order())
    assert balance(app, 2) == 5200
    refunded = order(payment_status="refunded", external_updated_at="2023-12-04T00:00:00Z")
    assert api.post("/v1/events", refunded).status_code == 202
    assert balance(app, 2) == 4200
    changes = [
        t["points_change"]
        for t in api.ok("/v1/points_transactions", customer_id="2")["points_transactions"]
    ]
    assert changes[:2] == [-1000, 1000]


def test_unpaid_order_earns_nothing_until_paid(app: SmileApp, api: Api) -> None:
    api.post("/v1/events", order(payment_status=None, external_updated_at="2023-12-01T00:00:00Z"))
    assert balance(app, 2) == 4200
    api.post("/v1/events", order())
    assert balance(app, 2) == 5200


def test_older_update_is_ignored(app: SmileApp, api: Api) -> None:
    api.post("/v1/events", order())
    stale = order(payment_status="refunded", external_updated_at="2023-12-01T00:00:00Z")
    assert api.post("/v1/events", stale).status_code == 202
    assert balance(app, 2) == 5200


def test_negative_rewardable_total_counts_as_zero(app: SmileApp, api: Api) -> None:
    api.post("/v1/events", order(rewardable_total=-50))
    assert balance(app, 2) == 4200
    assert app.control.backend("demo").program.order("100").amount == 0


def test_guest_order_earns_nothing(app: SmileApp, api: Api) -> None:
    program = app.control.backend("demo").program
    before = sum(m.balance for m in program.members())
    assert api.post("/v1/events", order(customer=None)).status_code == 202
    assert sum(m.balance for m in program.members()) == before
    assert program.order("100").member_id is None


def test_order_for_a_new_customer_creates_it(app: SmileApp, api: Api) -> None:
    customer = {
        "external_id": "c-9",
        "email": "wayne@smile.io",
        "first_name": "Wayne",
        "last_name": "Rooney",
    }
    api.post("/v1/events", order(customer=customer))
    found = api.ok("/v1/customers", email="wayne@smile.io")["customers"]
    assert [(c["id"], c["first_name"], c["points_balance"]) for c in found] == [(11, "Wayne", 1000)]


def test_order_deleted_cancels_its_points(app: SmileApp, api: Api) -> None:
    api.post("/v1/events", order())
    assert api.post("/v1/events", event("order/deleted", {"external_id": "100"})).status_code == 202
    assert balance(app, 2) == 4200
    missing = api.post("/v1/events", event("order/deleted", {"external_id": "nope"}))
    assert api.error(missing, 404) == "Order not found."


def test_coupon_completes_a_referral(app: SmileApp, api: Api) -> None:
    program = app.control.backend("demo").program
    program.set_referral_rewards(sender_points=250)
    friend = app.control.create_customer("demo", email="friend@smile.io", external_id="f-1")
    program.refer(1, receiver_id=friend.id)
    code = program.member(1).profile.referral_code
    assert code == "j2Fw55"  # the code of Jane's documented referral URL (docs/smile.md A19)
    api.post("/v1/events", order("200", coupons=[{"code": code}], customer={"external_id": "f-1"}))
    assert balance(app, 1) == 5250
    assert balance(app, friend.id) == 1000


def test_order_event_validation(app: SmileApp, api: Api) -> None:
    program = app.control.backend("demo").program
    before = program.state()
    bad_status = api.post("/v1/events", order(payment_status="pending"))
    assert api.error(bad_status, 400).startswith("event.data.payment_status")
    bad_total = api.post("/v1/events", order(rewardable_total="lots"))
    assert api.error(bad_total, 400).startswith("event.data.rewardable_total")
    bad_coupons = api.post("/v1/events", order(coupons="5off"))
    assert api.error(bad_coupons, 400).startswith("event.data.coupons")
    no_id = api.post("/v1/events", event("order/updated", {"payment_status": "paid"}))
    assert api.error(no_id, 400).startswith("event.data.external_id")
    assert program.state() == before


# -- customer events ----------------------------------------------------------------


def test_customer_updated_creates_then_updates(api: Api) -> None:
    data = {"external_id": "1", "first_name": "Wayne", "last_name": "Rooney", "email": "w@smile.io"}
    assert api.post("/v1/events", event("customer/updated", data)).status_code == 202
    created = api.ok("/v1/customers", email="w@smile.io")["customers"][0]
    assert (created["first_name"], created["state"]) == ("Wayne", "member")
    renamed = {**data, "first_name": "Coleen", "email": "c@smile.io"}
    api.post("/v1/events", event("customer/updated", renamed))
    updated = api.ok(f"/v1/customers/{created['id']}")["customer"]
    assert (updated["first_name"], updated["email"]) == ("Coleen", "c@smile.io")


def test_customer_updated_links_an_existing_email(api: Api) -> None:
    data = {"external_id": "shop-1", "email": "jane@smile.io", "first_name": "Janet"}
    api.post("/v1/events", event("customer/updated", data))
    assert api.ok("/v1/customers/1")["customer"]["first_name"] == "Janet"
    assert len(api.ok("/v1/customers")["customers"]) == 10


def test_customer_deleted_disables(app: SmileApp, api: Api) -> None:
    api.post("/v1/events", event("customer/updated", {"external_id": "x1", "email": "x@smile.io"}))
    assert (
        api.post("/v1/events", event("customer/deleted", {"external_id": "x1"})).status_code == 202
    )
    disabled = api.ok("/v1/customers", state="disabled")["customers"]
    assert [c["email"] for c in disabled] == ["x@smile.io"]
    assert api.error(api.post("/v1/events", event("customer/deleted", {"external_id": "zz"})), 404)
