"""Deduct points (function 3) and return order (function 24): full, partial, pending deduction."""

from __future__ import annotations

import pytest
from ss_client import Api

from fakeservers.shopsocially import errors

DEDUCT_KEYS = {
    "user_id",
    "user_email",
    "user_last_name",
    "user_first_name",
    "id",
    "transaction_type",
    "points",
    "points_status",
    "available_points",
    "partner_id",
    "created_time",
}
RETURN_KEYS = {
    "user_first_name",
    "user_id",
    "auto_approval_date",
    "points_status",
    "returned_for_order_id",
    "transaction_type",
    "user_last_name",
    "reason",
    "points",
    "user_email",
    "created_time",
    "updated_time",
    "partner_id",
    "id",
    "approved_time",
}


@pytest.fixture
def shop(api: Api) -> None:
    api.user("ann@example.com", first_name="Ann", last_name="Lee")
    api.activity(
        "purchase", activity_type="bonus_multiplier", bonus_multiplier=1, points_per_activity=0
    )
    api.activity("signup", points_per_activity=100)


def buy(api: Api, order_id: str, amount: object) -> dict[str, object]:
    status, body = api.award(activity_id="purchase", points_passed=amount, order_id=order_id)
    assert status == 200, body
    return body["data"]  # type: ignore[no-any-return]


def give_back(
    api: Api, order_id: str, amount: object | None = None
) -> tuple[int, dict[str, object]]:
    values: dict[str, object] = {"order_id": order_id}
    if amount is not None:
        values["returned_amount"] = amount
    return api.post("/transaction/return", values)


def test_deduct(api: Api, shop: None) -> None:
    api.award()
    status, body = api.post(
        "/deduct",
        {"user_email": "ann@example.com", "reason": "goodwill reversal", "points_passed": "30"},
    )
    assert status == 200
    data = body["data"]
    assert set(data) >= DEDUCT_KEYS
    assert (data["transaction_type"], data["points_status"]) == ("deduct", "deducted")
    assert data["points"] == 30 and data["available_points"] == 70
    txn = api.ok("GET", f"/transactions/{data['id']}")
    assert txn["reason"] == "goodwill reversal" and txn["points_deducted"] == 30
    assert txn["transaction_type"] == "deduct"
    assert api.balance() == 70


@pytest.mark.parametrize(
    ("fields", "status", "reason"),
    [
        ({"points_passed": "101"}, 400, errors.INSUFFICIENT_POINTS),
        ({"points_passed": "0"}, 400, errors.INVALID_PARAMETERS),
        ({"points_passed": "ten"}, 400, errors.INVALID_PARAMETERS),
        ({"points_passed": ""}, 400, errors.MISSING_PARAMETERS),
        ({"reason": ""}, 400, errors.MISSING_PARAMETERS),
        ({"user_email": "zed@example.com"}, 404, errors.INVALID_USER),
    ],
)
def test_deduct_errors(
    api: Api, shop: None, fields: dict[str, str], status: int, reason: str
) -> None:
    api.award()
    got, body = api.post(
        "/deduct", {"user_email": "ann@example.com", "reason": "r", "points_passed": "10", **fields}
    )
    assert (got, body["reason"]) == (status, reason)
    assert api.balance() == 100


def test_full_return_takes_back_the_orders_points(api: Api, shop: None) -> None:
    buy(api, "O-1", 200)
    api.award()
    status, body = give_back(api, "O-1")
    assert status == 200
    data = body["data"]
    assert set(data) >= RETURN_KEYS
    assert (data["transaction_type"], data["points_status"]) == ("deduct", "deducted")
    assert data["points"] == 200
    assert data["returned_for_order_id"] == "O-1" and data["reason"] == "Order Returned"
    assert api.balance() == 100
    status, body = give_back(api, "O-1")
    assert (status, body["reason"]) == (400, errors.OVER_RETURN)
    assert api.balance() == 100


def test_partial_returns_are_proportional(api: Api, shop: None) -> None:
    api.ok("PUT", "/activities/purchase", {"bonus_multiplier": "2.5"})
    buy(api, "O-2", "80.00")  # 200 points for an 80.00 order
    status, body = give_back(api, "O-2", "20")
    assert status == 200
    assert body["data"]["points"] == 50 and body["data"]["reason"] == "Order Partially Returned"
    assert api.balance() == 150
    status, body = give_back(api, "O-2", "60.01")
    assert (status, body["reason"]) == (400, errors.OVER_RETURN)
    assert api.balance() == 150
    assert give_back(api, "O-2", "60")[1]["data"]["points"] == 150
    assert api.balance() == 0
    assert give_back(api, "O-2")[0] == 400


def test_partial_then_full_return_never_exceeds_the_award(api: Api, shop: None) -> None:
    buy(api, "O-3", 99)
    assert give_back(api, "O-3", "33")[1]["data"]["points"] == 33
    assert give_back(api, "O-3")[1]["data"]["points"] == 66
    assert api.balance() == 0


def test_return_of_spent_points_is_a_pending_deduction(api: Api, shop: None) -> None:
    buy(api, "O-4", 100)
    api.ok(
        "POST", "/deduct", {"user_email": "ann@example.com", "reason": "spent", "points_passed": 80}
    )
    data = give_back(api, "O-4")[1]["data"]
    assert data["points_status"] == "pending_deduction"
    assert data["points"] == 100
    assert api.balance() == 0
    api.award()  # 100 new points pay the 80 owed first
    assert api.balance() == 20
    user_id = api.ok("GET", "/users/ann@example.com")["user_id"]
    points = api.ok("GET", "/users/points", user_id=user_id)
    assert points["deducted_points"] == 80 + 20 + 80  # the deduction, the return, the payoff
    api.award()
    assert api.balance() == 120


def test_return_of_a_pending_award_rejects_it(api: Api, shop: None) -> None:
    api.ok("PUT", "/activities/purchase", {"approval_method": "manual"})
    award = buy(api, "O-5", 40)
    assert award["points_status"] == "pending"
    status, body = give_back(api, "O-5")
    assert status == 200 and body["data"]["points"] == 0
    txn = api.ok("GET", f"/transactions/{award['id']}")
    assert txn["points_status"] == "auto_rejected"
    user = api.ok("GET", "/users/ann@example.com")
    assert user["pending_points"] == 0 and user["available_points"] == 0


def test_partial_return_of_a_fixed_points_order_is_refused(api: Api, shop: None) -> None:
    api.award(order_id="O-6")  # fixed 100 points: the order's value is unknown (0)
    status, body = give_back(api, "O-6", "10")
    assert (status, body["reason"]) == (400, errors.OVER_RETURN)
    assert api.balance() == 100
    assert give_back(api, "O-6")[1]["data"]["points"] == 100
    assert api.balance() == 0


@pytest.mark.parametrize(
    ("order_id", "amount", "status", "reason"),
    [
        ("nope", None, 404, errors.INVALID_ORDER_ID),
        ("", None, 400, errors.MISSING_PARAMETERS),
        ("O-7", "abc", 400, errors.INVALID_PARAMETERS),
        ("O-7", "0", 400, errors.INVALID_PARAMETERS),
        ("O-7", "-5", 400, errors.INVALID_PARAMETERS),
        ("O-7", "50.01", 400, errors.OVER_RETURN),
    ],
)
def test_return_errors_change_nothing(
    api: Api, shop: None, order_id: str, amount: str | None, status: int, reason: str
) -> None:
    buy(api, "O-7", 50)
    got, body = give_back(api, order_id, amount)
    assert (got, body["reason"]) == (status, reason)
    assert api.balance() == 50
    assert api.transactions()["total"] == 1
