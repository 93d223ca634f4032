"""Award points (function 1): fixed and bonus-multiplier activities, caps, approval methods."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ss_client import Api

from fakeservers.shopsocially import errors
from loyaltykit import ManualClock

AWARD_KEYS = {
    "user_id",
    "user_email",
    "user_last_name",
    "user_first_name",
    "activity_id",
    "activity_name",
    "id",
    "transaction_type",
    "points",
    "points_status",
    "partner_id",
    "created_time",
}


@pytest.fixture
def ann(api: Api) -> dict[str, object]:
    return api.user("ann@example.com", first_name="Ann", last_name="Lee")


def test_fixed_activity_awards_points_per_activity(api: Api, ann: dict[str, object]) -> None:
    api.activity("signup", points_per_activity=150, activity_name="Signed Up")
    status, body = api.award()
    assert status == 200
    data = body["data"]
    assert set(data) >= AWARD_KEYS
    assert data["points"] == 150
    assert data["points_status"] == "auto_approved"
    assert data["transaction_type"] == "award"
    assert data["activity_id"] == "signup" and data["activity_name"] == "Signed Up"
    assert data["user_email"] == "ann@example.com" and data["user_id"] == ann["user_id"]
    assert data["user_first_name"] == "Ann" and data["user_last_name"] == "Lee"
    assert data["partner_id"] == "acme-partner"
    assert data["created_time"] == "01-Jan-2024 12:00:00"
    assert api.balance() == 150


def test_points_passed_overrides_fixed_points(api: Api, ann: dict[str, object]) -> None:
    api.activity("signup", points_per_activity=150)
    status, body = api.award(points_passed=40)
    assert status == 200 and body["data"]["points"] == 40
    assert api.balance() == 40


def test_bonus_multiplier_needs_points_passed(api: Api, ann: dict[str, object]) -> None:
    api.activity(
        "purchase", activity_type="bonus_multiplier", bonus_multiplier="2.5", points_per_activity=0
    )
    status, body = api.award(activity_id="purchase")
    assert (status, body["reason"]) == (400, errors.MISSING_PARAMETERS)
    assert api.balance() == 0
    status, body = api.award(activity_id="purchase", points_passed=41)
    assert status == 200
    assert body["data"]["points"] == 102  # floor(41 * 2.5)
    assert api.balance() == 102


def test_level_multiplier_applies_on_top(api: Api) -> None:
    api.level("gold", 0, multiplier=2)
    api.user("ann@example.com", loyalty_level_id="gold")
    api.activity("signup", points_per_activity=100)
    api.activity("purchase", activity_type="bonus_multiplier", bonus_multiplier=3)
    assert api.award()[1]["data"]["points"] == 200
    assert api.award(activity_id="purchase", points_passed=10)[1]["data"]["points"] == 60


def test_order_id_awards_only_once(api: Api, ann: dict[str, object]) -> None:
    api.activity("purchase", activity_type="bonus_multiplier", bonus_multiplier=1)
    first = api.award(activity_id="purchase", points_passed=70, order_id="A-1")[1]["data"]
    again = api.award(activity_id="purchase", points_passed=70, order_id="A-1")[1]["data"]
    assert again["id"] == first["id"] and again["points"] == 70
    assert api.balance() == 70
    other = api.award(activity_id="purchase", points_passed=5, order_id="A-2")[1]["data"]
    assert other["id"] != first["id"]
    assert api.balance() == 75
    assert api.transactions()["total"] == 2


@pytest.mark.parametrize(
    ("interval", "later"),
    [
        ("day", timedelta(days=1)),
        ("week", timedelta(days=7)),
        ("month", timedelta(days=31)),
        ("year", timedelta(days=366)),
        ("lifetime", None),
    ],
)
def test_max_award_frequency_per_interval(
    api: Api,
    ann: dict[str, object],
    clock: ManualClock,
    interval: str,
    later: timedelta | None,
) -> None:
    api.activity("share", max_award_frequency=2, max_award_frequency_interval=interval)
    assert api.award(activity_id="share")[0] == 200
    assert api.award(activity_id="share")[0] == 200
    status, body = api.award(activity_id="share")
    assert (status, body["reason"]) == (400, errors.FREQUENCY_REACHED)
    assert api.balance() == 200
    clock.advance(timedelta(hours=11))  # 23:00 the same day (and week, month, year)
    assert api.award(activity_id="share")[0] == 400
    if later is None:
        clock.advance(timedelta(days=4000))
        assert api.award(activity_id="share")[0] == 400
    else:
        clock.advance(later)
        assert api.award(activity_id="share")[0] == 200
        assert api.balance() == 300


def test_frequency_is_per_user(api: Api, ann: dict[str, object]) -> None:
    api.user("bob@example.com")
    api.activity("share", max_award_frequency=1, max_award_frequency_interval="day")
    assert api.award(activity_id="share")[0] == 200
    assert api.award("bob@example.com", activity_id="share")[0] == 200
    assert api.award(activity_id="share")[0] == 400


def test_inactive_activity_is_refused(api: Api, ann: dict[str, object]) -> None:
    api.activity("paused", is_active="false")
    status, body = api.award(activity_id="paused")
    assert (status, body["reason"]) == (400, errors.ACTIVITY_INACTIVE)
    assert api.balance() == 0 and api.transactions()["total"] == 0


def test_activity_is_inactive_by_default(api: Api, ann: dict[str, object]) -> None:
    values = {
        "activity_id": "quiet",
        "activity_name": "Quiet",
        "activity_description": "d",
        "activity_type": "fixed",
        "approval_method": "immediate",
        "max_award_frequency": 1,
        "max_award_frequency_interval": "day",
    }
    created = api.ok("POST", "/activities", values)
    assert created["is_active"] is False and created["points_per_activity"] == 0
    assert created["bonus_multiplier"] == 1
    assert api.award(activity_id="quiet")[1]["reason"] == errors.ACTIVITY_INACTIVE


def test_manual_approval_stays_pending_until_updated(
    api: Api, ann: dict[str, object], clock: ManualClock
) -> None:
    api.activity("review", approval_method="manual", points_per_activity=80)
    data = api.award(activity_id="review")[1]["data"]
    assert data["points_status"] == "pending" and data["points"] == 80
    user = api.ok("GET", "/users/ann@example.com")
    assert user["available_points"] == 0 and user["pending_points"] == 80
    clock.advance(timedelta(days=400))
    assert api.ok("GET", f"/transactions/{data['id']}")["points_status"] == "pending"
    approved = api.ok(
        "PUT", f"/transactions/{data['id']}", {"points_status": "approved", "approved_by": "Jai"}
    )
    assert approved["points_status"] == "approved"
    assert approved["approved_by"] == "Jai"
    assert approved["approved_time"] == "04-Feb-2025 12:00:00"
    assert approved["updated_time"] == "04-Feb-2025 12:00:00"
    assert approved["created_time"] == "01-Jan-2024 12:00:00"
    assert api.balance() == 80
    status, body = api.put(f"/transactions/{data['id']}", {"points_status": "rejected"})
    assert (status, body["reason"]) == (400, errors.ALREADY_RESOLVED)
    assert api.balance() == 80


def test_manual_award_can_be_rejected_once(api: Api, ann: dict[str, object]) -> None:
    api.activity("review", approval_method="manual")
    txn_id = api.award(activity_id="review")[1]["data"]["id"]
    rejected = api.ok("PUT", f"/transactions/{txn_id}", {"points_status": "rejected"})
    assert rejected["points_status"] == "rejected"
    assert rejected["approved_time"] == ""
    user = api.ok("GET", "/users/ann@example.com")
    assert user["available_points"] == 0 and user["pending_points"] == 0
    status, body = api.put(f"/transactions/{txn_id}", {"points_status": "approved"})
    assert (status, body["reason"]) == (400, errors.ALREADY_RESOLVED)
    assert api.balance() == 0


def test_monthly_approval_approves_itself_after_a_month(
    api: Api, ann: dict[str, object], clock: ManualClock
) -> None:
    clock.set(clock.now().replace(month=1, day=31))
    api.activity("review", approval_method="monthly", points_per_activity=60)
    data = api.award(activity_id="review")[1]["data"]
    assert data["points_status"] == "pending"
    assert data["auto_approval_date"] == "29-Feb-2024 12:00:00"  # clamped to the month's end
    clock.set(clock.now().replace(month=2, day=29, hour=11, minute=59))
    assert api.ok("GET", f"/transactions/{data['id']}")["points_status"] == "pending"
    assert api.balance() == 0
    clock.advance(timedelta(minutes=1))
    txn = api.ok("GET", f"/transactions/{data['id']}")
    assert txn["points_status"] == "auto_approved"
    assert txn["approved_time"] == "29-Feb-2024 12:00:00"
    assert api.balance() == 60


def test_monthly_award_can_still_be_approved_by_hand(api: Api, ann: dict[str, object]) -> None:
    api.activity("review", approval_method="monthly")
    txn_id = api.award(activity_id="review")[1]["data"]["id"]
    assert (
        api.ok("PUT", f"/transactions/{txn_id}", {"points_status": "approved"})["points_status"]
        == "approved"
    )
    assert api.balance() == 100


@pytest.mark.parametrize(
    ("fields", "status", "reason"),
    [
        ({"user_email": "nobody@example.com"}, 404, errors.INVALID_USER),
        ({"activity_id": "nope"}, 404, errors.INVALID_ACTIVITY_ID),
        ({"user_email": ""}, 400, errors.MISSING_PARAMETERS),
        ({"activity_id": " "}, 400, errors.MISSING_PARAMETERS),
        ({"points_passed": "abc"}, 400, errors.INVALID_PARAMETERS),
        ({"points_passed": "-5"}, 400, errors.INVALID_PARAMETERS),
        ({"points_passed": "0"}, 400, errors.INVALID_PARAMETERS),
        ({"points_passed": "1.5"}, 400, errors.INVALID_PARAMETERS),
        ({"points_passed": "NaN"}, 400, errors.INVALID_PARAMETERS),
    ],
)
def test_award_errors_change_nothing(
    api: Api, ann: dict[str, object], fields: dict[str, str], status: int, reason: str
) -> None:
    api.activity("signup")
    values = {"user_email": "ann@example.com", "activity_id": "signup", **fields}
    got, body = api.post("/award", values)
    assert (got, body["reason"]) == (status, reason)
    assert api.balance() == 0 and api.transactions()["total"] == 0


def test_award_without_parameters_is_missing_parameters(api: Api) -> None:
    status, body = api.post("/award", {})
    assert (status, body["reason"]) == (400, errors.MISSING_PARAMETERS)


def test_multiplier_award_that_rounds_to_zero_is_refused(api: Api, ann: dict[str, object]) -> None:
    api.activity("purchase", activity_type="bonus_multiplier", bonus_multiplier="0.5")
    status, body = api.award(activity_id="purchase", points_passed="1")
    assert (status, body["reason"]) == (400, errors.INVALID_PARAMETERS)
    assert api.award(activity_id="purchase", points_passed="3")[1]["data"]["points"] == 1


def test_json_body_is_accepted(api: Api, ann: dict[str, object]) -> None:
    api.activity("signup")
    status, body = api.post(
        "/award",
        {"user_email": "ann@example.com", "activity_id": "signup", "points_passed": 12},
        as_json=True,
    )
    assert status == 200 and body["data"]["points"] == 12


def test_user_email_is_case_insensitive(api: Api, ann: dict[str, object]) -> None:
    api.activity("signup")
    assert api.award("ANN@Example.com")[1]["data"]["user_email"] == "ann@example.com"
