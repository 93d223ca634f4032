"""Redemptions (functions 2, 16-19): options, coupon pools to exhaustion, level restrictions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ss_client import Api

from fakeservers.shopsocially import errors
from loyaltykit import ManualClock, Program

REDEEM_KEYS = {
    "user_id",
    "user_email",
    "user_last_name",
    "user_first_name",
    "redemption_id",
    "redemption_name",
    "redemption_value",
    "id",
    "transaction_type",
    "points",
    "points_status",
    "coupon_code",
    "partner_id",
    "created_time",
}
OPTION_KEYS = {
    "redemption_name",
    "updated_time",
    "loyalty_redemption_card_img",
    "redemption_value",
    "giftcard_description",
    "terms_and_conds_text",
    "is_active",
    "enable_coupon_based_incentive",
    "allowed_redeem_points",
    "associated_levels",
    "send_redemption_email",
    "redemption_id",
    "redemption_instructions",
    "created_time",
    "coupon_expiry",
    "redemption_email_subject",
    "merchant_id",
    "id",
    "redemption_email_html",
    "after_redemption_html",
    "giftcard_coupon_codes",
}


@pytest.fixture
def rich(api: Api) -> None:
    """Ann with 1000 points."""
    api.user("ann@example.com", first_name="Ann", last_name="Lee")
    api.activity("bonus", points_per_activity=1000)
    api.award(activity_id="bonus")


def test_create_and_get_redemption(api: Api) -> None:
    created = api.redemption(
        "ten_off",
        points=250,
        codes=" X1 , X2,,X3 ",
        redemption_instructions="apply at checkout",
        coupon_expiry="10-Apr-2026",
    )
    assert set(created) >= OPTION_KEYS
    assert created["redemption_id"] == "ten_off"
    assert created["allowed_redeem_points"] == 250
    assert created["giftcard_coupon_codes"] == "X1,X2,X3"
    assert created["coupon_expiry"] == "10-Apr-2026"
    assert created["associated_levels"] == ["all"]
    assert created["is_active"] is True
    assert created["redemption_value"] == "10"
    assert created["redemption_instructions"] == "apply at checkout"
    assert created["created_time"] == created["updated_time"] == "01-Jan-2024 12:00:00"
    assert api.ok("GET", "/redemptions/ten_off") == created
    assert api.ok("GET", "/redemptions") == [created]


def test_redemption_defaults_to_inactive(api: Api) -> None:
    created = api.redemption("later", is_active="")
    assert created["is_active"] is False


@pytest.mark.parametrize(
    "missing",
    [
        "redemption_id",
        "redemption_name",
        "allowed_redeem_points",
        "redemption_value",
        "giftcard_description",
        "terms_and_conds_text",
        "giftcard_coupon_codes",
        "coupon_expiry",
    ],
)
def test_create_redemption_requires(api: Api, missing: str) -> None:
    values = {
        "redemption_id": "r",
        "redemption_name": "R",
        "allowed_redeem_points": 10,
        "redemption_value": "5",
        "giftcard_description": "d",
        "terms_and_conds_text": "t",
        "giftcard_coupon_codes": "A",
        "coupon_expiry": "01-Jan-2030",
    }
    del values[missing]  # type: ignore[arg-type]
    status, body = api.post("/redemptions", values)
    assert (status, body["reason"]) == (400, errors.MISSING_PARAMETERS)
    assert api.ok("GET", "/redemptions") == []


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("coupon_expiry", "2030-01-01", errors.UNEXPECTED_DATE_FORMAT),
        ("coupon_expiry", "31-Foo-2030", errors.UNEXPECTED_DATE_FORMAT),
        ("coupon_expiry", "31-Feb-2030", errors.UNEXPECTED_DATE_FORMAT),
        ("allowed_redeem_points", "lots", errors.INVALID_PARAMETERS),
        ("allowed_redeem_points", "0", errors.INVALID_PARAMETERS),
        ("giftcard_coupon_codes", " , ", errors.MISSING_PARAMETERS),
        ("giftcard_coupon_codes", "A,A", errors.INVALID_PARAMETERS),
        ("is_active", "perhaps", errors.INVALID_PARAMETERS),
        ("is_active", "{}", errors.INVALID_PARAMETERS),
        ("associated_levels", "nowhere", errors.INVALID_LEVEL_ID),
    ],
)
def test_create_redemption_invalid(
    api: Api, program: Program, field: str, value: str, reason: str
) -> None:
    before = len(program.journal())
    status, body = api.post(
        "/redemptions",
        {
            "redemption_id": "r",
            "redemption_name": "R",
            "allowed_redeem_points": 10,
            "redemption_value": "5",
            "giftcard_description": "d",
            "terms_and_conds_text": "t",
            "giftcard_coupon_codes": "A,B",
            "coupon_expiry": "01-Jan-2030",
            field: value,
        },
    )
    expected = 404 if reason == errors.INVALID_LEVEL_ID else 400
    assert (status, body["reason"]) == (expected, reason)
    assert api.ok("GET", "/redemptions") == []
    assert len(program.journal()) == before  # not even an orphan coupon pool


def test_coupon_expiry_also_accepts_the_us_date_of_one_example(api: Api) -> None:
    assert api.redemption(coupon_expiry="5/30/2030")["coupon_expiry"] == "30-May-2030"


def test_duplicate_redemption_id_is_refused(api: Api) -> None:
    api.redemption("ten_off")
    status, body = api.post(
        "/redemptions",
        {
            "redemption_id": "ten_off",
            "redemption_name": "Again",
            "allowed_redeem_points": 1,
            "redemption_value": "1",
            "giftcard_description": "d",
            "terms_and_conds_text": "t",
            "giftcard_coupon_codes": "Z9",
            "coupon_expiry": "01-Jan-2030",
        },
    )
    assert (status, body["reason"]) == (400, errors.REDEMPTION_EXISTS)
    assert len(api.ok("GET", "/redemptions")) == 1


def test_unknown_redemption(api: Api) -> None:
    assert api.get("/redemptions/nope") == (
        404,
        {"reason": errors.INVALID_REDEMPTION_ID, "success": False},
    )
    status, body = api.put("/redemptions/nope", {"redemption_name": "x"})
    assert (status, body["reason"]) == (404, errors.INVALID_REDEMPTION_ID)


def test_redeem_hands_out_each_code_once_until_exhausted(api: Api, rich: None) -> None:
    api.redemption("ten_off", points=100, codes="C1,C2,C3")
    codes = []
    for _ in range(3):
        status, body = api.post(
            "/redeem", {"user_email": "ann@example.com", "redemption_id": "ten_off"}
        )
        assert status == 200
        data = body["data"]
        assert set(data) >= REDEEM_KEYS
        assert data["points_status"] == "redeemed" and data["transaction_type"] == "redeem"
        assert data["points"] == 100 and data["redemption_value"] == "10"
        codes.append(data["coupon_code"])
    assert codes == ["C1", "C2", "C3"]
    assert api.balance() == 700
    status, body = api.post(
        "/redeem", {"user_email": "ann@example.com", "redemption_id": "ten_off"}
    )
    assert (status, body["reason"]) == (400, errors.COUPONS_EXHAUSTED)
    assert api.balance() == 700
    rows = api.transactions(points_status=["redeemed"])["transactions"]
    assert sorted(row["coupon_code"] for row in rows) == ["C1", "C2", "C3"]
    assert {row["redemption_id"] for row in rows} == {"ten_off"}
    user = api.ok("GET", "/users/ann@example.com")
    assert user["redeemed_points"] == 300 and user["available_points"] == 700


def test_update_adds_new_codes_and_never_reissues(api: Api, rich: None) -> None:
    api.redemption("ten_off", points=100, codes="C1")
    first = api.ok("POST", "/redeem", {"user_email": "ann@example.com", "redemption_id": "ten_off"})
    assert first["coupon_code"] == "C1"
    updated = api.ok("PUT", "/redemptions/ten_off", {"giftcard_coupon_codes": "C1,C2"})
    assert updated["giftcard_coupon_codes"] == "C1,C2"
    second = api.ok(
        "POST", "/redeem", {"user_email": "ann@example.com", "redemption_id": "ten_off"}
    )
    assert second["coupon_code"] == "C2"
    status, body = api.post(
        "/redeem", {"user_email": "ann@example.com", "redemption_id": "ten_off"}
    )
    assert (status, body["reason"]) == (400, errors.COUPONS_EXHAUSTED)


def test_too_few_points_takes_nothing(api: Api) -> None:
    api.user("ann@example.com")
    api.activity("bonus", points_per_activity=99)
    api.award(activity_id="bonus")
    api.redemption("ten_off", points=100, codes="C1")
    status, body = api.post(
        "/redeem", {"user_email": "ann@example.com", "redemption_id": "ten_off"}
    )
    assert (status, body["reason"]) == (400, errors.INSUFFICIENT_POINTS)
    assert api.balance() == 99
    assert api.ok("GET", "/redemptions/ten_off")["remaining_coupon_codes"] == 1


def test_inactive_redemption_is_refused(api: Api, rich: None) -> None:
    api.redemption("ten_off", is_active="false")
    status, body = api.post(
        "/redeem", {"user_email": "ann@example.com", "redemption_id": "ten_off"}
    )
    assert (status, body["reason"]) == (400, errors.REDEMPTION_INACTIVE)
    api.ok("PUT", "/redemptions/ten_off", {"is_active": "True"})
    assert (
        api.ok("POST", "/redeem", {"user_email": "ann@example.com", "redemption_id": "ten_off"})[
            "coupon_code"
        ]
        == "C1"
    )


def test_expired_coupons_are_refused(api: Api, rich: None, clock: ManualClock) -> None:
    api.redemption("ten_off", coupon_expiry="02-Jan-2024")
    clock.advance(timedelta(hours=35, minutes=59))  # 02-Jan-2024 23:59
    assert (
        api.ok("POST", "/redeem", {"user_email": "ann@example.com", "redemption_id": "ten_off"})[
            "coupon_code"
        ]
        == "C1"
    )
    clock.advance(timedelta(minutes=1))
    status, body = api.post(
        "/redeem", {"user_email": "ann@example.com", "redemption_id": "ten_off"}
    )
    assert (status, body["reason"]) == (400, errors.COUPONS_EXPIRED)
    assert api.balance() == 900
    api.ok("PUT", "/redemptions/ten_off", {"coupon_expiry": "31-Dec-2024"})
    assert api.ok("GET", "/redemptions/ten_off")["coupon_expiry"] == "31-Dec-2024"
    assert (
        api.ok("POST", "/redeem", {"user_email": "ann@example.com", "redemption_id": "ten_off"})[
            "coupon_code"
        ]
        == "C2"
    )


def test_associated_levels_restrict_who_can_redeem(api: Api) -> None:
    api.level("silver", 500)
    api.level("gold", 2000)
    api.user("ann@example.com")
    api.activity("bonus", points_per_activity=600)
    api.award(activity_id="bonus")  # 600 points: silver
    api.redemption("gold_only", points=100, associated_levels="gold")
    status, body = api.post(
        "/redeem", {"user_email": "ann@example.com", "redemption_id": "gold_only"}
    )
    assert (status, body["reason"]) == (400, errors.LEVEL_NOT_ELIGIBLE)
    assert api.balance() == 600
    option = api.ok("PUT", "/redemptions/gold_only", {"associated_levels": '["silver", "gold"]'})
    assert option["associated_levels"] == ["silver", "gold"]
    assert (
        api.ok("POST", "/redeem", {"user_email": "ann@example.com", "redemption_id": "gold_only"})[
            "points"
        ]
        == 100
    )
    api.ok("PUT", "/redemptions/gold_only", {"associated_levels": "all"})
    assert api.ok("GET", "/redemptions/gold_only")["associated_levels"] == ["all"]
    status, body = api.put("/redemptions/gold_only", {"associated_levels": "platinum"})
    assert (status, body["reason"]) == (404, errors.INVALID_LEVEL_ID)


def test_update_redemption_fields(api: Api, clock: ManualClock) -> None:
    api.redemption("ten_off")
    clock.advance(3600)
    updated = api.ok(
        "PUT",
        "/redemptions/ten_off",
        {
            "redemption_name": "Ten Off",
            "allowed_redeem_points": 150,
            "redemption_value": "$10",
            "giftcard_description": "new",
            "terms_and_conds_text": "new terms",
            "redemption_instructions": "now",
        },
    )
    assert updated["redemption_name"] == "Ten Off"
    assert updated["allowed_redeem_points"] == 150
    assert updated["redemption_value"] == "$10"
    assert (
        updated["giftcard_description"],
        updated["terms_and_conds_text"],
        updated["redemption_instructions"],
    ) == ("new", "new terms", "now")
    assert updated["created_time"] == "01-Jan-2024 12:00:00"
    assert updated["updated_time"] == "01-Jan-2024 13:00:00"
    status, body = api.put("/redemptions/ten_off", {"allowed_redeem_points": "-3"})
    assert (status, body["reason"]) == (400, errors.INVALID_PARAMETERS)
    assert api.ok("GET", "/redemptions/ten_off")["allowed_redeem_points"] == 150


@pytest.mark.parametrize(
    ("fields", "status", "reason"),
    [
        ({"user_email": "zed@example.com"}, 404, errors.INVALID_USER),
        ({"redemption_id": "nope"}, 404, errors.INVALID_REDEMPTION_ID),
        ({"redemption_id": ""}, 400, errors.MISSING_PARAMETERS),
    ],
)
def test_redeem_errors(
    api: Api, rich: None, fields: dict[str, str], status: int, reason: str
) -> None:
    api.redemption("ten_off")
    got, body = api.post(
        "/redeem", {"user_email": "ann@example.com", "redemption_id": "ten_off", **fields}
    )
    assert (got, body["reason"]) == (status, reason)
    assert api.balance() == 1000


def test_a_code_belongs_to_one_option_only(api: Api) -> None:
    api.redemption("first", codes="SHARED,F1")
    status, body = api.post("/redemptions", {
        "redemption_id": "second", "redemption_name": "S", "allowed_redeem_points": 1,
        "redemption_value": "1", "giftcard_description": "d", "terms_and_conds_text": "t",
        "giftcard_coupon_codes": "S1,SHARED", "coupon_expiry": "01-Jan-2030"})
    assert (status, body["reason"]) == (400, errors.INVALID_PARAMETERS)
    assert [r["redemption_id"] for r in api.ok("GET", "/redemptions")] == ["first"]
    api.redemption("second", codes="S1")
    status, body = api.put("/redemptions/second", {"giftcard_coupon_codes": "S2,F1",
                                                   "redemption_name": "Renamed"})
    assert (status, body["reason"]) == (400, errors.INVALID_PARAMETERS)
    unchanged = api.ok("GET", "/redemptions/second")
    assert unchanged["giftcard_coupon_codes"] == "S1"
    assert unchanged["redemption_name"] == "Second"


@pytest.mark.parametrize("codes", [{"a": "b"}, [["X"]], [{"c": 1}]])
def test_codes_must_be_text(api: Api, codes: object) -> None:
    status, body = api.post("/redemptions", {
        "redemption_id": "r", "redemption_name": "R", "allowed_redeem_points": 1,
        "redemption_value": "1", "giftcard_description": "d", "terms_and_conds_text": "t",
        "giftcard_coupon_codes": codes, "coupon_expiry": "01-Jan-2030"}, as_json=True)
    assert (status, body["reason"]) == (400, errors.INVALID_PARAMETERS)


def test_codes_may_come_as_a_json_list(api: Api) -> None:
    status, body = api.post("/redemptions", {
        "redemption_id": "r", "redemption_name": "R", "allowed_redeem_points": 1,
        "redemption_value": "1", "giftcard_description": "d", "terms_and_conds_text": "t",
        "giftcard_coupon_codes": ["J1", " J2 "], "coupon_expiry": "01-Jan-2030"},
        as_json=True)
    assert status == 200 and body["data"]["giftcard_coupon_codes"] == "J1,J2"


def test_json_nulls_in_codes_are_dropped_and_booleans_refused(api: Api) -> None:
    values = {"redemption_id": "r", "redemption_name": "R", "allowed_redeem_points": 1,
              "redemption_value": "1", "giftcard_description": "d",
              "terms_and_conds_text": "t", "coupon_expiry": "01-Jan-2030"}
    status, body = api.post("/redemptions", {**values, "giftcard_coupon_codes": [1, None, "B"]},
                            as_json=True)
    assert status == 200 and body["data"]["giftcard_coupon_codes"] == "1,B"
    for bad in ([True], ["A", 1.5], True):
        status, body = api.post("/redemptions", {**values, "redemption_id": "r2",
                                                 "giftcard_coupon_codes": bad}, as_json=True)
        assert (status, body["reason"]) == (400, errors.INVALID_PARAMETERS), bad


def test_coupon_expiry_at_the_end_of_the_calendar(api: Api) -> None:
    for expiry in ("31-Dec-9999", "12/31/9999"):
        created = api.redemption(f"far_{expiry[-4:]}{len(expiry)}", codes=f"F{len(expiry)}",
                                 coupon_expiry=expiry)
        assert created["coupon_expiry"] == "31-Dec-9999"
