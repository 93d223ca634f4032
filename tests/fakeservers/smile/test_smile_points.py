"""Points products, purchases, points transactions and reward fulfillments."""

from __future__ import annotations

from decimal import Decimal

import pytest
from smile_client import Api

from fakeservers.smile import SmileApp
from loyaltykit import ManualClock

LIST_DOC_ORDER = [
    "id",
    "name",
    "code",
    "customer_id",
    "fulfillment_status",
    "image_url",
    "action_text",
    "action_url",
    "usage_instructions",
    "terms_and_conditions",
    "expires_at",
    "usage_status",
    "used_at",
    "created_at",
    "updated_at",
]
"""Keys of the example in smile-list-reward-fulfillments.txt, in order: also the reward
fulfillment embedded in a purchase (the reference's 12 keys and the schema's
`customer_id`, `fulfillment_status` and `usage_status`; docs/smile.md A15)."""


@pytest.fixture
def variable(app: SmileApp) -> int:
    """A "$1 off per 100 points" product: 100..1000 points in steps of 100."""
    return app.control.create_points_product(
        "demo",
        name="$1 off",
        exchange_type="variable",
        variable_points_step=100,
        variable_points_step_reward_value=Decimal(1),
        variable_points_min=100,
        variable_points_max=1000,
        code_prefix="discount",
    ).id


def balance(app: SmileApp, customer_id: int) -> int:
    return app.control.backend("demo").program.member(customer_id).balance


# -- points products ----------------------------------------------------------------


def test_points_products_list_filter_and_classic_paging(api: Api, variable: int) -> None:
    listed = api.ok("/v1/points_products")["points_products"]
    assert [p["id"] for p in listed] == [1, 2, variable]
    assert "metadata" not in api.ok("/v1/points_products")
    fixed = api.ok("/v1/points_products", exchange_type="fixed")["points_products"]
    assert [p["exchange_type"] for p in fixed] == ["fixed", "fixed"]
    var = api.ok("/v1/points_products", exchange_type="variable")["points_products"]
    assert var == [api.ok(f"/v1/points_products/{variable}")["points_product"]]
    assert var[0]["points_price"] is None
    assert var[0]["variable_points_step"] == 100
    assert var[0]["variable_points_step_reward_value"] == 1
    assert (var[0]["variable_points_min"], var[0]["variable_points_max"]) == (100, 1000)
    page2 = api.ok("/v1/points_products", page="2", page_size="2")["points_products"]
    assert [p["id"] for p in page2] == [variable]
    assert api.ok("/v1/points_products", page="3", page_size="2")["points_products"] == []


def test_inactive_products_are_not_listed(app: SmileApp, api: Api) -> None:
    app.control.create_points_product("demo", name="Old", points_price=5, active=False)
    assert [p["id"] for p in api.ok("/v1/points_products")["points_products"]] == [1, 2]


def test_unknown_points_product_is_404(api: Api) -> None:
    assert api.error(api.get("/v1/points_products/99"), 404) == "Points product not found."


# -- purchases ----------------------------------------------------------------------


def test_fixed_purchase_spends_the_price_and_issues_a_code(app: SmileApp, api: Api) -> None:
    body = api.created("/v1/points_products/1/purchase", {"customer_id": 2})["points_purchase"]
    assert body["customer_id"] == 2 and body["points_product_id"] == 1
    assert body["points_spent"] == 500
    fulfillment = body["reward_fulfillment"]
    assert list(fulfillment) == LIST_DOC_ORDER
    assert (fulfillment["customer_id"], fulfillment["fulfillment_status"]) == (2, "issued")
    assert fulfillment["usage_status"] == "unused"
    assert fulfillment["name"] == "Free T-shirt"
    assert fulfillment["code"].startswith("tshirt-")
    assert fulfillment["created_at"] == body["created_at"] == "2024-01-01T00:00:00.000Z"
    assert balance(app, 2) == 3700
    txns = api.ok("/v1/points_transactions", customer_id="2")["points_transactions"]
    assert txns[0]["points_change"] == -500
    assert txns[0]["description"] == "Spent points on reward - Free T-shirt"
    assert api.ok(f"/v1/points_purchases/{body['id']}")["points_purchase"] == body


def test_fixed_purchase_ignores_points_to_spend(app: SmileApp, api: Api) -> None:
    body = api.created("/v1/points_products/2/purchase", {"customer_id": 1, "points_to_spend": 7})
    assert body["points_purchase"]["points_spent"] == 1000
    assert balance(app, 1) == 4000


def test_variable_purchase_value_comes_from_the_step_value(
    app: SmileApp, api: Api, variable: int
) -> None:
    body = api.created(
        f"/v1/points_products/{variable}/purchase", {"customer_id": 1, "points_to_spend": 300}
    )["points_purchase"]
    assert body["points_spent"] == 300
    assert body["reward_fulfillment"]["code"].startswith("discount-")
    program = app.control.backend("demo").program
    assert program.fulfillment(body["reward_fulfillment"]["id"]).value == Decimal(3)
    assert balance(app, 1) == 4700


@pytest.mark.parametrize(
    ("points", "status", "fragment"),
    [
        (None, 400, "points_to_spend is required"),
        (50, 400, "below the minimum"),
        (1100, 400, "above the maximum"),
        (250, 400, "not a multiple of 100"),
        (0, 400, "at least 1"),
        ("many", 400, "must be an integer"),
    ],
)
def test_variable_purchase_refusals_name_points_to_spend_and_change_nothing(
    app: SmileApp, api: Api, variable: int, points: object, status: int, fragment: str
) -> None:
    program = app.control.backend("demo").program
    before = program.state()
    body = {"customer_id": 1} if points is None else {"customer_id": 1, "points_to_spend": points}
    message = api.error(api.post(f"/v1/points_products/{variable}/purchase", body), status)
    assert message.startswith("points_to_spend") and fragment in message
    assert program.state() == before


def test_not_enough_points_is_402_and_spends_nothing(app: SmileApp, api: Api) -> None:
    response = api.post("/v1/points_products/2/purchase", {"customer_id": 3})
    assert api.error(response, 402) == "Customer does not have enough points."
    assert balance(app, 3) == 0
    assert api.ok("/v1/reward_fulfillments", customer_id="3")["reward_fulfillments"] == []


def test_exhausted_pool_is_402_and_spends_nothing(app: SmileApp, api: Api) -> None:
    offer = app.control.create_points_product("demo", name="One", points_price=10, codes=["ONLY1"])
    first = api.created(f"/v1/points_products/{offer.id}/purchase", {"customer_id": 1})
    assert first["points_purchase"]["reward_fulfillment"]["code"] == "ONLY1"
    second = api.post(f"/v1/points_products/{offer.id}/purchase", {"customer_id": 1})
    assert api.error(second, 402) == "This reward is no longer available."
    assert balance(app, 1) == 4990


def test_purchase_for_unknown_or_disabled_customer(app: SmileApp, api: Api) -> None:
    assert api.error(api.post("/v1/points_products/1/purchase", {"customer_id": 99}), 404) == (
        "Customer not found."
    )
    app.control.backend("demo").program.remove_member(2)
    response = api.post("/v1/points_products/1/purchase", {"customer_id": 2})
    assert api.error(response, 402) == "Customer is disabled."


def test_points_purchases_list_filters_and_pages(
    app: SmileApp, api: Api, clock: ManualClock
) -> None:
    ids = [
        api.created("/v1/points_products/1/purchase", {"customer_id": c})["points_purchase"]["id"]
        for c in (1, 2)
    ]
    clock.advance(60)
    later = api.created("/v1/points_products/1/purchase", {"customer_id": 1})["points_purchase"][
        "id"
    ]
    listed = api.ok("/v1/points_purchases")["points_purchases"]
    assert [p["id"] for p in listed] == [later, *reversed(ids)]
    assert [
        p["id"] for p in api.ok("/v1/points_purchases", customer_id="1")["points_purchases"]
    ] == [later, ids[0]]
    recent = api.ok("/v1/points_purchases", updated_at_min="2024-01-01T00:00:30Z")
    assert [p["id"] for p in recent["points_purchases"]] == [later]
    assert api.error(api.get("/v1/points_purchases/99"), 404) == "Points purchase not found."


# -- points transactions ------------------------------------------------------------


def _txn(
    customer_id: object, change: object, description: object = "Thanks", **extra: object
) -> dict[str, object]:
    return {
        "points_transaction": {
            "customer_id": customer_id,
            "points_change": change,
            "description": description,
            **extra,
        }
    }


def test_create_points_transaction_credit_and_debit(app: SmileApp, api: Api) -> None:
    credit = api.created("/v1/points_transactions", _txn(1, 1000, internal_note="loyal customer"))[
        "points_transaction"
    ]
    assert credit == {
        "id": credit["id"],
        "customer_id": 1,
        "points_change": 1000,
        "description": "Thanks",
        "internal_note": "loyal customer",
        "created_at": "2024-01-01T00:00:00.000Z",
        "updated_at": "2024-01-01T00:00:00.000Z",
    }
    assert api.ok(f"/v1/points_transactions/{credit['id']}")["points_transaction"] == credit
    debit = api.created("/v1/points_transactions", _txn(1, -6000))["points_transaction"]
    assert debit["points_change"] == -6000 and debit["internal_note"] is None
    assert balance(app, 1) == 0


@pytest.mark.parametrize(
    ("body", "status", "start"),
    [
        (_txn(1, 0), 400, "points_transaction.points_change"),
        (_txn(1, 1.5), 400, "points_transaction.points_change"),
        (_txn(1, True), 400, "points_transaction.points_change"),
        (_txn(1, 5, description=None), 400, "points_transaction.description"),
        (_txn(1, 5, description=7), 400, "points_transaction.description"),
        (_txn(1, -5001), 402, "Customer does not have enough points."),
        (_txn(99, 5), 404, "Customer not found."),
        (
            {"customer_id": 1, "points_change": 5, "description": "unwrapped"},
            400,
            "points_transaction",
        ),
    ],
)
def test_refused_points_transactions_change_nothing(
    app: SmileApp, api: Api, body: dict[str, object], status: int, start: str
) -> None:
    program = app.control.backend("demo").program
    before = program.state()
    assert api.error(api.post("/v1/points_transactions", body), status).startswith(start)
    assert program.state() == before


def test_points_transactions_list_filters_and_classic_paging(api: Api, clock: ManualClock) -> None:
    clock.advance(3600)
    made = api.created("/v1/points_transactions", _txn(2, 10))["points_transaction"]
    recent = api.ok("/v1/points_transactions", updated_at_min="2024-01-01T00:30:00Z")
    assert recent["points_transactions"] == [made]
    jane = api.ok("/v1/points_transactions", customer_id="1")["points_transactions"]
    assert [t["id"] for t in jane] == [3, 2, 1]
    assert {t["customer_id"] for t in jane} == {1}
    assert api.ok("/v1/points_transactions", customer_id="99")["points_transactions"] == []
    classic = api.ok("/v1/points_transactions", page="2", page_size="2")
    assert [t["id"] for t in classic["points_transactions"]] == [3, 4]
    assert "metadata" not in classic


def test_pending_awards_are_not_exposed(app: SmileApp, api: Api) -> None:
    from loyaltykit import Approval

    program = app.control.backend("demo").program
    rule = program.add_rule(name="Review", points=50, trigger="review", approval=Approval.MANUAL)
    pending = program.award(1, rule.id)
    assert api.error(api.get(f"/v1/points_transactions/{pending.id}"), 404)
    listed = api.ok("/v1/points_transactions", customer_id="1")["points_transactions"]
    assert pending.id not in [t["id"] for t in listed]
    program.approve(pending.id)
    assert (
        api.ok(f"/v1/points_transactions/{pending.id}")["points_transaction"]["points_change"] == 50
    )


# -- reward fulfillments ------------------------------------------------------------


def test_reward_fulfillments_list_shape_filters_and_order(
    app: SmileApp, api: Api, clock: ManualClock
) -> None:
    first = api.created("/v1/points_products/1/purchase", {"customer_id": 1})["points_purchase"]
    clock.advance(60)
    second = api.created("/v1/points_products/1/purchase", {"customer_id": 2})["points_purchase"]
    listed = api.ok("/v1/reward_fulfillments")
    items = listed["reward_fulfillments"]
    assert [f["id"] for f in items] == [
        second["reward_fulfillment"]["id"],
        first["reward_fulfillment"]["id"],
    ]
    assert list(items[0]) == LIST_DOC_ORDER
    assert items[0]["customer_id"] == "2"
    assert (items[0]["fulfillment_status"], items[0]["usage_status"]) == ("issued", "unused")
    assert listed["metadata"] == {"next_cursor": None, "previous_cursor": None}
    only_jane = api.ok("/v1/reward_fulfillments", customer_id="1")["reward_fulfillments"]
    assert [f["customer_id"] for f in only_jane] == ["1"]
    assert (
        api.ok("/v1/reward_fulfillments", fulfillment_status="cancelled")["reward_fulfillments"]
        == []
    )
    assert (
        len(api.ok("/v1/reward_fulfillments", fulfillment_status="issued")["reward_fulfillments"])
        == 2
    )
    recent = api.ok("/v1/reward_fulfillments", updated_at_min="2024-01-01T00:00:30.000Z")
    assert [f["customer_id"] for f in recent["reward_fulfillments"]] == ["2"]

    code = first["reward_fulfillment"]["code"]
    clock.advance(60)
    order = {
        "external_id": "o-1",
        "rewardable_total": 10,
        "payment_status": "paid",
        "coupons": [{"code": code}],
        "customer": {"external_id": "jane-1", "email": "jane@smile.io"},
    }
    assert (
        api.post("/v1/events", {"event": {"topic": "order/updated", "data": order}}).status_code
        == 202
    )
    used = api.ok("/v1/reward_fulfillments", usage_status="used")["reward_fulfillments"]
    assert [f["code"] for f in used] == [code]
    assert used[0]["used_at"] == "2024-01-01T00:02:00.000Z"
    unused = api.ok("/v1/reward_fulfillments", usage_status="unused")["reward_fulfillments"]
    assert [f["customer_id"] for f in unused] == ["2"]
