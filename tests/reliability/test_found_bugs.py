"""Bugs the reliability suite found, one deterministic test each (strict xfail until fixed).

Each test states the expected behaviour (no 5xx; a refusal in the vendor's format; nothing
changed). Under werkzeug's test client an unhandled exception propagates instead of
becoming a 500, so `call` turns it into status 500 with the exception as the body.
When a fix lands, the strict xfail turns into a failure: remove the mark then, and drop the
matching entry of `KNOWN_CRASHES` in test_fuzz_http.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from json import dumps as json_dumps
from typing import Any

import pytest
from reliability_kit import is_smile_error, is_ss_error, settled_state
from werkzeug.test import Client

from fakeservers.shopsocially import DEMO_API_KEY, DEMO_PARTNER_ID
from fakeservers.shopsocially import create_app as ss_create_app
from fakeservers.smile import DEMO_KEY
from fakeservers.smile import create_app as smile_create_app
from loyaltykit import ManualClock, Program, audit

START = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
SMILE_AUTH = {"Authorization": f"Bearer {DEMO_KEY}"}
SS_AUTH = {"partner-id": DEMO_PARTNER_ID, "api-key": DEMO_API_KEY}


def call(client: Client, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    try:
        response = client.open(path, method=method, **kwargs)
    except Exception as exc:  # what a real server would answer with a 500
        return 500, repr(exc)
    return response.status_code, response.get_json(silent=True)


def smile_demo() -> tuple[Client, Program]:
    app = smile_create_app(clock=ManualClock(START))
    return Client(app), app.registry.tenant("demo").program.program


def ss_demo() -> tuple[Client, Program]:
    app = ss_create_app(clock=ManualClock(START))
    return Client(app), app.registry.tenant("demo").program


def refused_cleanly(status: int, body: Any, shape: Any) -> bool:
    return status < 500 and (status < 400 or shape(body))


# ------------------------------------------------------------------ BUG 1

# fixed on main (session of 2026-12-01); kept as a regression test
@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"])
@pytest.mark.parametrize("path", ["/v1/customers", "/v1/points_transactions",
                                  "/v1/reward_fulfillments", "/v1/points_purchases"])
def test_smile_updated_at_min_out_of_range(path: str, value: str) -> None:
    client, _ = smile_demo()
    status, body = call(client, "GET", path, query_string={"updated_at_min": value},
                        headers=SMILE_AUTH)
    assert status == 400 and is_smile_error(body), (status, body)


# fixed on main (session of 2026-12-01); kept as a regression test
@pytest.mark.parametrize(("path", "body"), [
    ("/v1/activities", {"activity": {"customer_id": 1, "token": "activity_f57a9b5a8d0ac5",
                                     "created_on_origin_at": "0001-01-01T00:00:00+23:59"}}),
    ("/v1/events", {"event": {"topic": "order/updated", "data": {
        "external_id": "o-1", "payment_status": "paid", "rewardable_total": "5",
        "external_updated_at": "9999-12-31T23:59:59-23:59", "customer": {"external_id": "c"}}}}),
])
def test_smile_body_timestamps_out_of_range(path: str, body: Any) -> None:
    client, program = smile_demo()
    before = settled_state(program)
    status, answer = call(client, "POST", path, json=body, headers=SMILE_AUTH)
    assert status == 400 and is_smile_error(answer), (status, answer)
    assert settled_state(program) == before


# ------------------------------------------------------------------ BUG 2

@pytest.mark.parametrize("path", ["/v2/loyalty/transactions", "/v2/loyalty/users",
                                  "/v2/loyalty/users/bob@shopsocially.com/transactions"])
def test_ss_to_date_at_the_end_of_time(path: str) -> None:
    """BUG (fixed on main in cd574b5; kept as a regression test):
    fakeservers/shopsocially/wire.py day_end_exclusive: to_date=12/31/9999 (a valid
    MM/DD/YYYY date) overflows datetime when the day after is computed: 500 instead of 200
    (or 400 unexpected date format)"""
    client, _ = ss_demo()
    status, body = call(client, "GET", path, headers=SS_AUTH,
                        query_string={"from_date": "01/01/2000", "to_date": "12/31/9999"})
    assert refused_cleanly(status, body, is_ss_error), (status, body)


@pytest.mark.parametrize("expiry", ["31-Dec-9999", "12/31/9999"])
def test_ss_coupon_expiry_at_the_end_of_time(expiry: str) -> None:
    """BUG (fixed on main in cd574b5; kept as a regression test):
    fakeservers/shopsocially/wire.py day_end_exclusive via views.create_redemption:
    coupon_expiry 31-Dec-9999 (or 12/31/9999) overflows: 500 instead of 200 or 400"""
    client, program = ss_demo()
    before = settled_state(program)
    status, body = call(client, "POST", "/v2/loyalty/redemptions", headers=SS_AUTH, data={
        "redemption_id": "far", "redemption_name": "Far", "allowed_redeem_points": "1",
        "redemption_value": "$1", "giftcard_description": "g", "terms_and_conds_text": "t",
        "giftcard_coupon_codes": "FAR1", "coupon_expiry": expiry})
    assert refused_cleanly(status, body, is_ss_error), (status, body)
    if status >= 400:
        assert settled_state(program) == before


# ------------------------------------------------------------------ BUG 3

@pytest.mark.parametrize("method", ["immediate", "manual"])
def test_ss_points_expiration_period_beyond_the_calendar(method: str) -> None:
    """BUG (fixed on main in cd574b5; kept as a regression test): an activity with
    points_expiration_period=3000000 days is accepted (fakeservers/shopsocially/views.py
    _lifetime has no upper bound; loyaltykit add_rule accepts any points_lifetime), then
    every award of it (immediate) or its approval (manual) raises OverflowError in
    src/loyaltykit/program.py (now + points_lifetime): a 500 on /award and PUT
    /transactions/<id>"""
    client, program = ss_demo()
    status, body = call(client, "POST", "/v2/loyalty/activities", headers=SS_AUTH, data={
        "activity_id": "forever", "activity_name": "Forever", "activity_description": "d",
        "activity_type": "fixed", "approval_method": method, "max_award_frequency": "0",
        "max_award_frequency_interval": "day", "points_expiration_period": "3000000",
        "points_per_activity": "5", "is_active": "true"})
    assert refused_cleanly(status, body, is_ss_error), (status, body)
    if status != 200:
        return  # refusing the configuration is a fine fix too
    status, body = call(client, "POST", "/v2/loyalty/award", headers=SS_AUTH, data={
        "user_email": "bob@shopsocially.com", "activity_id": "forever"})
    assert refused_cleanly(status, body, is_ss_error), ("award", status, body)
    if method == "manual" and status == 200:
        txn = body["data"]["id"]
        before = settled_state(program)
        status, body = call(client, "PUT", f"/v2/loyalty/transactions/{txn}",
                            headers=SS_AUTH, data={"points_status": "approved"})
        assert refused_cleanly(status, body, is_ss_error), ("approve", status, body)
        if status >= 400:
            assert settled_state(program) == before


# ------------------------------------------------------------------ BUG 4

# fixed on main (session of 2026-12-01); kept as a regression test
def test_smile_reward_lifetime_beyond_the_calendar() -> None:
    """The control plane refuses a lifetime past the core's century, naming its own
    parameter; at the century itself a purchase works (its expiry has a calendar)."""
    client, program = smile_demo()
    before = settled_state(program)
    status, body = call(client, "POST", "/_fake/tenants/demo/points_products",
                        json={"name": "Far", "points_price": 1, "expires_in_days": 3_000_000})
    assert status == 400 and body["error"]["message"].startswith("expires_in_days"), body
    assert settled_state(program) == before
    status, body = call(client, "POST", "/_fake/tenants/demo/points_products",
                        json={"name": "Far", "points_price": 1, "expires_in_days": 36525})
    assert status == 201, (status, body)
    product = body["points_product"]["id"]
    status, body = call(client, "POST", f"/v1/points_products/{product}/purchase",
                        json={"customer_id": 1}, headers=SMILE_AUTH)
    assert status == 201, (status, body)
    assert body["points_purchase"]["reward_fulfillment"]["expires_at"].startswith("2124-")


# ------------------------------------------------------------------ BUG 5

# fixed on main (session of 2026-12-01); kept as a regression test
@pytest.mark.parametrize(("activity", "points"), [
    ("shared_photo_via_desktop_or_mobile", None), ("made_a_purchase", "5")])
def test_ss_award_at_the_end_of_time(activity: str, points: str | None) -> None:
    """The fix: the clock stays within [1900, 9000] (loyaltykit.clock.LATEST) and lifetimes
    within a century, so nothing the core derives from the clock overflows; at the latest
    instant an award still works and is all-or-nothing."""
    client, program = ss_demo()
    status, body = call(client, "POST", "/_fake/clock", json={"now": "9999-12-31T12:00:00Z"})
    assert status == 400 and "9000" in body["error"]["message"], (status, body)
    status, _ = call(client, "POST", "/_fake/clock", json={"now": "9000-01-01T00:00:00Z"})
    assert status == 200
    program.expire_due()
    before, length = program.state(), len(program.journal())
    data = {"user_email": "bob@shopsocially.com", "activity_id": activity}
    if points is not None:
        data["points_passed"] = points
    status, body = call(client, "POST", "/v2/loyalty/award", headers=SS_AUTH, data=data)
    atomic = status < 400 or (len(program.journal()) == length and program.state() == before)
    assert atomic, ("a failed award changed the program", status, body)
    assert refused_cleanly(status, body, is_ss_error), (status, body)
    assert audit(program) == []


# ------------------------------------------------------------------ BUG 6

def test_ss_json_null_becomes_coupon_code_none() -> None:
    """BUG (fixed on main in cd574b5; kept as a regression test):
    fakeservers/shopsocially/views.py _codes turns every item of a JSON
    giftcard_coupon_codes list into str(item): [1, 2, null] uploads the codes '1', '2' and
    'None' (and [true] uploads 'True'), and /redeem then hands the code 'None' to a
    customer. Expected: null items dropped like blanks (or 400 invalid parameters), booleans
    refused"""
    client, _ = ss_demo()
    status, body = call(client, "POST", "/v2/loyalty/redemptions", headers=SS_AUTH,
                        content_type="application/json", data=json_dumps({
                            "redemption_id": "nulls", "redemption_name": "Nulls",
                            "allowed_redeem_points": 1, "redemption_value": "$1",
                            "giftcard_description": "g", "terms_and_conds_text": "t",
                            "giftcard_coupon_codes": [1, 2, None, True],
                            "coupon_expiry": "31-Dec-2099", "is_active": True}))
    assert status < 500, (status, body)
    if status == 200:
        codes = body["data"]["giftcard_coupon_codes"].split(",")
        assert "None" not in codes and "True" not in codes, codes


# ------------------------------------------------------------------ BUG 7

# fixed on main (session of 2026-12-01); kept as a regression test
def test_smile_fixed_product_ignores_points_to_spend() -> None:
    client, program = smile_demo()
    status, body = call(client, "POST", "/v1/points_products/1/purchase",
                        json={"customer_id": 1, "points_to_spend": 0}, headers=SMILE_AUTH)
    assert status == 201, (status, body)
    assert body["points_purchase"]["points_spent"] == program.offer(1).points_price


# ------------------------------------------------------------------ BUG 8

LONE_SURROGATE = (
    "BUG (both halves fixed on main and kept as a regression test): a JSON body "
    "may carry a lone surrogate escape ('\\\\ud800'): json.loads accepts "
    "it, the parsers (fakeservers/_http/parsing.py read_str, "
    "fakeservers/shopsocially/params.py) and the core store it, and every response that "
    "renders it then fails in fakeservers/_http/app.py json_response (UnicodeEncodeError "
    "when werkzeug encodes the body as UTF-8): the write itself answers 500 although it "
    "was applied, and every later list that includes the value answers 500 until the "
    "tenant is reset. Expected: 400 (invalid text) and nothing stored")


@pytest.mark.parametrize("vendor", ["smile", "shopsocially"])
def test_lone_surrogate_is_stored_and_poisons_reads(vendor: str) -> None:
    if vendor == "smile":
        client, program = smile_demo()
        headers = {**SMILE_AUTH, "Content-Type": "application/json"}
        write = ("POST", "/v1/points_transactions",
                 b'{"points_transaction": {"customer_id": 1, "points_change": 5, '
                 b'"description": "\\ud800"}}')
        read, shape = "/v1/points_transactions", is_smile_error
    else:
        client, program = ss_demo()
        headers = {**SS_AUTH, "Content-Type": "application/json"}
        write = ("PUT", "/v2/loyalty/activities/made_a_purchase",
                 b'{"activity_name": "\\ud800"}')
        read, shape = "/v2/loyalty/activities", is_ss_error
    before = settled_state(program)
    status, body = call(client, write[0], write[1], data=write[2], headers=headers)
    assert refused_cleanly(status, body, shape), ("write", status, body)
    if status >= 400:
        assert settled_state(program) == before
    status, body = call(client, "GET", read, headers=headers)
    assert status == 200, ("read after", status, body)


# ------------------------------------------------------------------ BUG 9

def test_ss_refused_redemption_leaves_its_coupon_pool() -> None:
    """BUG (fixed on main in cd574b5; kept as a regression test): POST /v2/loyalty/redemptions
    with every parameter valid but is_active=maybe answers 400 invalid parameters yet leaves
    a PoolDefined event: fakeservers/shopsocially/views.py create_redemption calls
    program.add_pool before wire.parse_bool(is_active) (evaluated inside add_offer's
    arguments). The orphan pool keeps the codes, so the corrected retry (is_active=true) is
    refused too: the option can never be created with those codes. Found by the near-valid
    fuzzer"""
    client, program = ss_demo()
    data = {"redemption_id": "red-new", "redemption_name": "R", "allowed_redeem_points": "5",
            "redemption_value": "$5", "giftcard_description": "g", "terms_and_conds_text": "t",
            "giftcard_coupon_codes": "N1,N2", "coupon_expiry": "31-Dec-2099",
            "is_active": "maybe"}
    before = settled_state(program)
    status, body = call(client, "POST", "/v2/loyalty/redemptions", headers=SS_AUTH, data=data)
    assert (status, body) == (400, {"reason": "invalid parameters", "success": False})
    assert settled_state(program) == before, "the refused request left a coupon pool"
    status, body = call(client, "POST", "/v2/loyalty/redemptions", headers=SS_AUTH,
                        data={**data, "is_active": "true"})
    assert status == 200, ("the corrected retry", status, body)
