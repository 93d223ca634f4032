"""Transactions (functions 4, 5, 6, 11): date ranges, status filters, paging, per-award usage."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ss_client import Api

from fakeservers.shopsocially import errors
from loyaltykit import ManualClock

LIST_KEYS = {
    "points_status",
    "points_used",
    "available_points",
    "points_expired",
    "created_time",
    "updated_time",
    "id",
    "user_id",
    "points_expiration_date",
    "approved_by",
    "qualified_points",
    "redemption_value",
    "activity_id",
    "user_first_name",
    "order_id",
    "reason",
    "points_deducted",
    "merchant_id",
    "redemptions_list",
    "approved_time",
    "redemption_name",
    "auto_approval_date",
    "transaction_type",
    "user_last_name",
    "coupon_code",
    "points",
    "redemption_id",
    "activity_name",
    "user_email",
    "partner_id",
}


@pytest.fixture
def setup(api: Api) -> None:
    api.user("ann@example.com")
    api.user("bob@example.com", first_name="Bob")
    api.activity("signup", points_per_activity=10)
    api.activity("review", approval_method="manual", points_per_activity=5)


def test_list_shape_and_newest_first(api: Api, setup: None, clock: ManualClock) -> None:
    first = api.award()[1]["data"]
    clock.advance(60)
    second = api.award("bob@example.com")[1]["data"]
    data = api.transactions(from_date="01/01/2024", to_date="01/01/2024")
    assert set(data) == {"total", "next_start_index", "transactions", "more"}
    assert data["total"] == 2 and data["more"] is False and data["next_start_index"] == 10
    rows = data["transactions"]
    assert [row["id"] for row in rows] == [second["id"], first["id"]]
    assert set(rows[0]) == LIST_KEYS
    assert rows[0]["user_first_name"] == "Bob"
    assert rows[1]["points_status"] == "auto_approved"
    assert rows[1]["available_points"] == 10 and rows[1]["points_used"] == 0
    assert rows[1]["approved_time"] == "01-Jan-2024 12:00:00"


def test_date_range_is_inclusive_of_whole_days(api: Api, setup: None, clock: ManualClock) -> None:
    clock.set(clock.now().replace(hour=0, minute=0, second=0))
    api.award()  # 01-Jan 00:00:00
    clock.set(clock.now().replace(hour=23, minute=59, second=59))
    api.award()  # 01-Jan 23:59:59
    clock.advance(1)
    api.award()  # 02-Jan 00:00:00
    assert api.transactions(from_date="01/01/2024", to_date="01/01/2024")["total"] == 2
    assert api.transactions(from_date="01/02/2024", to_date="01/02/2024")["total"] == 1
    assert api.transactions(from_date="12/01/2023", to_date="12/31/2023")["total"] == 0
    assert api.transactions(from_date="01/02/2024", to_date="01/01/2024")["total"] == 0
    assert api.transactions(from_date="1/1/2024", to_date="1/2/2024")["total"] == 3


@pytest.mark.parametrize("missing", ["from_date", "to_date"])
def test_dates_are_required(api: Api, missing: str) -> None:
    query = {"from_date": "01/01/2024", "to_date": "01/31/2024"}
    del query[missing]
    status, body = api.get("/transactions", **query)
    assert (status, body["reason"]) == (400, errors.MISSING_PARAMETERS)


@pytest.mark.parametrize(
    "bad",
    [
        "2024-01-01",
        "13/01/2024",
        "01/32/2024",
        "02/30/2024",
        "01-Jan-2024",
        "yesterday",
        "01/01/24",
    ],
)
def test_dates_must_be_mm_dd_yyyy(api: Api, bad: str) -> None:
    for query in (
        {"from_date": bad, "to_date": "01/31/2024"},
        {"from_date": "01/01/2024", "to_date": bad},
    ):
        status, body = api.get("/transactions", **query)
        assert (status, body["reason"]) == (400, errors.UNEXPECTED_DATE_FORMAT)


def test_status_filter_takes_a_json_list(api: Api, setup: None) -> None:
    api.award()
    pending = api.award(activity_id="review")[1]["data"]
    rejected = api.award(activity_id="review")[1]["data"]
    api.ok("PUT", f"/transactions/{rejected['id']}", {"points_status": "rejected"})

    def statuses(value: object) -> list[str]:
        rows = api.transactions(points_status=value)["transactions"]
        return sorted(row["points_status"] for row in rows)

    assert statuses(["pending"]) == ["pending"]
    assert statuses(["approved", "auto_approved"]) == ["auto_approved"]
    assert statuses('["pending","rejected"]') == ["pending", "rejected"]
    assert statuses("['rejected']") == ["rejected"]  # the 2017 page's Python-style list
    assert statuses("pending") == ["pending"]
    assert statuses([]) == ["auto_approved", "pending", "rejected"]
    assert statuses(["expired"]) == []
    assert api.transactions(points_status=["pending"])["transactions"][0]["id"] == pending["id"]


def test_malformed_status_filter_is_refused(api: Api) -> None:
    status, body = api.get(
        "/transactions", from_date="01/01/2024", to_date="01/01/2024", points_status='["approved"'
    )
    assert (status, body["reason"]) == (400, errors.INVALID_PARAMETERS)


def test_paging_ten_at_a_time(api: Api, setup: None, clock: ManualClock) -> None:
    ids = []
    for _ in range(23):
        ids.append(api.award()[1]["data"]["id"])
        clock.advance(1)
    newest_first = list(reversed(ids))
    seen: list[str] = []
    start = 0
    pages = []
    while True:
        data = api.transactions(start_index=start)
        pages.append(data)
        assert data["total"] == 23
        seen.extend(row["id"] for row in data["transactions"])
        if not data["more"]:
            break
        start = data["next_start_index"]
    assert seen == newest_first
    assert [len(p["transactions"]) for p in pages] == [10, 10, 3]
    assert [p["next_start_index"] for p in pages] == [10, 20, 30]
    assert [p["more"] for p in pages] == [True, True, False]
    beyond = api.transactions(start_index=40)
    assert beyond["transactions"] == [] and beyond["more"] is False


@pytest.mark.parametrize("bad", ["-1", "x", "1.5"])
def test_bad_start_index(api: Api, bad: str) -> None:
    status, body = api.get(
        "/transactions", from_date="01/01/2024", to_date="01/01/2024", start_index=bad
    )
    assert (status, body["reason"]) == (400, errors.INVALID_PARAMETERS)


def test_get_transaction(api: Api, setup: None) -> None:
    award = api.award(order_id="O-9")[1]["data"]
    txn = api.ok("GET", f"/transactions/{award['id']}")
    assert txn["id"] == award["id"] and txn["points"] == 10
    assert txn["order_id"] == "O-9" and txn["activity_id"] == "signup"
    assert txn["redemption_id"] is None and txn["coupon_code"] is None
    for bad in ("999", "abc", "0", "-1", "\u00b2", "\u0661", "1e3"):
        status, body = api.get(f"/transactions/{bad}")
        assert (status, body["reason"]) == (404, errors.INVALID_TRANSACTION_ID)


@pytest.mark.parametrize("value", ["auto_approved", "pending", "deducted", "", "bogus"])
def test_update_needs_approved_or_rejected(api: Api, setup: None, value: str) -> None:
    txn_id = api.award(activity_id="review")[1]["data"]["id"]
    status, body = api.put(f"/transactions/{txn_id}", {"points_status": value})
    expected = errors.MISSING_PARAMETERS if value == "" else errors.INVALID_PARAMETERS
    assert (status, body["reason"]) == (400, expected)
    assert api.ok("GET", f"/transactions/{txn_id}")["points_status"] == "pending"


def test_update_of_an_immediate_award_is_refused(api: Api, setup: None) -> None:
    txn_id = api.award()[1]["data"]["id"]
    status, body = api.put(f"/transactions/{txn_id}", {"points_status": "rejected"})
    assert (status, body["reason"]) == (400, errors.ALREADY_RESOLVED)
    assert api.balance() == 10
    status, body = api.put("/transactions/77", {"points_status": "approved"})
    assert (status, body["reason"]) == (404, errors.INVALID_TRANSACTION_ID)


def test_points_used_and_exhausted(api: Api, setup: None, clock: ManualClock) -> None:
    first = api.award()[1]["data"]
    clock.advance(1)
    second = api.award()[1]["data"]
    api.ok(
        "POST", "/deduct", {"user_email": "ann@example.com", "reason": "fix", "points_passed": 14}
    )
    one = api.ok("GET", f"/transactions/{first['id']}")
    two = api.ok("GET", f"/transactions/{second['id']}")
    assert (one["points_used"], one["available_points"], one["points_status"]) == (
        10,
        0,
        "exhausted",
    )
    assert (two["points_used"], two["available_points"], two["points_status"]) == (
        4,
        6,
        "auto_approved",
    )
    rows = api.transactions(points_status=["exhausted"])["transactions"]
    assert [row["id"] for row in rows] == [first["id"]]


def test_points_expire_through_the_clock(api: Api, clock: ManualClock) -> None:
    api.user("ann@example.com")
    api.activity("photo", points_per_activity=55, points_expiration_period=60)
    award = api.award(activity_id="photo")[1]["data"]
    txn = api.ok("GET", f"/transactions/{award['id']}")
    assert txn["points_expiration_date"] == "01-Mar-2024 12:00:00"
    user = api.ok("GET", "/users/ann@example.com")
    assert user["expiration_schedule"] == [
        {"expiration_date": "01-Mar-2024 12:00:00", "points": 55}
    ]
    api.ok("POST", "/deduct", {"user_email": "ann@example.com", "reason": "r", "points_passed": 5})
    clock.set(clock.now() + timedelta(days=60) - timedelta(seconds=1))
    assert api.balance() == 50
    clock.advance(1)
    assert api.balance() == 0
    txn = api.ok("GET", f"/transactions/{award['id']}")
    assert txn["points_status"] == "expired"
    assert (txn["points_used"], txn["points_expired"], txn["available_points"]) == (5, 50, 0)
    assert api.ok("GET", "/users/ann@example.com")["expiration_schedule"] == []
    rows = api.transactions(points_status=["expired"])["transactions"]
    assert [row["id"] for row in rows] == [award["id"]]
    # the expiry itself is bookkeeping: it is not listed as a transaction of its own
    assert api.transactions()["total"] == 2


def test_user_transactions_only_show_that_user(api: Api, setup: None) -> None:
    mine = api.award()[1]["data"]
    api.award("bob@example.com")
    data = api.transactions("ann@example.com")
    assert data["total"] == 1
    assert data["transactions"][0]["id"] == mine["id"]
    assert api.transactions("bob@example.com", points_status=["pending"])["total"] == 0
    status, body = api.get(
        "/users/zed@example.com/transactions", from_date="01/01/2024", to_date="01/01/2024"
    )
    assert (status, body["reason"]) == (404, errors.INVALID_USER)
    status, body = api.get("/users/ann@example.com/transactions", from_date="01/01/2024")
    assert (status, body["reason"]) == (400, errors.MISSING_PARAMETERS)


def test_to_date_at_the_end_of_the_calendar(api: Api, setup: None) -> None:
    api.award()
    assert api.transactions(from_date="01/01/0001", to_date="12/31/9999")["total"] == 1
    data = api.ok("GET", "/users", from_date="01/01/2000", to_date="12/31/9999")
    assert data["total_loyalty_users"] == 2
