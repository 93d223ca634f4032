"""Activities (functions 12-15): create, retrieve, update, list."""

from __future__ import annotations

import pytest
from ss_client import Api

from fakeservers.shopsocially import errors
from loyaltykit import ManualClock

ACTIVITY_KEYS = {
    "activity_id",
    "updated_time",
    "max_award_frequency",
    "terms_and_conditions",
    "is_active",
    "ss_internal",
    "approval_method",
    "points_per_activity",
    "bonus_multiplier",
    "created_time",
    "max_award_frequency_interval",
    "activity_name",
    "merchant_id",
    "activity_description",
    "id",
    "activity_type",
    "points_expiration_period",
    "loyalty_activity_img",
    "qualified_points",
    "points_earning_url",
    "is_sale_activity",
    "show_activity_in_user_dashboard",
}
REQUIRED = {
    "activity_id": "a",
    "activity_name": "A",
    "activity_description": "d",
    "activity_type": "fixed",
    "approval_method": "immediate",
    "max_award_frequency": 1,
    "max_award_frequency_interval": "day",
}


def test_create_get_list(api: Api) -> None:
    created = api.activity(
        "share_via_email_API",
        activity_name="share_via_email_API",
        activity_description="grab_it",
        max_award_frequency=2,
        max_award_frequency_interval="day",
        points_per_activity=100,
        qualified_points="true",
        points_earning_url="https://x.example",
    )
    assert set(created) == ACTIVITY_KEYS
    assert created["activity_id"] == "share_via_email_API"
    assert (created["max_award_frequency"], created["max_award_frequency_interval"]) == (2, "day")
    assert created["approval_method"] == "immediate" and created["activity_type"] == "fixed"
    assert created["is_active"] is True and created["ss_internal"] is False
    assert created["points_earning_url"] == "https://x.example"
    assert created["merchant_id"] == "acme-partner"
    assert created["created_time"] == "01-Jan-2024 12:00:00"
    assert api.ok("GET", "/activities/share_via_email_API") == created
    assert api.ok("GET", "/activities") == [created]


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_create_requires(api: Api, missing: str) -> None:
    values = dict(REQUIRED)
    del values[missing]
    status, body = api.post("/activities", values)
    assert (status, body["reason"]) == (400, errors.MISSING_PARAMETERS)
    assert api.ok("GET", "/activities") == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("activity_type", "percentage"),
        ("approval_method", "weekly"),
        ("max_award_frequency_interval", "hour"),
        ("max_award_frequency", "-1"),
        ("max_award_frequency", "often"),
        ("points_per_activity", "-5"),
        ("bonus_multiplier", "two"),
        ("is_active", "sometimes"),
        ("points_expiration_period", "-30"),
    ],
)
def test_create_invalid(api: Api, field: str, value: str) -> None:
    status, body = api.post("/activities", {**REQUIRED, field: value})
    assert (status, body["reason"]) == (400, errors.INVALID_PARAMETERS)
    assert api.ok("GET", "/activities") == []


def test_docs_spellings_are_understood(api: Api) -> None:
    created = api.activity(
        "email_subscriber",
        approval_method="immediately",
        is_active="False",
        bonus_mutliplier="1.5",
        activity_type="bonus_multiplier",
    )
    assert created["approval_method"] == "immediate" and created["is_active"] is False
    assert created["bonus_multiplier"] == 1.5
    assert api.activity("ref", approval_method="manually")["approval_method"] == "manual"


def test_duplicate_activity_id(api: Api) -> None:
    api.activity("signup")
    status, body = api.post("/activities", {**REQUIRED, "activity_id": "signup"})
    assert (status, body["reason"]) == (400, errors.ACTIVITY_EXISTS)
    assert len(api.ok("GET", "/activities")) == 1


def test_unknown_activity(api: Api) -> None:
    assert api.get("/activities/nope") == (
        404,
        {"reason": errors.INVALID_ACTIVITY_ID, "success": False},
    )
    status, body = api.put("/activities/nope", {"activity_name": "x"})
    assert (status, body["reason"]) == (404, errors.INVALID_ACTIVITY_ID)


def test_update_every_field(api: Api, clock: ManualClock) -> None:
    api.activity("signup")
    clock.advance(120)
    updated = api.ok(
        "PUT",
        "/activities/signup",
        {
            "activity_name": "Joined",
            "activity_description": "new",
            "activity_type": "bonus_multiplier",
            "bonus_multiplier": "3",
            "points_per_activity": 7,
            "approval_method": "monthly",
            "is_active": "false",
            "max_award_frequency": 5,
            "max_award_frequency_interval": "week",
            "points_expiration_period": 30,
        },
    )
    assert (updated["activity_name"], updated["activity_description"]) == ("Joined", "new")
    assert updated["activity_type"] == "bonus_multiplier" and updated["bonus_multiplier"] == 3
    assert updated["points_per_activity"] == 7
    assert updated["approval_method"] == "monthly" and updated["is_active"] is False
    assert (updated["max_award_frequency"], updated["max_award_frequency_interval"]) == (5, "week")
    assert updated["points_expiration_period"] == 30
    assert updated["created_time"] == "01-Jan-2024 12:00:00"
    assert updated["updated_time"] == "01-Jan-2024 12:02:00"
    assert api.ok("GET", "/activities/signup") == updated
    only_interval = api.ok("PUT", "/activities/signup", {"max_award_frequency_interval": "month"})
    assert (
        only_interval["max_award_frequency"],
        only_interval["max_award_frequency_interval"],
    ) == (5, "month")
    unlimited = api.ok("PUT", "/activities/signup", {"max_award_frequency": 0})
    assert unlimited["max_award_frequency"] == 0
    assert unlimited["max_award_frequency_interval"] == "month"


def test_refused_update_changes_nothing(api: Api) -> None:
    before = api.activity("signup")
    status, body = api.put(
        "/activities/signup", {"activity_name": "Renamed", "approval_method": "sometimes"}
    )
    assert (status, body["reason"]) == (400, errors.INVALID_PARAMETERS)
    assert api.ok("GET", "/activities/signup") == before


def test_switching_to_multiplier_uses_the_bonus_multiplier(api: Api) -> None:
    api.user("ann@example.com")
    api.activity("purchase", bonus_multiplier=2, points_per_activity=10)
    assert api.award(activity_id="purchase")[1]["data"]["points"] == 10
    api.ok("PUT", "/activities/purchase", {"activity_type": "bonus_multiplier"})
    assert api.award(activity_id="purchase", points_passed=8)[1]["data"]["points"] == 16


def test_expiration_period_is_at_most_a_century(api: Api) -> None:
    assert api.activity("long", points_expiration_period=36525)[
        "points_expiration_period"] == 36525
    status, body = api.post("/activities", {**REQUIRED, "points_expiration_period": 36526})
    assert (status, body["reason"]) == (400, errors.INVALID_PARAMETERS)
    status, body = api.put("/activities/long", {"points_expiration_period": 3000000})
    assert (status, body["reason"]) == (400, errors.INVALID_PARAMETERS)
    assert api.ok("GET", "/activities/long")["points_expiration_period"] == 36525
