"""Issue 11, section 1: numbers and text at every HTTP and seed door are held to
`loyaltykit.limits`, refused in the door's own format before the core is called, and
nothing refused changes a tenant or breaks a later read.

The issue's examples first (each reproduced on main before the fix), then the class:
every numeric field of both vendor APIs and of the control plane, given values just past
its bound, far past it (`1e5000`, `1e800000`, 4,300 digits), negative zero, fractions and
exponents; every text field given one character too many.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reliability_kit import is_control_error, is_smile_error, is_ss_error, settled_state
from werkzeug.test import Client

from fakeservers.shopsocially import DEMO_API_KEY, DEMO_PARTNER_ID
from fakeservers.shopsocially import create_app as ss_create_app
from fakeservers.smile import DEMO_KEY
from fakeservers.smile import create_app as smile_create_app
from loyaltykit import ManualClock, Program
from loyaltykit.limits import (
    MAX_CODE,
    MAX_MONEY,
    MAX_MULTIPLIER,
    MAX_POINTS,
    MAX_TEXT,
)

START = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
SMILE_AUTH = {"Authorization": f"Bearer {DEMO_KEY}"}
SS_AUTH = {"partner-id": DEMO_PARTNER_ID, "api-key": DEMO_API_KEY}
NINES = "9" * 4300
HUGE = ["1e5000", "1e800000", "-1e800000", NINES, "1e-800000", "1" + "0" * 40]


def smile() -> tuple[Client, Program]:
    app = smile_create_app(clock=ManualClock(START))
    return Client(app), app.registry.tenant("demo").program.program


def shopsocially() -> tuple[Client, Program]:
    app = ss_create_app(clock=ManualClock(START))
    return Client(app), app.registry.tenant("demo").program


def send(client: Client, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    """The status and JSON body; an exception escaping the app counts as a 500."""
    try:
        response = client.open(path, method=method, **kwargs)
    except Exception as exc:  # what a real server would answer with a 500
        return 500, repr(exc)
    return response.status_code, response.get_json(silent=True)


def raw_json(client: Client, path: str, text: str, headers: dict[str, str]) -> tuple[int, Any]:
    return send(client, "POST", path, data=text.encode("utf-8", "surrogatepass"),
                headers=headers, content_type="application/json")


def smile_reads_work(client: Client) -> None:
    for path in ("/v1/customers/1", "/v1/customers", "/v1/points_transactions"):
        status, body = send(client, "GET", path, headers=SMILE_AUTH)
        assert status == 200, (path, body)


def order_event(total: Any, external_id: str = "hostile-1") -> dict[str, Any]:
    return {"event": {"topic": "order/updated", "data": {
        "external_id": external_id, "payment_status": "paid", "rewardable_total": total,
        "customer": {"external_id": "c-hostile", "email": "jane@smile.io"}}}}


# ------------------------------------------------------------------ the examples


@pytest.mark.parametrize("total", HUGE)
def test_smile_event_total_beyond_the_money_range_is_refused(total: str) -> None:
    client, program = smile()
    before = settled_state(program)
    status, body = send(client, "POST", "/v1/events", json=order_event(total),
                        headers=SMILE_AUTH)
    assert status == 400 and is_smile_error(body), (status, body)
    assert "rewardable_total" in body["error"]["message"]
    assert settled_state(program) == before
    smile_reads_work(client)


def test_two_credits_of_4300_nines_are_refused_and_reads_still_work() -> None:
    client, program = smile()
    before = settled_state(program)
    for _ in range(2):
        status, body = raw_json(
            client, "/v1/points_transactions",
            f'{{"points_transaction": {{"customer_id": 1, "points_change": {NINES}, '
            '"description": "x"}}', SMILE_AUTH)
        assert status == 400 and is_smile_error(body), (status, body)
        assert "points_change" in body["error"]["message"]
    assert settled_state(program) == before
    smile_reads_work(client)


@pytest.mark.parametrize("where", ["rewardable_total", "subtotal", "grand_total"])
def test_a_thirty_byte_exponent_is_refused_at_the_door(where: str) -> None:
    client, program = smile()
    event = order_event("10")
    event["event"]["data"][where] = "1e800000"
    status, body = send(client, "POST", "/v1/events", json=event, headers=SMILE_AUTH)
    assert status == 400 and where in body["error"]["message"]
    assert program.orders() == []


@pytest.mark.parametrize("total", ["1e800000", NINES, "1e5000", "NaN", "Infinity", 1e300])
def test_activity_rewardable_total_is_bounded(total: Any) -> None:
    """A multiplier earning rule on an activity token earns on `properties.rewardable_total`."""
    client, program = smile()
    response = client.post("/_fake/tenants/demo/earning_rules", json={
        "name": "Per dollar", "token": "spend", "points_per_dollar": "2"})
    assert response.status_code == 201, response.json
    before = settled_state(program)
    status, body = send(client, "POST", "/v1/activities", json={"activity": {
        "customer_id": 1, "token": "spend", "properties": {"rewardable_total": total}}},
        headers=SMILE_AUTH)
    assert status == 400 and is_smile_error(body), (status, body)
    assert "rewardable_total" in body["error"]["message"]
    assert settled_state(program) == before


# ------------------------------------------------------------------ Smile: every numeric field


@pytest.mark.parametrize("value", [MAX_POINTS + 1, -MAX_POINTS - 1, 10**40, "1e5000"])
def test_smile_points_change_beyond_max_points(value: Any) -> None:
    client, program = smile()
    before = settled_state(program)
    status, body = send(client, "POST", "/v1/points_transactions", json={"points_transaction": {
        "customer_id": 1, "points_change": value, "description": "x"}}, headers=SMILE_AUTH)
    assert status == 400 and is_smile_error(body), (status, body)
    assert settled_state(program) == before


def test_smile_points_change_at_max_points_reaches_the_core() -> None:
    client, program = smile()
    status, body = send(client, "POST", "/v1/points_transactions", json={"points_transaction": {
        "customer_id": 1, "points_change": MAX_POINTS, "description": "x"}}, headers=SMILE_AUTH)
    assert status == 201, body
    assert program.member(1).balance == 5000 + MAX_POINTS
    smile_reads_work(client)


@pytest.mark.parametrize("value", [MAX_POINTS + 1, 10**40, NINES])
def test_smile_points_to_spend_is_bounded(value: Any) -> None:
    client, program = smile()
    client.post("/_fake/tenants/demo/points_products", json={
        "name": "Variable", "exchange_type": "variable", "variable_points_step": 100,
        "variable_points_step_reward_value": "1"})
    before = settled_state(program)
    status, body = raw_json(client, "/v1/points_products/3/purchase",
                            f'{{"customer_id": 1, "points_to_spend": {value}}}', SMILE_AUTH)
    assert status == 400 and is_smile_error(body), (status, body)
    assert "points_to_spend" in body["error"]["message"]
    assert settled_state(program) == before


@pytest.mark.parametrize("path", ["/v1/customers?limit={}", "/v1/customers?page={}",
                                  "/v1/customers?page={}&page_size=5",
                                  "/v1/points_transactions?customer_id={}",
                                  "/v1/points_products?page={}"])
@pytest.mark.parametrize("value", [NINES, "9" * 17, "-" + "9" * 17])
def test_smile_query_integers_are_bounded(path: str, value: str) -> None:
    client, _ = smile()
    status, body = send(client, "GET", path.format(value), headers=SMILE_AUTH)
    assert status == 400 and is_smile_error(body), (status, body)


@pytest.mark.parametrize("value", [NINES, "9" * 17])
def test_smile_ids_in_the_path_are_bounded(value: str) -> None:
    client, _ = smile()
    status, body = send(client, "GET", f"/v1/customers/{value}", headers=SMILE_AUTH)
    assert status == 404 and is_smile_error(body), (status, body)


# ------------------------------------------------------------------ Smile: text


@pytest.mark.parametrize(("field", "bound"), [("description", MAX_TEXT),
                                              ("internal_note", MAX_TEXT)])
def test_smile_transaction_text_is_bounded(field: str, bound: int) -> None:
    client, program = smile()
    before = settled_state(program)
    body = {"customer_id": 1, "points_change": 5, "description": "x", field: "a" * (bound + 1)}
    status, answer = send(client, "POST", "/v1/points_transactions",
                          json={"points_transaction": body}, headers=SMILE_AUTH)
    assert status == 400 and field in answer["error"]["message"], answer
    assert settled_state(program) == before
    body[field] = "a" * bound
    status, answer = send(client, "POST", "/v1/points_transactions",
                          json={"points_transaction": body}, headers=SMILE_AUTH)
    assert status == 201, answer


@pytest.mark.parametrize("field", ["distinct_id", "token"])
def test_smile_activity_codes_are_bounded(field: str) -> None:
    client, program = smile()
    before = settled_state(program)
    activity = {"customer_id": 1, "token": "activity_f57a9b5a8d0ac5", "distinct_id": "d1"}
    activity[field] = "x" * (MAX_CODE + 1)
    status, body = send(client, "POST", "/v1/activities", json={"activity": activity},
                        headers=SMILE_AUTH)
    assert status == 400 and field in body["error"]["message"], body
    assert settled_state(program) == before


def test_smile_order_external_id_is_bounded() -> None:
    client, program = smile()
    status, body = send(client, "POST", "/v1/events",
                        json=order_event("10", external_id="o" * (MAX_CODE + 1)),
                        headers=SMILE_AUTH)
    assert status == 400 and "external_id" in body["error"]["message"], body
    assert program.orders() == []


# ------------------------------------------------------------------ ShopSocially


def ss_award(client: Client, **values: Any) -> tuple[int, Any]:
    return send(client, "POST", "/v2/loyalty/award", data={k: str(v) for k, v in values.items()},
                headers=SS_AUTH)


@pytest.mark.parametrize("value", [MAX_POINTS + 1, 10**15, NINES, "1e800000"])
def test_ss_points_passed_beyond_max_points(value: Any) -> None:
    client, program = shopsocially()
    before = settled_state(program)
    status, body = ss_award(client, user_email="bob@shopsocially.com",
                            activity_id="shared_photo_via_desktop_or_mobile", points_passed=value)
    assert status == 400 and is_ss_error(body), (status, body)
    assert settled_state(program) == before


@pytest.mark.parametrize("value", [MAX_MONEY, "1e13", "1e800000", "0.0000001"])
def test_ss_purchase_amount_beyond_the_money_range(value: Any) -> None:
    client, program = shopsocially()
    before = settled_state(program)
    status, body = ss_award(client, user_email="bob@shopsocially.com",
                            activity_id="made_a_purchase", points_passed=value)
    assert status == 400 and is_ss_error(body), (status, body)
    assert settled_state(program) == before


@pytest.mark.parametrize(("field", "value"), [
    ("bonus_multiplier", MAX_MULTIPLIER + 1), ("bonus_multiplier", "1e999999"),
    ("bonus_multiplier", "0.0000001"), ("points_per_activity", MAX_POINTS + 1),
    ("max_award_frequency", 10**17), ("activity_name", "n" * (MAX_TEXT + 1)),
    ("activity_id", "i" * (MAX_CODE + 1)),
])
def test_ss_activity_fields_are_bounded(field: str, value: Any) -> None:
    client, program = shopsocially()
    before = settled_state(program)
    values = {"activity_id": "bounded", "activity_name": "Bounded",
              "activity_description": "d", "activity_type": "bonus_multiplier",
              "approval_method": "immediate", "max_award_frequency": 0,
              "max_award_frequency_interval": "lifetime", "bonus_multiplier": 2,
              "points_per_activity": 1, field: value}
    status, body = send(client, "POST", "/v2/loyalty/activities",
                        data={k: str(v) for k, v in values.items()}, headers=SS_AUTH)
    assert status == 400 and is_ss_error(body), (status, body)
    assert settled_state(program) == before


@pytest.mark.parametrize(("field", "value"), [
    ("first_name", "f" * (MAX_TEXT + 1)), ("uid", "u" * (MAX_CODE + 1)),
    ("gender", "g" * (MAX_TEXT + 1)),
])
def test_ss_user_text_is_bounded(field: str, value: str) -> None:
    client, program = shopsocially()
    before = settled_state(program)
    values = {"first_name": "A", "last_name": "B", "email": "new@example.com", "uid": "new",
              field: value}
    status, body = send(client, "POST", "/v2/loyalty/users", data=values, headers=SS_AUTH)
    assert status == 400 and is_ss_error(body), (status, body)
    assert settled_state(program) == before


@pytest.mark.parametrize(("field", "value"), [
    ("level_minimum_points", 2**53), ("level_bonus_multiplier", MAX_MULTIPLIER + 1),
    ("level_position", 10**17),
])
def test_ss_level_numbers_are_bounded(field: str, value: Any) -> None:
    client, program = shopsocially()
    before = settled_state(program)
    values = {"level_id": "lvl", "level_name": "L", "level_description": "d",
              "level_type": "period", "level_position": 9, "level_minimum_points": 5,
              "level_bonus_multiplier": 1, field: value}
    status, body = send(client, "POST", "/v2/loyalty/levels",
                        data={k: str(v) for k, v in values.items()}, headers=SS_AUTH)
    assert status == 400 and is_ss_error(body), (status, body)
    assert settled_state(program) == before


def test_ss_returned_amount_is_bounded() -> None:
    client, program = shopsocially()
    before = settled_state(program)
    status, body = send(client, "POST", "/v2/loyalty/transaction/return",
                        data={"order_id": "sam-0001", "returned_amount": "1e800000"},
                        headers=SS_AUTH)
    assert status == 400 and is_ss_error(body), (status, body)
    assert settled_state(program) == before


# ------------------------------------------------------------------ the control plane


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/_fake/tenants/demo/customers", {"points_balance": MAX_POINTS + 1}, "points_balance"),
    ("/_fake/tenants/demo/customers", {"email": "e" * (MAX_TEXT + 1)}, "email"),
    ("/_fake/tenants/demo/points_products", {"name": "P", "points_price": NINES},
     "points_price"),
    ("/_fake/tenants/demo/points_products", {"name": "P", "value": "1e800000"}, "value"),
    ("/_fake/tenants/demo/points_products", {"name": "P", "codes": ["c" * (MAX_CODE + 1)]},
     "codes"),
    ("/_fake/tenants/demo/earning_rules", {"name": "R", "token": "t",
                                           "points_per_dollar": "1e999999"},
     "points_per_dollar"),
    ("/_fake/tenants/demo/earning_rules", {"name": "R", "token": "t", "points": MAX_POINTS + 1},
     "points"),
    ("/_fake/tenants/demo/earning_rules", {"name": "R", "token": "t", "points": 1,
                                           "image_url": {"deep": [1]}}, "image_url"),
    ("/_fake/tenants/demo/vip_tiers", {"name": "T", "milestone": "1e5000"}, "milestone"),
    ("/_fake/tenants/demo/vip_tiers", {"name": "T", "milestone": 5,
                                       "multiplier": "NaN"}, "multiplier"),
    ("/_fake/clock/advance", {"seconds": "1e800000"}, "seconds"),
    ("/_fake/tenants", {"name": "n" * (MAX_CODE + 1)}, "name"),
    ("/_fake/tenants", {"name": "ok", "credentials": ["k" * (MAX_CODE + 1)]}, "credentials"),
])
def test_control_plane_numbers_and_text_are_bounded(path: str, body: Any, field: str) -> None:
    client, program = smile()
    before = settled_state(program)
    tenants = client.get("/_fake/tenants").json
    status, answer = raw_json(client, path, json.dumps(body), {})
    assert status == 400 and is_control_error(answer), (status, answer)
    assert field in answer["error"]["message"]
    assert settled_state(program) == before
    assert client.get("/_fake/tenants").json == tenants


# ------------------------------------------------------------------ the class, generated


NUMBERS = st.one_of(
    st.integers(min_value=MAX_POINTS + 1, max_value=10**60),
    st.integers(min_value=-(10**60), max_value=-MAX_POINTS - 1),
    st.integers(min_value=13, max_value=900_000).map(lambda e: f"1e{e}"),
    st.integers(min_value=7, max_value=900_000).map(lambda e: f"1e-{e}"),
    st.integers(min_value=17, max_value=4300).map(lambda n: "9" * n),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "sNaN", "1e400"]),
)


@given(value=NUMBERS, field=st.sampled_from(["points_change", "rewardable_total",
                                             "subtotal", "grand_total"]))
def test_out_of_range_numbers_never_reach_the_smile_core(value: Any, field: str) -> None:
    client, program = smile()
    before = settled_state(program)
    if field == "points_change":
        body: Any = {"points_transaction": {"customer_id": 1, "points_change": value,
                                            "description": "x"}}
    else:
        body = order_event("10")
        body["event"]["data"][field] = value
    status, answer = send(client, "POST",
                          "/v1/points_transactions" if field == "points_change" else "/v1/events",
                          json=body, headers=SMILE_AUTH)
    assert status == 400 and is_smile_error(answer), (status, answer)
    assert settled_state(program) == before
    smile_reads_work(client)


@given(value=NUMBERS, field=st.sampled_from(["points_passed", "returned_amount"]))
def test_out_of_range_numbers_never_reach_the_shopsocially_core(value: Any, field: str) -> None:
    client, program = shopsocially()
    before = settled_state(program)
    if field == "points_passed":
        status, body = ss_award(client, user_email="bob@shopsocially.com",
                                activity_id="made_a_purchase", points_passed=value)
    else:
        status, body = send(client, "POST", "/v2/loyalty/transaction/return",
                            data={"order_id": "sam-0001", "returned_amount": str(value)},
                            headers=SS_AUTH)
    assert status == 400 and is_ss_error(body), (status, body)
    assert settled_state(program) == before


def test_money_within_the_range_is_accepted() -> None:
    """The largest amount the demo's 5-points-per-dollar rule can earn on without passing
    `MAX_POINTS`, with all six places: accepted, and every read still works."""
    client, program = smile()
    largest = str(Decimal(MAX_POINTS) / 5 - Decimal("0.000001"))
    status, body = send(client, "POST", "/v1/events", json=order_event(largest),
                        headers=SMILE_AUTH)
    assert status == 202, body
    assert program.order("hostile-1").amount == Decimal(largest)
    smile_reads_work(client)
