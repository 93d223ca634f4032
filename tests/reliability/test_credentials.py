"""Credentials matrix: every API route of both fakes x every kind of credential.

For each route (enumerated from the apps' url Maps; a route without a case here fails the
test) and each of: no credentials, malformed or wrong credentials, another tenant's valid
credentials (aimed at the first tenant's ids), the first tenant's own credentials (aimed at
the other's ids), and for Smile a public-app token:

* the status is the documented one: 401 with the vendor's exact body for missing / wrong
  credentials; 401 with the public-app sentence exactly on the six endpoints the Smile
  reference restricts (and never 401 elsewhere); for another tenant's ids, 404 (or the
  caller's own data on list routes), never the owner's object;
* no response body ever contains a distinctive string of the other tenant (a second tenant
  is created through the control plane with its own members, rules, rewards, codes, tiers,
  transactions and orders);
* no refused request changes either tenant's state.

Control-plane routes (`/_fake/...`) are the fakes' own administration API and take no
credentials by design (docs/smile.md, docs/shopsocially.md): they are not in the matrix.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from reliability_kit import QUERY_DATES, is_smile_error, is_ss_error, settled_state
from werkzeug.test import Client

from fakeservers.shopsocially import DEMO_API_KEY, DEMO_PARTNER_ID, ShopSociallyApp
from fakeservers.shopsocially import create_app as ss_create_app
from fakeservers.smile import DEMO_KEY, DEMO_PUBLIC_APP_TOKEN, SmileApp
from fakeservers.smile import create_app as smile_create_app
from fakeservers.smile.urls import PUBLIC_APP_FORBIDDEN
from loyaltykit import ManualClock, Program

START = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
RIVAL = "rival"
SMILE_RIVAL_KEY = "rival-secret-key"
SMILE_RIVAL_PUBLIC = "rival-public-token"
SS_RIVAL = ("rival-partner", "rival-api-key")
RIVAL_MARKERS = ["zebulon", "rivalsson", "rivalcode", "rival-desc", "rival_token",
                 "rival reward", "rival tier", "rival_activity", "rival_redemption",
                 "rival_level", "rival-order", "rival.example", "rival rule", "rival order"]
SMILE_DEMO_MARKERS = ["smile.io", "t-shirt", "sunglasses", "activity_f57a9b5a8d0ac5",
                      "demo-order", "placed an order", "tshirt-", "place an order",
                      "complete an activity", "silver"]
SS_DEMO_MARKERS = ["shopsocially.com", "made_a_purchase", "get50off", "leopard", "rohit",
                   "demo-order", "hotmail"]
STATS = {"requests": 0}

Spec = Callable[[dict[str, Any]], tuple[str, Any]]


def _body(response: Any) -> Any:
    return json.loads(response.get_data(as_text=True))


# ================================================================== Smile

@pytest.fixture(scope="module")
def smile() -> SmileApp:
    app = smile_create_app(clock=ManualClock(START))
    client = Client(app)

    def control(path: str, body: Any) -> Any:
        response = client.post("/_fake" + path, json=body)
        assert response.status_code in (200, 201), (path, response.json)
        return response.json

    control("/tenants", {"name": RIVAL, "credentials": [
        SMILE_RIVAL_KEY, {"key": SMILE_RIVAL_PUBLIC, "kind": "public_app"}]})
    base = f"/tenants/{RIVAL}"
    control(base + "/customers", {"email": "zebulon@rival.example", "first_name": "Zebulon",
                                  "last_name": "Rivalsson", "external_id": "rival-xid",
                                  "points_balance": 777})
    control(base + "/earning_rules", {"name": "Rival Rule", "token": "rival_token", "points": 7})
    control(base + "/earning_rules", {"name": "Rival Order", "token": "order",
                                      "points_per_dollar": "1"})
    control(base + "/points_products", {"name": "Rival Reward", "points_price": 10,
                                        "codes": ["RIVALCODE1", "RIVALCODE2"]})
    control(base + "/vip_tiers", {"name": "Rival Tier", "milestone": "1"})
    rival = {"Authorization": f"Bearer {SMILE_RIVAL_KEY}"}
    demo = {"Authorization": f"Bearer {DEMO_KEY}"}
    calls = [
        (rival, "/v1/points_transactions", {"points_transaction": {
            "customer_id": 1, "points_change": 5, "description": "rival-desc"}}),
        (rival, "/v1/points_products/1/purchase", {"customer_id": 1}),
        (rival, "/v1/activities", {"activity": {"customer_id": 1, "token": "rival_token"}}),
        (rival, "/v1/events", {"event": {"topic": "order/updated", "data": {
            "external_id": "rival-order", "rewardable_total": "9", "payment_status": "paid",
            "customer": {"external_id": "rival-xid"}}}}),
        (demo, "/v1/points_products/1/purchase", {"customer_id": 1}),
        (demo, "/v1/points_products/2/purchase", {"customer_id": 1}),
        (demo, "/v1/points_products/1/purchase", {"customer_id": 2}),
        (demo, "/v1/events", {"event": {"topic": "order/updated", "data": {
            "external_id": "demo-order", "rewardable_total": "9", "payment_status": "paid",
            "customer": {"external_id": "demo-x1", "email": "jane@smile.io"}}}}),
    ]
    for headers, path, body in calls:
        response = client.post(path, json=body, headers=headers)
        assert response.status_code in (201, 202), (path, response.json)
    return app


def _smile_ids(app: SmileApp, tenant: str) -> dict[str, Any]:
    program = app.registry.tenant(tenant).program.program
    return {
        "customer": max(m.id for m in program.members()),
        "product": max(o.id for o in program.offers()),
        "purchase": max(f.id for f in program.fulfillments()),
        "txn": max(t.id for t in program.transactions()),
        "order": "demo-order" if tenant == "demo" else "rival-order",
        "xid": "demo-x1" if tenant == "demo" else "rival-xid",
    }


SMILE_SPECS: dict[tuple[str, str], tuple[Spec, int]] = {
    # (method, rule) -> (request for the target tenant's ids, status when another tenant
    # aims at them: 404 = not found there; 200 = its own list)
    ("GET", "/v1/customers"): (lambda i: ("/v1/customers", None), 200),
    ("GET", "/v1/customers/<int:customer_id>"): (
        lambda i: (f"/v1/customers/{i['customer']}?include=vip_status", None), 404),
    ("POST", "/v1/customer_identities/create_or_update"): (
        lambda i: ("/v1/customer_identities/create_or_update",
                   {"customer_identity": {"distinct_id": "probe", "email": ""}}), 400),
    ("POST", "/v1/activities"): (lambda i: ("/v1/activities", {"activity": {
        "customer_id": i["customer"], "token": "activity_f57a9b5a8d0ac5"}}), 404),
    ("GET", "/v1/points_products"): (lambda i: ("/v1/points_products", None), 200),
    ("GET", "/v1/points_products/<int:product_id>"): (
        lambda i: (f"/v1/points_products/{i['product']}", None), 404),
    ("POST", "/v1/points_products/<int:product_id>/purchase"): (
        lambda i: (f"/v1/points_products/{i['product']}/purchase",
                   {"customer_id": i["customer"]}), 404),
    ("GET", "/v1/points_purchases"): (lambda i: ("/v1/points_purchases", None), 200),
    ("GET", "/v1/points_purchases/<int:purchase_id>"): (
        lambda i: (f"/v1/points_purchases/{i['purchase']}", None), 404),
    ("GET", "/v1/points_transactions"): (
        lambda i: ("/v1/points_transactions?limit=250", None), 200),
    ("POST", "/v1/points_transactions"): (lambda i: ("/v1/points_transactions", {
        "points_transaction": {"customer_id": i["customer"], "points_change": -1,
                               "description": "probe"}}), 404),
    ("GET", "/v1/points_transactions/<int:transaction_id>"): (
        lambda i: (f"/v1/points_transactions/{i['txn']}", None), 404),
    ("GET", "/v1/reward_fulfillments"): (
        lambda i: ("/v1/reward_fulfillments?limit=250", None), 200),
    ("GET", "/v1/earning_rules"): (lambda i: ("/v1/earning_rules", None), 200),
    ("GET", "/v1/points_settings"): (lambda i: ("/v1/points_settings", None), 200),
    ("GET", "/v1/vip_tiers"): (lambda i: ("/v1/vip_tiers?include=perks", None), 200),
    ("POST", "/v1/events"): (lambda i: ("/v1/events", {"event": {
        "topic": "order/deleted", "data": {"external_id": i["order"]}}}), 404),
    ("POST", "/v1/events/"): (lambda i: ("/v1/events/", {"event": {
        "topic": "customer/deleted", "data": {"external_id": i["xid"]}}}), 404),
}


def _api_rules(app: Any) -> list[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/_fake"):
            continue
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            found.add((method, rule.rule))
    return sorted(found)


def _smile_states(app: SmileApp) -> Any:
    return [settled_state(t.program.program) for t in app.registry.tenants()]


def _no_markers(body: Any, markers: list[str], where: Any) -> None:
    text = json.dumps(body, ensure_ascii=False).lower()
    leaked = [m for m in markers if m in text]
    assert leaked == [], ("another tenant's data in a response", leaked, where, text[:400])


def _smile_send(client: Client, method: str, path: str, body: Any,
                headers: dict[str, str]) -> tuple[int, Any]:
    STATS["requests"] += 1
    response = client.open(path, method=method, json=body, headers=headers)
    return response.status_code, _body(response)


SMILE_BAD = {
    "none": {},
    "empty bearer": {"Authorization": "Bearer "},
    "basic scheme": {"Authorization": f"Basic {DEMO_KEY}"},
    "wrong key": {"Authorization": "Bearer sk_wrong_0000"},
    "key as token param": {"X-Api-Key": DEMO_KEY},
    "lower-case prefix of a key": {"Authorization": f"Bearer {DEMO_KEY[:-1]}"},
}


def test_smile_matrix_covers_every_route(smile: SmileApp) -> None:
    assert sorted(SMILE_SPECS) == _api_rules(smile)


@pytest.mark.parametrize(("method", "rule"), sorted(SMILE_SPECS))
def test_smile_credentials(smile: SmileApp, method: str, rule: str) -> None:
    client = Client(smile)
    spec, cross_status = SMILE_SPECS[(method, rule)]
    demo_ids, rival_ids = _smile_ids(smile, "demo"), _smile_ids(smile, RIVAL)
    everyone = RIVAL_MARKERS + SMILE_DEMO_MARKERS

    # missing or wrong credentials: 401, exact body, nothing changes, nobody's data
    for label, headers in SMILE_BAD.items():
        path, body = spec(demo_ids)
        before = _smile_states(smile)
        status, answer = _smile_send(client, method, path, body, headers)
        where = (label, method, path)
        assert (status, answer) == (401, {"error": {"message": "Invalid credentials."}}), where
        assert _smile_states(smile) == before, where
        _no_markers(answer, everyone, where)

    # public-app tokens: refused exactly where the reference says so
    endpoint = next(r.endpoint for r in smile.url_map.iter_rules()
                    if r.rule == rule and method in (r.methods or ()))
    for token, ids, foreign in ((DEMO_PUBLIC_APP_TOKEN, demo_ids, RIVAL_MARKERS),
                                (SMILE_RIVAL_PUBLIC, rival_ids, SMILE_DEMO_MARKERS)):
        path, body = spec(ids)
        before = _smile_states(smile)
        status, answer = _smile_send(client, method, path, body,
                                     {"Authorization": f"Bearer {token}"})
        where = ("public app", token, method, path, status, answer)
        if endpoint in PUBLIC_APP_FORBIDDEN:
            assert (status, answer) == (401, {"error": {
                "message": "This endpoint is not available to public Smile apps."}}), where
            assert _smile_states(smile) == before, where
        else:
            assert status != 401, where
        _no_markers(answer, foreign, where)

    # another tenant's credentials aimed at the demo tenant's ids, and the reverse
    for headers, target, foreign, tenant in (
        ({"Authorization": f"Bearer {SMILE_RIVAL_KEY}"}, demo_ids, SMILE_DEMO_MARKERS, "demo"),
        ({"Authorization": f"Bearer {DEMO_KEY}"}, rival_ids, RIVAL_MARKERS, RIVAL),
    ):
        path, body = spec(target)
        owner = smile.registry.tenant(tenant).program.program
        owner_before = settled_state(owner)
        status, answer = _smile_send(client, method, path, body, headers)
        where = ("other tenant", headers, method, path, status, answer)
        assert status < 500 and status != 401, where
        if status >= 400:
            assert is_smile_error(answer), where
        _no_markers(answer, foreign, where)
        assert settled_state(owner) == owner_before, where
        if tenant == "demo":  # the rival's ids are all below the demo's
            assert status == cross_status or (cross_status == 200 and status in (200, 201)), where


# ================================================================== ShopSocially

@pytest.fixture(scope="module")
def ss() -> ShopSociallyApp:
    app = ss_create_app(clock=ManualClock(START))
    client = Client(app)
    response = client.post("/_fake/tenants", json={"name": RIVAL, "credentials": [
        list(SS_RIVAL)]})
    assert response.status_code == 201, response.json
    rival = {"partner-id": SS_RIVAL[0], "api-key": SS_RIVAL[1]}
    demo = {"partner-id": DEMO_PARTNER_ID, "api-key": DEMO_API_KEY}
    calls = [
        (rival, "/v2/loyalty/levels", {
            "level_id": "rival_level", "level_name": "Rival Tier", "level_description": "r",
            "level_type": "lifetime", "level_position": 1, "level_minimum_points": 1,
            "level_bonus_multiplier": 1, "is_active": "true"}),
        (rival, "/v2/loyalty/activities", {
            "activity_id": "rival_activity", "activity_name": "Rival Rule",
            "activity_description": "rival-desc", "activity_type": "bonus_multiplier",
            "approval_method": "immediate", "max_award_frequency": 0,
            "max_award_frequency_interval": "lifetime", "bonus_multiplier": 1,
            "is_active": "true"}),
        (rival, "/v2/loyalty/redemptions", {
            "redemption_id": "rival_redemption", "redemption_name": "Rival Reward",
            "allowed_redeem_points": 1, "redemption_value": "$1",
            "giftcard_description": "rival-desc", "terms_and_conds_text": "rival-desc",
            "giftcard_coupon_codes": "RIVALCODE1,RIVALCODE2", "coupon_expiry": "31-Dec-2099",
            "is_active": "true"}),
        (rival, "/v2/loyalty/users", {"first_name": "Zebulon", "last_name": "Rivalsson",
                                      "email": "zebulon@rival.example", "uid": "rival-uid"}),
        (rival, "/v2/loyalty/award", {"user_email": "zebulon@rival.example",
                                      "activity_id": "rival_activity", "points_passed": 50,
                                      "order_id": "rival-order"}),
        (rival, "/v2/loyalty/redeem", {"user_email": "zebulon@rival.example",
                                       "redemption_id": "rival_redemption"}),
        (rival, "/v2/loyalty/deduct", {"user_email": "zebulon@rival.example",
                                       "reason": "rival-desc", "points_passed": 1}),
        (demo, "/v2/loyalty/award", {"user_email": "bob@shopsocially.com",
                                     "activity_id": "made_a_purchase", "points_passed": 20,
                                     "order_id": "demo-order"}),
    ]
    for headers, path, body in calls:
        answer = client.post(path, data=body, headers=headers)
        assert answer.status_code == 200, (path, answer.json)
    return app


def _ss_ids(app: ShopSociallyApp, tenant: str) -> dict[str, Any]:
    program: Program = app.registry.tenant(tenant).program
    member = max(program.members(), key=lambda m: m.id)
    return {
        "email": quote(member.email or "", safe=""),
        "uid": quote(member.external_id or "", safe=""),
        "user_id": member.id,
        "txn": max(t.id for t in program.transactions()),
        "activity": "made_a_purchase" if tenant == "demo" else "rival_activity",
        "redemption": "$50_gift_card" if tenant == "demo" else "rival_redemption",
        "level": "leopard" if tenant == "demo" else "rival_level",
        "order": "demo-order" if tenant == "demo" else "rival-order",
        "plain_email": member.email,
    }


def _q(**values: Any) -> str:
    return "&".join(f"{k}={quote(str(v), safe='')}" for k, v in values.items())


SS_SPECS: dict[tuple[str, str], tuple[Spec, int]] = {
    ("POST", "/award"): (lambda i: ("/award", {"user_email": i["plain_email"],
                                               "activity_id": i["activity"]}), 404),
    ("POST", "/redeem"): (lambda i: ("/redeem", {"user_email": i["plain_email"],
                                                 "redemption_id": i["redemption"]}), 404),
    ("POST", "/deduct"): (lambda i: ("/deduct", {"user_email": i["plain_email"],
                                                 "reason": "probe", "points_passed": 1}), 404),
    ("GET", "/transactions"): (lambda i: ("/transactions?" + _q(**QUERY_DATES), None), 200),
    ("GET", "/transactions/<txn_id>"): (lambda i: (f"/transactions/{i['txn']}", None), 404),
    ("PUT", "/transactions/<txn_id>"): (
        lambda i: (f"/transactions/{i['txn']}", {"points_status": "approved"}), 404),
    ("GET", "/users"): (lambda i: ("/users?" + _q(**QUERY_DATES), None), 200),
    ("GET", "/users/<user_email>"): (lambda i: (f"/users/{i['email']}", None), 404),
    ("POST", "/users"): (lambda i: ("/users", {"email": i["plain_email"]}), 400),
    ("PUT", "/users/<uid>"): (lambda i: (f"/users/{i['uid']}", {"first_name": "Probe"}), 404),
    ("GET", "/users/<user_email>/transactions"): (
        lambda i: (f"/users/{i['email']}/transactions?" + _q(**QUERY_DATES), None), 404),
    ("GET", "/activities"): (lambda i: ("/activities", None), 200),
    ("POST", "/activities"): (lambda i: ("/activities", {"activity_id": i["activity"]}), 400),
    ("GET", "/activities/<activity_id>"): (
        lambda i: (f"/activities/{i['activity']}", None), 404),
    ("PUT", "/activities/<activity_id>"): (
        lambda i: (f"/activities/{i['activity']}", {"activity_name": "Probe"}), 404),
    ("GET", "/redemptions"): (lambda i: ("/redemptions", None), 200),
    ("POST", "/redemptions"): (
        lambda i: ("/redemptions", {"redemption_id": i["redemption"]}), 400),
    ("GET", "/redemptions/<redemption_id>"): (
        lambda i: (f"/redemptions/{quote(i['redemption'], safe='')}", None), 404),
    ("PUT", "/redemptions/<redemption_id>"): (
        lambda i: (f"/redemptions/{quote(i['redemption'], safe='')}",
                   {"redemption_name": "Probe"}), 404),
    ("GET", "/levels"): (lambda i: ("/levels", None), 200),
    ("POST", "/levels"): (lambda i: ("/levels", {"level_id": i["level"]}), 400),
    ("GET", "/levels/<level_id>"): (lambda i: (f"/levels/{i['level']}", None), 404),
    ("PUT", "/levels/<level_id>"): (
        lambda i: (f"/levels/{i['level']}", {"level_name": "Probe"}), 404),
    ("POST", "/transaction/return"): (
        lambda i: ("/transaction/return", {"order_id": i["order"]}), 404),
    ("GET", "/users/<user_email>/redemptions"): (
        lambda i: (f"/users/{i['email']}/redemptions", None), 404),
    ("GET", "/users/points"): (lambda i: ("/users/points?" + _q(user_id=i["user_id"]), None),
                               404),
}

SS_BAD = {
    "none": ({}, "authentication missing"),
    "partner only": ({"partner-id": DEMO_PARTNER_ID}, "authentication missing"),
    "key only": ({"api-key": DEMO_API_KEY}, "authentication missing"),
    "blank": ({"partner-id": " ", "api-key": " "}, "authentication missing"),
    "wrong key": ({"partner-id": DEMO_PARTNER_ID, "api-key": "nope"},
                  "authentication failure"),
    "unknown partner": ({"partner-id": "nobody", "api-key": DEMO_API_KEY},
                        "authentication failure"),
    "partner of one, key of another": (
        {"partner-id": DEMO_PARTNER_ID, "api-key": SS_RIVAL[1]}, "authentication failure"),
    "swapped": ({"partner-id": DEMO_API_KEY, "api-key": DEMO_PARTNER_ID},
                "authentication failure"),
    "bearer instead": ({"Authorization": f"Bearer {DEMO_API_KEY}"}, "authentication missing"),
}


def _ss_states(app: ShopSociallyApp) -> Any:
    return [settled_state(t.program) for t in app.registry.tenants()]


def _ss_send(client: Client, method: str, path: str, body: Any, headers: dict[str, str],
             prefix: str) -> tuple[int, Any]:
    STATS["requests"] += 1
    response = client.open(prefix + path, method=method, data=body, headers=headers)
    return response.status_code, _body(response)


def test_shopsocially_matrix_covers_every_route(ss: ShopSociallyApp) -> None:
    expected = {(m, p.removeprefix("/v2/loyalty").removeprefix("/loyalty"))
                for m, p in _api_rules(ss)}
    assert sorted(SS_SPECS) == sorted(expected)


@pytest.mark.parametrize("prefix", ["/v2/loyalty", "/loyalty"])
@pytest.mark.parametrize(("method", "rule"), sorted(SS_SPECS))
def test_shopsocially_credentials(ss: ShopSociallyApp, method: str, rule: str,
                                  prefix: str) -> None:
    client = Client(ss)
    spec, cross_status = SS_SPECS[(method, rule)]
    demo_ids, rival_ids = _ss_ids(ss, "demo"), _ss_ids(ss, RIVAL)
    everyone = RIVAL_MARKERS + SS_DEMO_MARKERS

    for label, (headers, reason) in SS_BAD.items():
        path, body = spec(demo_ids)
        before = _ss_states(ss)
        status, answer = _ss_send(client, method, path, body, headers, prefix)
        where = (label, method, prefix + path)
        assert (status, answer) == (401, {"reason": reason, "success": False}), where
        assert _ss_states(ss) == before, where
        _no_markers(answer, everyone, where)

    for headers, target, foreign, tenant in (
        ({"partner-id": SS_RIVAL[0], "api-key": SS_RIVAL[1]}, demo_ids, SS_DEMO_MARKERS,
         "demo"),
        ({"partner-id": DEMO_PARTNER_ID, "api-key": DEMO_API_KEY}, rival_ids, RIVAL_MARKERS,
         RIVAL),
    ):
        path, body = spec(target)
        owner = ss.registry.tenant(tenant).program
        owner_before = settled_state(owner)
        status, answer = _ss_send(client, method, path, body, headers, prefix)
        where = ("other tenant", headers, method, prefix + path, status, answer)
        assert status < 500 and status != 401, where
        if status >= 400:
            assert is_ss_error(answer), where
        _no_markers(answer, foreign, where)
        assert settled_state(owner) == owner_before, where
        if tenant == "demo" and rule != "/users/points":
            assert status == cross_status, where
        elif tenant == "demo":
            # user ids are per-tenant integers: a demo id the rival does not have is unknown
            assert status == 404, where


@pytest.fixture(scope="module", autouse=True)
def _report() -> Any:
    yield
    print(f"\n[credentials] requests={STATS['requests']}")


def test_markers_are_visible_to_their_owner(smile: SmileApp, ss: ShopSociallyApp) -> None:
    """A positive control: each tenant's list routes do show its own distinctive strings,
    so the absence checks above are not vacuous."""
    smile_client, ss_client = Client(smile), Client(ss)
    for (method, rule), (spec, cross_status) in SMILE_SPECS.items():
        if cross_status != 200 or rule == "/v1/points_settings":
            continue
        for key, tenant, markers in ((DEMO_KEY, "demo", SMILE_DEMO_MARKERS),
                                     (SMILE_RIVAL_KEY, RIVAL, RIVAL_MARKERS)):
            path, body = spec(_smile_ids(smile, tenant))
            status, answer = _smile_send(smile_client, method, path, body,
                                         {"Authorization": f"Bearer {key}"})
            text = json.dumps(answer, ensure_ascii=False).lower()
            assert status == 200 and any(m in text for m in markers), (tenant, path, answer)
    for (method, _rule), (spec, cross_status) in SS_SPECS.items():
        if cross_status != 200:
            continue
        for headers, tenant, markers in (
            ({"partner-id": DEMO_PARTNER_ID, "api-key": DEMO_API_KEY}, "demo", SS_DEMO_MARKERS),
            ({"partner-id": SS_RIVAL[0], "api-key": SS_RIVAL[1]}, RIVAL, RIVAL_MARKERS),
        ):
            path, body = spec(_ss_ids(ss, tenant))
            status, answer = _ss_send(ss_client, method, path, body, headers, "/v2/loyalty")
            text = json.dumps(answer, ensure_ascii=False).lower()
            assert status == 200 and any(m in text for m in markers), (tenant, path, answer)
