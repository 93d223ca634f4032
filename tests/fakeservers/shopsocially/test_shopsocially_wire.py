"""Wire formats and the docs' own request styles; the demo tenant from the docs' examples."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from ss_client import Api
from werkzeug.test import Client

from fakeservers._http import serve_in_thread
from fakeservers.shopsocially import DEMO_API_KEY, DEMO_PARTNER_ID, create_app, errors, wire
from fakeservers.shopsocially.urls import ENDPOINTS
from loyaltykit import ManualClock, Program
from loyaltykit.limits import MAX_POINTS, MAX_TOTAL_POINTS

DEMO = {"partner-id": DEMO_PARTNER_ID, "api-key": DEMO_API_KEY}


def test_timestamps_and_days() -> None:
    moment = datetime(2016, 1, 14, 6, 33, 22, 999, tzinfo=UTC)
    assert wire.format_time(moment) == "14-Jan-2016 06:33:22"
    assert wire.format_day(date(2016, 4, 10)) == "10-Apr-2016"
    assert wire.parse_coupon_expiry("10-apr-2016") == date(2016, 4, 10)
    assert wire.parse_query_date("03/31/2015") == date(2015, 3, 31)
    assert wire.next_month(datetime(2023, 12, 31, tzinfo=UTC)) == datetime(2024, 1, 31, tzinfo=UTC)


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2999, 12, 31)))
def test_query_dates_round_trip(moment: datetime) -> None:
    day = moment.date()
    text = f"{day.month:02d}/{day.day:02d}/{day.year:04d}"
    assert wire.parse_query_date(text) == day
    assert wire.parse_coupon_expiry(wire.format_day(day) or "") == day


@given(st.text(max_size=20))
def test_bad_dates_are_only_ever_unexpected_date_format(text: str) -> None:
    try:
        wire.parse_query_date(text)
    except errors.ApiError as error:
        assert (error.status, error.reason) == (400, errors.UNEXPECTED_DATE_FORMAT)


@given(st.one_of(st.text(max_size=12), st.integers(), st.floats(), st.booleans(), st.none()))
def test_numbers_parse_or_refuse_cleanly(value: object) -> None:
    try:
        number = wire.parse_decimal(value)
    except errors.ApiError as error:
        assert error.reason == errors.INVALID_PARAMETERS
    else:
        assert isinstance(number, Decimal) and number.is_finite()


@pytest.mark.parametrize("text", ["1e999999999", "99999999999999999", "-1e20", "Infinity"])
def test_absurd_numbers_are_refused_quickly(text: str) -> None:
    with pytest.raises(errors.ApiError):
        wire.parse_int(text)
    assert wire.parse_int(str(MAX_POINTS)) == MAX_POINTS
    with pytest.raises(errors.ApiError):
        wire.parse_int(str(MAX_POINTS + 1))
    assert wire.parse_int("9007199254740991", maximum=MAX_TOTAL_POINTS) == MAX_TOTAL_POINTS


def test_decimal_to_wire() -> None:
    assert wire.decimal_to_wire(Decimal("2.50")) == 2.5
    assert wire.decimal_to_wire(Decimal("3.000")) == 3


def test_curl_bodies_with_stray_spaces_work(api: Api, client: Client) -> None:
    api.user("ann@example.com")
    api.activity("signup")
    # curl --data " user_email = ann@example.com" --data " points_passed = 5" ...
    body = " user_email = ann@example.com& points_passed = 5& activity_id= signup"
    response = client.post(
        "/v2/loyalty/award",
        data=body,
        headers=api.headers,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"]["points"] == 5


def test_colon_style_fields_of_the_2017_page(api: Api, client: Client) -> None:
    api.user("ann@example.com")
    api.activity("signup")
    body = "user_email: ann@example.com&activity_id: signup"
    response = client.post(
        "/v2/loyalty/award",
        data=body,
        headers=api.headers,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200 and response.get_json()["data"]["points"] == 100


def test_json_without_content_type_and_get_with_a_body(api: Api, client: Client) -> None:
    api.user("ann@example.com")
    api.activity("signup")
    payload = json.dumps({"user_email": "ann@example.com", "activity_id": "signup"})
    response = client.post("/v2/loyalty/award", data=payload, headers=api.headers)
    assert response.status_code == 200
    # requests.get(url, data=json.dumps({...})) as on the 2017 page
    query = json.dumps(
        {"from_date": "01/01/2024", "to_date": "01/31/2024", "points_status": ["auto_approved"]}
    )
    response = client.get("/v2/loyalty/transactions", data=query, headers=api.headers)
    assert response.status_code == 200 and response.get_json()["data"]["total"] == 1
    # requests.get(url, params=json.dumps({...})): the JSON lands in the query string
    response = client.get("/v2/loyalty/transactions?" + query, headers=api.headers)
    assert response.status_code == 200 and response.get_json()["data"]["total"] == 1


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '{"a": ' * 5000 + "1" + "}" * 5000])
def test_broken_json_is_a_400(api: Api, client: Client, body: str) -> None:
    response = client.post(
        "/v2/loyalty/award", data=body, headers=api.headers, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json() == {"reason": errors.INVALID_PARAMETERS, "success": False}


def test_nested_json_values_are_invalid_not_crashes(api: Api) -> None:
    api.user("ann@example.com")
    status, body = api.post("/award", {"user_email": {"a": 1}, "activity_id": ["x"]}, as_json=True)
    assert (status, body["reason"]) == (400, errors.INVALID_PARAMETERS)


_TEXT = st.one_of(st.text(max_size=8), st.sampled_from(
    ["", "0", "-1", "1", "1.5", "true", "[]", '["pending"]', "ann@example.com",
     "01/01/2024", "31-Dec-2030", "signup", "fixed", "day", "period"]))
_JSON = st.one_of(_TEXT, st.integers(), st.floats(), st.booleans(), st.none(),
                  st.lists(_TEXT, max_size=3), st.dictionaries(_TEXT, _TEXT, max_size=2))
_NAMES = st.sampled_from([
    "user_email", "activity_id", "points_passed", "order_id", "redemption_id", "reason",
    "from_date", "to_date", "points_status", "start_index", "count", "first_name",
    "last_name", "email", "uid", "loyalty_level_id", "activity_name", "activity_description",
    "activity_type", "approval_method", "max_award_frequency", "max_award_frequency_interval",
    "level_id", "level_type", "level_minimum_points", "returned_amount",
    "giftcard_coupon_codes", "coupon_expiry", "user_id", "filter_by", "associated_levels",
    "is_active", "bonus_multiplier", "allowed_redeem_points", "level_position",
    "level_bonus_multiplier", "redemption_name", "redemption_value", "giftcard_description",
    "terms_and_conds_text", "is_still_valid", "order_by"])


def _fill(path: str, segment: str) -> str:
    for name in ("<txn_id>", "<user_email>", "<uid>", "<activity_id>", "<redemption_id>",
                 "<level_id>"):
        path = path.replace(name, quote(segment, safe="") or "x")
    return "/v2/loyalty" + path


def _demo() -> tuple[Client, Program]:
    """A demo app whose due time events (the seed's old expiries) are already applied, so
    that any later journal entry comes from the request itself."""
    app = create_app(clock=ManualClock(datetime(2024, 1, 1, tzinfo=UTC)))
    program = app.registry.tenant("demo").program
    program.expire_due()
    return Client(app), program


def _assert_clean(response: Any, program: Program, before: int) -> None:
    """No 500; and a refused request left no trace in the program's journal."""
    if response.status_code == 308:  # "//" in the path: redirected to the merged path
        assert response.headers["Location"]
        return
    # 405: a segment of "/" collapses the path onto another route ("//" is merged), which
    # may not take the method (PUT .../transactions// is a PUT on .../transactions/)
    assert response.status_code in (200, 400, 404, 405), response.get_data(as_text=True)
    assert response.get_json()["success"] is (response.status_code == 200)
    if response.status_code != 200:
        assert len(program.journal()) == before, response.get_json()


@given(endpoint=st.sampled_from(ENDPOINTS), params=st.dictionaries(_NAMES, _TEXT, max_size=8),
       segment=_TEXT)
def test_no_form_input_makes_a_500(endpoint: tuple[str, str, str], params: dict[str, str],
                                   segment: str) -> None:
    client, program = _demo()
    before = len(program.journal())
    path, method, _ = endpoint
    _assert_clean(client.open(_fill(path, segment), method=method, headers=DEMO,
                              data=params if method != "GET" else None,
                              query_string=params if method == "GET" else None),
                  program, before)


@given(endpoint=st.sampled_from(ENDPOINTS), params=st.dictionaries(_NAMES, _JSON, max_size=8),
       segment=_TEXT)
@example(endpoint=("/transactions/<txn_id>", "PUT", "update_transaction"), params={},
         segment="/")
def test_no_json_input_makes_a_500(endpoint: tuple[str, str, str], params: dict[str, Any],
                                   segment: str) -> None:
    client, program = _demo()
    before = len(program.journal())
    path, method, _ = endpoint
    _assert_clean(client.open(_fill(path, segment), method=method, headers=DEMO,
                              data=json.dumps(params), content_type="application/json"),
                  program, before)


def test_demo_tenant_reproduces_the_docs(clock: ManualClock) -> None:
    client = Client(create_app(clock=clock))
    response = client.get(
        "/v2/loyalty/transactions?from_date=01/14/2016&to_date=01/14/2016", headers=DEMO
    )
    data = response.get_json()["data"]
    assert data["total"] == 3
    first = data["transactions"][0]
    assert (first["points"], first["created_time"], first["activity_id"]) == (
        22,
        "14-Jan-2016 06:33:22",
        "shared_photo_via_desktop_or_mobile",
    )
    assert first["points_expiration_date"] == "14-Mar-2016 06:33:22"
    assert first["points_status"] == "expired"  # the demo's clock is long past March 2016
    assert data["transactions"][1]["order_id"] == "1452749387649368175"
    user = client.get("/v2/loyalty/users/bob@shopsocially.com", headers=DEMO).get_json()
    assert user["data"]["last_award_transaction"] == {
        "date": "07-Dec-2015 13:23:35",
        "points": 300,
        "name": "Became a Twitter Follower",
    }
    redemptions = client.get("/v2/loyalty/redemptions", headers=DEMO).get_json()["data"]
    assert {r["redemption_id"] for r in redemptions} == {
        "$50_gift_card",
        "coupon_1k",
        "testcoupon",
        "test_redemption",
    }
    levels = client.get("/v2/loyalty/levels/all_star_level", headers=DEMO).get_json()["data"]
    assert levels["level_bonus_multiplier"] == 2.5 and levels["level_type"] == "lifetime"
    award = client.post(
        "/v2/loyalty/award",
        headers=DEMO,
        data={
            "user_email": "Rohit@shopsocially.com",
            "points_passed": "100",
            "activity_id": "made_a_purchase",
        },
    ).get_json()
    assert award["data"]["points"] == 100 and award["data"]["points_status"] == "auto_approved"


def test_demo_reset_restores_the_seed(clock: ManualClock) -> None:
    app = create_app(clock=clock)
    client = Client(app)
    client.post(
        "/v2/loyalty/deduct",
        headers=DEMO,
        data={"user_email": "bob@shopsocially.com", "reason": "x", "points_passed": "300"},
    )
    program: Program = app.registry.tenant("demo").program
    assert program.member_by_email("bob@shopsocially.com").balance == 0
    assert client.post("/_fake/tenants/demo/reset").status_code == 200
    user = client.get("/v2/loyalty/users/bob@shopsocially.com", headers=DEMO).get_json()
    assert user["data"]["available_points"] == 300


def test_a_restored_snapshot_serves_the_same_responses(clock: ManualClock) -> None:
    app = create_app(clock=clock)
    client = Client(app)
    paths = ["/v2/loyalty/transactions?from_date=01/01/2015&to_date=12/31/2016",
             "/v2/loyalty/users?from_date=01/01/2015&to_date=12/31/2016",
             "/v2/loyalty/activities", "/v2/loyalty/redemptions", "/v2/loyalty/levels",
             "/v2/loyalty/users/sam@acosproductionservices.co.uk"]
    before = [client.get(path, headers=DEMO).get_json() for path in paths]
    tenant = app.registry.tenant("demo")
    tenant.program = Program.restore(json.loads(json.dumps(tenant.program.snapshot())),
                                     clock=tenant.clock)
    assert [client.get(path, headers=DEMO).get_json() for path in paths] == before


def test_the_same_app_over_a_real_socket(clock: ManualClock) -> None:
    server = serve_in_thread(create_app(clock=clock), "127.0.0.1", 0)
    try:
        request = urllib.request.Request(
            server.url + "/v2/loyalty/award", method="POST", headers=DEMO,
            data=b"user_email=bob%40shopsocially.com&activity_id=shared_via_email")
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
        assert body["data"]["points"] == 100 and body["success"] is True
        bad = urllib.request.Request(server.url + "/v2/loyalty/levels",
                                     headers={"partner-id": "demo-partner", "api-key": "no"})
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(bad, timeout=10)
        assert caught.value.code == 401
        assert json.loads(caught.value.read()) == {
            "reason": errors.AUTHENTICATION_FAILURE, "success": False}
    finally:
        server.stop()


def test_lone_surrogates_in_json_are_refused(api: Api, client: Client) -> None:
    body = '{"activity_id": "a\\udfff", "activity_name": "A", "activity_description": "d",' \
           ' "activity_type": "fixed", "approval_method": "immediate",' \
           ' "max_award_frequency": 1, "max_award_frequency_interval": "day"}'
    response = client.post("/v2/loyalty/activities", data=body, headers=api.headers,
                           content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {"reason": errors.INVALID_PARAMETERS, "success": False}
    assert api.ok("GET", "/activities") == []


@pytest.mark.parametrize("chunked", [False, True])
def test_a_form_body_is_read_with_or_without_a_declared_length(chunked: bool) -> None:
    # a declared Content-Length is read straight from wsgi.input; a chunked body (no
    # length) goes through werkzeug's reader: both award
    from io import BytesIO

    from werkzeug.test import EnvironBuilder, run_wsgi_app

    client, program = _demo()
    body = b"user_email=bob%40shopsocially.com&activity_id=shared_photo_via_desktop_or_mobile"
    environ = EnvironBuilder(
        path="/v2/loyalty/award", method="POST", headers=DEMO, data=body,
        content_type="application/x-www-form-urlencoded",
    ).get_environ()
    if chunked:
        del environ["CONTENT_LENGTH"]
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
        environ["wsgi.input"] = BytesIO(body)
    before = len(program.journal())
    app_iter, status, _headers = run_wsgi_app(client.application, environ)
    answer = json.loads(b"".join(app_iter))
    assert status.startswith("200"), answer
    assert answer["success"] is True and answer["data"]["points"] > 0
    assert len(program.journal()) > before
