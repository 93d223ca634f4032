"""Users (functions 7-10) and the 2017 page's user redemptions and user points."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ss_client import Api

from fakeservers.shopsocially import errors
from loyaltykit import ManualClock

CREATE_KEYS = {
    "user_id",
    "user_email",
    "first_name",
    "last_name",
    "profile_image_url",
    "gender",
    "redeemed_points",
    "available_points",
    "loyalty_level_id",
    "loyalty_lifetime_level_id",
    "merchant_uid",
}
GET_KEYS = CREATE_KEYS | {
    "user_language",
    "user_status",
    "expiration_schedule",
    "last_award_transaction",
    "pending_points",
}
LIST_KEYS = {
    "loyalty_life_time_level_name",
    "loyalty_lifetime_level_id",
    "expiration_schedule",
    "last_name",
    "redeemed_points",
    "last_award_transaction",
    "gender",
    "dashboard_url",
    "first_name",
    "profile_image_url",
    "available_points",
    "loyalty_level_id",
    "loyalty_level_name",
    "user_id",
    "user_email",
}


def test_create_user(api: Api) -> None:
    user = api.user(
        "bob@example.com",
        first_name="Bob",
        last_name="Baker",
        uid="merc",
        gender="male",
        profile_image_url="https://img.example/bob.png",
    )
    assert set(user) >= CREATE_KEYS | GET_KEYS | LIST_KEYS
    assert (user["user_email"], user["first_name"], user["last_name"]) == (
        "bob@example.com",
        "Bob",
        "Baker",
    )
    assert user["merchant_uid"] == "merc"
    assert user["gender"] == "male"
    assert user["profile_image_url"] == "https://img.example/bob.png"
    assert user["available_points"] == 0 and user["redeemed_points"] == 0
    assert user["loyalty_level_id"] == "" and user["loyalty_lifetime_level_id"] == ""
    assert user["last_award_transaction"] == {} and user["expiration_schedule"] == []
    assert user["user_status"] == "active"
    assert api.ok("GET", "/users/bob@example.com") == user


def test_create_user_accepts_the_curl_spellings(api: Api) -> None:
    api.level("gold", 5000)
    user = api.ok(
        "POST",
        "/users",
        {
            "user_email": "c@example.com",
            "first_name": "C",
            "last_name": "D",
            "uid": "c1",
            "loyalty_level": "gold",
        },
    )
    assert user["user_email"] == "c@example.com" and user["loyalty_level_id"] == "gold"


@pytest.mark.parametrize("missing", ["first_name", "last_name", "email", "uid"])
def test_create_user_requires(api: Api, missing: str) -> None:
    values = {"first_name": "A", "last_name": "B", "email": "a@example.com", "uid": "u"}
    del values[missing]
    status, body = api.post("/users", values)
    assert (status, body["reason"]) == (400, errors.MISSING_PARAMETERS)
    assert api.get("/users/a@example.com")[0] == 404


def test_create_user_refuses_duplicates_and_bad_input(api: Api) -> None:
    api.user("ann@example.com", uid="u1")
    for values, reason in (
        ({"email": "ANN@example.com", "uid": "u2"}, errors.USER_EXISTS),
        ({"email": "new@example.com", "uid": "u1"}, errors.USER_EXISTS),
        ({"email": "not-an-email", "uid": "u3"}, errors.INVALID_PARAMETERS),
    ):
        status, body = api.post("/users", {"first_name": "X", "last_name": "Y", **values})
        assert (status, body["reason"]) == (400, reason)
    status, body = api.post(
        "/users",
        {
            "first_name": "X",
            "last_name": "Y",
            "email": "lv@example.com",
            "uid": "u4",
            "loyalty_level_id": "nope",
        },
    )
    assert (status, body["reason"]) == (404, errors.INVALID_LEVEL_ID)
    assert api.get("/users/lv@example.com")[0] == 404
    listed = api.ok("GET", "/users", from_date="01/01/2024", to_date="01/01/2024")
    assert listed["total_loyalty_users"] == 1


def test_get_unknown_user(api: Api) -> None:
    assert api.get("/users/zed@example.com") == (
        404,
        {"reason": errors.INVALID_USER, "success": False},
    )


def test_update_user_moves_level_by_uid(api: Api) -> None:
    api.level("silver", 100)
    api.level("all_time", 1000, level_type="lifetime")
    api.user("ann@example.com", uid="A-1")
    user = api.ok("PUT", "/users/A-1", {"loyalty_level_id": "silver"})
    assert user["loyalty_level_id"] == "silver" and user["loyalty_level_name"] == "Silver"
    assert user["merchant_uid"] == "A-1"
    user = api.ok("PUT", "/users/A-1", {"loyalty_level_id": "all_time"})
    assert user["loyalty_lifetime_level_id"] == "all_time"
    assert user["loyalty_level_id"] == "silver"
    user = api.ok("PUT", "/users/A-1", {"first_name": "Anne", "gender": "female"})
    assert user["first_name"] == "Anne" and user["gender"] == "female"
    status, body = api.put("/users/A-1", {"loyalty_level_id": "bronze"})
    assert (status, body["reason"]) == (404, errors.INVALID_LEVEL_ID)
    status, body = api.put("/users/ann@example.com", {"loyalty_level_id": "silver"})
    assert (status, body["reason"]) == (404, errors.INVALID_USER)


def test_last_award_and_expiration_schedule(api: Api, clock: ManualClock) -> None:
    api.user("ann@example.com")
    api.activity(
        "photo", activity_name="Shared Photo", points_per_activity=30, points_expiration_period=10
    )
    api.activity("tweet", activity_name="Tweeted", points_per_activity=20)
    api.award(activity_id="photo")
    clock.advance(timedelta(days=1))
    api.award(activity_id="photo")
    clock.advance(timedelta(days=1))
    api.award(activity_id="tweet")
    user = api.ok("GET", "/users/ann@example.com")
    assert user["last_award_transaction"] == {
        "date": "03-Jan-2024 12:00:00",
        "points": 20,
        "name": "Tweeted",
    }
    assert user["expiration_schedule"] == [
        {"expiration_date": "11-Jan-2024 12:00:00", "points": 30},
        {"expiration_date": "12-Jan-2024 12:00:00", "points": 30},
    ]
    assert user["available_points"] == 80


def test_list_users_by_enrollment_date_with_paging(api: Api, clock: ManualClock) -> None:
    for number in range(5):
        api.user(f"u{number}@example.com")
        clock.advance(timedelta(days=1))
    data = api.ok("GET", "/users", from_date="01/02/2024", to_date="01/04/2024")
    assert set(data) == {"next_start_index", "total_loyalty_users", "loyalty_users", "more"}
    assert data["total_loyalty_users"] == 3
    assert [u["user_email"] for u in data["loyalty_users"]] == [
        "u1@example.com",
        "u2@example.com",
        "u3@example.com",
    ]
    assert set(data["loyalty_users"][0]) >= LIST_KEYS
    assert data["more"] is False and data["next_start_index"] == 100
    page = api.ok(
        "GET", "/users", from_date="01/01/2024", to_date="12/31/2024", count=2, start_index=2
    )
    assert [u["user_email"] for u in page["loyalty_users"]] == ["u2@example.com", "u3@example.com"]
    assert (page["next_start_index"], page["more"], page["total_loyalty_users"]) == (4, True, 5)
    last = api.ok(
        "GET", "/users", from_date="01/01/2024", to_date="12/31/2024", count=2, start_index=4
    )
    assert len(last["loyalty_users"]) == 1 and last["more"] is False


def test_list_users_by_last_activity(api: Api, clock: ManualClock) -> None:
    api.user("old@example.com")
    api.user("idle@example.com")
    api.activity("signup")
    clock.advance(timedelta(days=10))
    api.award("old@example.com")
    data = api.ok(
        "GET",
        "/users",
        from_date="01/11/2024",
        to_date="01/11/2024",
        filter_by="last_activity_date",
    )
    assert [u["user_email"] for u in data["loyalty_users"]] == ["old@example.com"]
    data = api.ok("GET", "/users", from_date="01/11/2024", to_date="01/11/2024")
    assert data["loyalty_users"] == []


@pytest.mark.parametrize(
    ("query", "status", "reason"),
    [
        ({"from_date": "01/01/2024"}, 400, errors.MISSING_PARAMETERS),
        ({"to_date": "01/01/2024"}, 400, errors.MISSING_PARAMETERS),
        ({"from_date": "2024-01-01", "to_date": "01/01/2024"}, 400, errors.UNEXPECTED_DATE_FORMAT),
        (
            {"from_date": "01/01/2024", "to_date": "01/01/2024", "filter_by": "birthday"},
            400,
            errors.INVALID_PARAMETERS,
        ),
        (
            {"from_date": "01/01/2024", "to_date": "01/01/2024", "count": "0"},
            400,
            errors.INVALID_PARAMETERS,
        ),
        (
            {"from_date": "01/01/2024", "to_date": "01/01/2024", "start_index": "-2"},
            400,
            errors.INVALID_PARAMETERS,
        ),
    ],
)
def test_list_users_errors(api: Api, query: dict[str, str], status: int, reason: str) -> None:
    got, body = api.get("/users", **query)
    assert (got, body["reason"]) == (status, reason)


def test_user_points(api: Api) -> None:
    api.level("silver", 300)
    api.level("gold", 1000)
    user = api.user("ann@example.com")
    api.activity("signup", points_per_activity=500)
    api.activity("review", approval_method="manual", points_per_activity=7)
    api.award()
    api.award(activity_id="review")
    api.redemption("ten_off", points=100)
    api.ok("POST", "/redeem", {"user_email": "ann@example.com", "redemption_id": "ten_off"})
    api.ok("POST", "/deduct", {"user_email": "ann@example.com", "reason": "x", "points_passed": 50})
    assert api.ok("GET", "/users/ann@example.com")["loyalty_level_id"] == "silver"
    points = api.ok("GET", "/users/points", is_public="true", user_id=user["user_id"])
    assert points == {
        "available": 350,
        "redeemed": 100,
        "deducted_points": 50,
        "expired_points": 0,
        "pending_points": 7,
        "qualified_points": 500,
        "next_level_data": {"level_id": "gold", "level_name": "Gold", "level_minimum_points": 1000},
    }
    for bad in ("999", "abc", "\u00b2"):
        status, body = api.get("/users/points", user_id=bad)
        assert (status, body["reason"]) == (404, errors.INVALID_USER)
    status, body = api.get("/users/points", is_public="true")
    assert (status, body["reason"]) == (400, errors.MISSING_PARAMETERS)


def test_user_redemptions_filter_sort_and_page(api: Api) -> None:
    api.level("gold", 1000)
    api.user("ann@example.com")
    api.redemption("cheap", points=10, codes="K1")
    api.redemption("dear", points=500, codes="D1")
    api.redemption("paused", points=5, codes="P1", is_active="false")
    api.redemption("golden", points=50, codes="G1", associated_levels="gold")
    api.redemption("empty", points=1, codes="E1")
    api.activity("signup", points_per_activity=20)
    api.award()
    api.ok("POST", "/redeem", {"user_email": "ann@example.com", "redemption_id": "empty"})
    every = api.ok("GET", "/users/ann@example.com/redemptions")
    assert every["total"] == 5 and every["more"] is False
    valid = api.ok(
        "GET",
        "/users/ann@example.com/redemptions",
        is_still_valid="true",
        order_by="allowed_redeem_points",
    )
    assert [r["redemption_id"] for r in valid["redemptions"]] == ["cheap", "dear"]
    first = api.ok(
        "GET",
        "/users/ann@example.com/redemptions",
        order_by="allowed_redeem_points",
        count=2,
        start_index=1,
    )
    assert [r["redemption_id"] for r in first["redemptions"]] == ["paused", "cheap"]
    assert first["more"] is True
    status, body = api.get("/users/zed@example.com/redemptions")
    assert (status, body["reason"]) == (404, errors.INVALID_USER)
    status, body = api.get("/users/ann@example.com/redemptions", order_by="colour")
    assert (status, body["reason"]) == (400, errors.INVALID_PARAMETERS)


def test_an_expiry_is_not_an_activity(api: Api, clock: ManualClock) -> None:
    api.user("ann@example.com")
    api.activity("photo", points_expiration_period=1)
    api.award(activity_id="photo")
    clock.advance(timedelta(days=2))
    assert api.balance() == 0  # expired on 02-Jan
    data = api.ok("GET", "/users", from_date="01/02/2024", to_date="01/03/2024",
                  filter_by="last_activity_date")
    assert data["loyalty_users"] == []
    data = api.ok("GET", "/users", from_date="01/01/2024", to_date="01/01/2024",
                  filter_by="last_activity_date")
    assert [u["user_email"] for u in data["loyalty_users"]] == ["ann@example.com"]
