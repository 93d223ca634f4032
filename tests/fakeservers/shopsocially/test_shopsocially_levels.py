"""Loyalty levels (functions 20-23): period and lifetime ladders evaluated into the user."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ss_client import Api

from fakeservers.shopsocially import errors
from loyaltykit import ManualClock

LEVEL_KEYS = {
    "merchant_id",
    "level_description",
    "level_position",
    "level_id",
    "is_active",
    "level_bonus_multiplier",
    "level_minimum_points",
    "is_default",
    "updated_time",
    "created_time",
    "level_name",
    "level_type",
    "id",
}


def test_create_get_list_level(api: Api) -> None:
    level = api.level(
        "all_star_level",
        15000,
        level_type="lifetime",
        multiplier="2.5",
        level_name="all star level",
        level_position=10,
    )
    assert set(level) == LEVEL_KEYS
    assert level["level_id"] == "all_star_level"
    assert level["level_type"] == "lifetime"
    assert level["level_bonus_multiplier"] == 2.5
    assert level["level_minimum_points"] == 15000
    assert level["level_position"] == 10
    assert level["is_active"] is True and level["is_default"] is False
    assert level["merchant_id"] == "acme-partner"
    assert api.ok("GET", "/levels/all_star_level") == level
    period = api.level("p1", 100)
    assert [lv["level_id"] for lv in api.ok("GET", "/levels")] == ["p1", "all_star_level"]
    assert period["level_type"] == "period"


def test_create_level_accepts_the_curl_spellings(api: Api) -> None:
    level = api.ok(
        "POST",
        "/levels",
        {
            "level_id": "platinum_level",
            "level_name": "Platinum",
            "level_description": "d",
            "level_type": "period",
            "level_position": 3,
            "minimum_points": 5000,
            "bonus_multiplier": 2,
        },
    )
    assert level["level_minimum_points"] == 5000 and level["level_bonus_multiplier"] == 2
    assert level["is_active"] is False


@pytest.mark.parametrize(
    "missing",
    [
        "level_id",
        "level_name",
        "level_description",
        "level_type",
        "level_position",
        "level_minimum_points",
        "level_bonus_multiplier",
    ],
)
def test_create_level_requires(api: Api, missing: str) -> None:
    values = {
        "level_id": "x",
        "level_name": "X",
        "level_description": "d",
        "level_type": "period",
        "level_position": 1,
        "level_minimum_points": 10,
        "level_bonus_multiplier": 1,
    }
    del values[missing]  # type: ignore[arg-type]
    status, body = api.post("/levels", values)
    assert (status, body["reason"]) == (400, errors.MISSING_PARAMETERS)
    assert api.ok("GET", "/levels") == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("level_type", "monthly"),
        ("level_minimum_points", "-1"),
        ("level_minimum_points", "many"),
        ("level_bonus_multiplier", "x"),
        ("level_position", "first"),
        ("is_active", "maybe"),
    ],
)
def test_create_level_invalid(api: Api, field: str, value: str) -> None:
    values = {
        "level_id": "x",
        "level_name": "X",
        "level_description": "d",
        "level_type": "period",
        "level_position": 1,
        "level_minimum_points": 10,
        "level_bonus_multiplier": 1,
        field: value,
    }
    status, body = api.post("/levels", values)
    assert (status, body["reason"]) == (400, errors.INVALID_PARAMETERS)
    assert api.ok("GET", "/levels") == []


def test_duplicate_and_unknown_levels(api: Api) -> None:
    api.level("gold", 100)
    status, body = api.post(
        "/levels",
        {
            "level_id": "gold",
            "level_name": "G",
            "level_description": "d",
            "level_type": "lifetime",
            "level_position": 1,
            "level_minimum_points": 10,
            "level_bonus_multiplier": 1,
        },
    )
    assert (status, body["reason"]) == (400, errors.LEVEL_EXISTS)
    assert api.get("/levels/silver") == (404, {"reason": errors.INVALID_LEVEL_ID, "success": False})
    status, body = api.put("/levels/silver", {"level_name": "S"})
    assert (status, body["reason"]) == (404, errors.INVALID_LEVEL_ID)


def test_update_level(api: Api, clock: ManualClock) -> None:
    api.level("gold", 100)
    clock.advance(60)
    level = api.ok(
        "PUT",
        "/levels/gold",
        {
            "level_name": "Golden",
            "level_description": "new",
            "level_position": 7,
            "level_minimum_points": 250,
            "level_bonus_multiplier": "1.5",
            "is_active": "false",
            "level_type": "period",
        },
    )
    assert (level["level_name"], level["level_description"], level["level_position"]) == (
        "Golden",
        "new",
        7,
    )
    assert level["level_minimum_points"] == 250 and level["level_bonus_multiplier"] == 1.5
    assert level["is_active"] is False
    assert level["updated_time"] == "01-Jan-2024 12:01:00"
    assert level["created_time"] == "01-Jan-2024 12:00:00"
    status, body = api.put("/levels/gold", {"level_type": "lifetime"})
    assert (status, body["reason"]) == (400, errors.INVALID_PARAMETERS)
    assert api.ok("GET", "/levels/gold")["level_type"] == "period"


def test_levels_follow_points_earned(api: Api, clock: ManualClock) -> None:
    api.level("silver", 100, multiplier=1)
    api.level("gold", 300, multiplier=2)
    api.level("veteran", 350, level_type="lifetime")
    api.user("ann@example.com")
    api.activity("signup", points_per_activity=100)
    api.award()
    user = api.ok("GET", "/users/ann@example.com")
    assert user["loyalty_level_id"] == "silver" and user["loyalty_lifetime_level_id"] == ""
    api.award()
    api.award()  # 300 earned: gold
    user = api.ok("GET", "/users/ann@example.com")
    assert (user["loyalty_level_id"], user["loyalty_level_name"]) == ("gold", "Gold")
    assert api.award()[1]["data"]["points"] == 200  # gold's multiplier
    user = api.ok("GET", "/users/ann@example.com")
    assert user["loyalty_lifetime_level_id"] == "veteran"
    assert user["loyalty_life_time_level_name"] == "Veteran"
    # a new calendar year starts a new period; the lifetime level stays
    clock.set(clock.now().replace(year=2025, month=1, day=1, hour=0))
    user = api.ok("GET", "/users/ann@example.com")
    assert user["loyalty_level_id"] == ""
    assert user["loyalty_lifetime_level_id"] == "veteran"


def test_manual_level_is_a_floor(api: Api) -> None:
    api.level("silver", 100)
    api.level("gold", 1000)
    api.user("ann@example.com", loyalty_level_id="gold")
    api.activity("signup", points_per_activity=100)
    api.award()
    assert api.ok("GET", "/users/ann@example.com")["loyalty_level_id"] == "gold"


def test_spending_points_does_not_lower_the_level(api: Api) -> None:
    api.level("silver", 100)
    api.user("ann@example.com")
    api.activity("signup", points_per_activity=100)
    api.award()
    api.ok(
        "POST", "/deduct", {"user_email": "ann@example.com", "reason": "x", "points_passed": 100}
    )
    assert api.ok("GET", "/users/ann@example.com")["loyalty_level_id"] == "silver"


def test_levels_of_a_later_period_need_new_points(api: Api, clock: ManualClock) -> None:
    api.level("silver", 100)
    api.user("ann@example.com")
    api.activity("signup", points_per_activity=60)
    api.award()
    clock.advance(timedelta(days=366))  # 2024 is a leap year: 01-Jan-2025
    api.award()
    assert api.ok("GET", "/users/ann@example.com")["loyalty_level_id"] == ""


def test_a_returned_order_leaves_the_level(api: Api) -> None:
    api.level("silver", 100)
    api.user("ann@example.com")
    api.activity("purchase", activity_type="bonus_multiplier", bonus_multiplier=1)
    api.award(activity_id="purchase", points_passed=150, order_id="O-1")
    assert api.ok("GET", "/users/ann@example.com")["loyalty_level_id"] == "silver"
    api.ok("POST", "/transaction/return", {"order_id": "O-1", "returned_amount": "60"})
    assert api.ok("GET", "/users/ann@example.com")["loyalty_level_id"] == ""
