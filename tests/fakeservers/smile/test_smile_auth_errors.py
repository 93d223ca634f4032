"""Credentials on every route, tenant isolation, public apps, error shapes, rate limit, CORS."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smile_client import Api
from werkzeug.test import Client

from fakeservers.smile import DEMO_PUBLIC_APP_TOKEN, SmileApp
from fakeservers.smile.errors import INVALID_CREDENTIALS, NOT_AVAILABLE_TO_PUBLIC_APPS
from fakeservers.smile.urls import API_RULES, PUBLIC_APP_FORBIDDEN
from loyaltykit import ManualClock


def _concrete(rule_path: str) -> str:
    return re.sub(r"<int:\w+>", "1", rule_path)


ROUTES = [
    (method, _concrete(rule.rule), rule.endpoint)
    for rule in API_RULES
    for method in sorted(rule.methods or ())
    if method not in ("HEAD", "OPTIONS")
]


def test_every_api_route_is_listed() -> None:
    assert len({endpoint for _, _, endpoint in ROUTES}) == 17


@pytest.mark.parametrize(("method", "path", "endpoint"), ROUTES)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic dGVzdF9jbnpHTWdoeFRtUHpLMXNwUHJhVDo="},
        {"Authorization": "test_cnzGMghxTmPzK1spPraT"},
    ],
)
def test_every_route_refuses_missing_or_wrong_credentials(
    app: SmileApp, method: str, path: str, endpoint: str, headers: dict[str, str]
) -> None:
    response = Client(app).open(path, method=method, headers=headers, json={})
    assert response.status_code == 401
    assert response.json == {"error": {"message": INVALID_CREDENTIALS}}


@pytest.mark.parametrize(("method", "path", "endpoint"), ROUTES)
def test_public_app_tokens_are_refused_where_the_docs_say(
    api: Api, method: str, path: str, endpoint: str
) -> None:
    public = api.as_key(DEMO_PUBLIC_APP_TOKEN)
    response = public.client.open(path, method=method, headers=public.headers(), json={})
    if endpoint in PUBLIC_APP_FORBIDDEN:
        assert public.error(response, 401) == NOT_AVAILABLE_TO_PUBLIC_APPS
    else:
        assert response.status_code != 401


def test_public_app_reads_customers(api: Api) -> None:
    assert api.as_key(DEMO_PUBLIC_APP_TOKEN).ok("/v1/customers/1")["customer"]["id"] == 1


def test_another_tenants_ids_answer_404(app: SmileApp, api: Api) -> None:
    app.control.create_tenant("other", ["other_key"])
    other = api.as_key("other_key")
    assert other.error(other.get("/v1/customers/1"), 404) == "Customer not found."
    assert other.error(other.get("/v1/points_products/1"), 404) == "Points product not found."
    assert other.error(other.get("/v1/points_transactions/1"), 404)
    assert other.ok("/v1/customers")["customers"] == []
    mine = app.control.create_customer("other", email="solo@x.io", points_balance=10)
    assert mine.id == 1
    assert other.ok("/v1/customers/1")["customer"]["email"] == "solo@x.io"
    assert api.ok("/v1/customers/1")["customer"]["email"] == "jane@smile.io"
    purchase = other.post("/v1/points_products/1/purchase", {"customer_id": 1})
    assert other.error(purchase, 404) == "Points product not found."


def test_unknown_route_and_method_use_the_smile_error_shape(api: Api) -> None:
    assert api.error(api.get("/v1/nothing"), 404) == "Not found."
    assert api.error(api.get("/v1/customers/abc"), 404) == "Not found."
    assert api.error(api.client.delete("/v1/customers/1", headers=api.headers()), 405)


POSTS = [
    "/v1/activities",
    "/v1/points_transactions",
    "/v1/points_products/1/purchase",
    "/v1/customer_identities/create_or_update",
    "/v1/events",
]


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{", "Request body is not valid JSON."),
        ("[1, 2]", "Request body must be a JSON object."),
        ('"text"', "Request body must be a JSON object."),
        (b"\xff\xfe", "Request body is not valid JSON."),
    ],
)
def test_malformed_bodies_are_400_and_change_nothing(
    app: SmileApp, api: Api, path: str, data: str | bytes, message: str
) -> None:
    program = app.control.backend("demo").program
    before = program.state()
    response = api.post(path, data=data, content_type="application/json")
    assert api.error(response, 400) == message
    assert program.state() == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/activities", {}, "activity"),
        ("/v1/activities", {"activity": {"customer_id": 1}}, "activity.token"),
        ("/v1/activities", {"activity": {"token": "x"}}, "activity.customer_id"),
        ("/v1/activities", {"activity": "nope"}, "activity"),
        ("/v1/points_transactions", {}, "points_transaction"),
        (
            "/v1/points_transactions",
            {"points_transaction": {"customer_id": 1, "description": "x"}},
            "points_transaction.points_change",
        ),
        (
            "/v1/points_transactions",
            {"points_transaction": {"customer_id": "one", "points_change": 5, "description": "x"}},
            "points_transaction.customer_id",
        ),
        ("/v1/points_products/1/purchase", {}, "customer_id"),
        ("/v1/events", {"event": {"topic": "order/created", "data": {}}}, "event.topic"),
        ("/v1/events", {"event": {"topic": "order/updated"}}, "event.data"),
        (
            "/v1/customer_identities/create_or_update",
            {"customer_identity": {}},
            "customer_identity.distinct_id",
        ),
    ],
)
def test_missing_or_invalid_parameters_are_named(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    assert api.error(api.post(path, body), 400).startswith(field + " ")


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/v1/customers", {"limit": "0"}, "limit"),
        ("/v1/customers", {"limit": "251"}, "limit"),
        ("/v1/customers", {"limit": "ten"}, "limit"),
        ("/v1/customers", {"cursor": "garbage!"}, "cursor"),
        ("/v1/customers", {"page": "0"}, "page"),
        ("/v1/customers", {"page_size": "300"}, "page_size"),
        ("/v1/customers", {"state": "vip"}, "state"),
        ("/v1/customers", {"updated_at_min": "yesterday"}, "updated_at_min"),
        ("/v1/customers", {"updated_at_min": ""}, "updated_at_min"),  # blank: not "no filter"
        ("/v1/points_transactions", {"updated_at_min": " "}, "updated_at_min"),
        ("/v1/points_purchases", {"updated_at_min": ""}, "updated_at_min"),
        ("/v1/reward_fulfillments", {"updated_at_min": ""}, "updated_at_min"),
        ("/v1/customers", {"include": "orders"}, "include"),
        ("/v1/customers/1", {"include": "vip_tier,bogus"}, "include"),
        ("/v1/points_products", {"exchange_type": "free"}, "exchange_type"),
        ("/v1/points_transactions", {"customer_id": "x"}, "customer_id"),
        ("/v1/reward_fulfillments", {"fulfillment_status": "done"}, "fulfillment_status"),
        ("/v1/reward_fulfillments", {"usage_status": "spent"}, "usage_status"),
        ("/v1/vip_tiers", {"include": "everything"}, "include"),
        ("/v1/earning_rules", {"limit": "-1"}, "limit"),
    ],
)
def test_bad_query_parameters_are_named(
    api: Api, path: str, query: dict[str, str], field: str
) -> None:
    assert api.error(api.get(path, **query), 400).startswith(field + " ")


def test_rate_limit_is_off_by_default_and_a_leaky_bucket_when_on(
    app: SmileApp, api: Api, clock: ManualClock
) -> None:
    assert all(api.get("/v1/customers/1").status_code == 200 for _ in range(30))
    app.control.set_rate_limited("demo", True)
    assert [api.get("/v1/customers/1").status_code for _ in range(10)] == [200] * 10
    refused = api.get("/v1/customers/1")
    assert api.error(refused, 429) == "Too many requests."
    assert refused.headers["Retry-After"] == "1"
    clock.advance(0.1)
    assert api.get("/v1/customers/1").status_code == 200
    assert api.get("/v1/customers/1").status_code == 429
    clock.advance(1)
    assert [api.get("/v1/points_settings").status_code for _ in range(10)] == [200] * 10
    app.control.set_rate_limited("demo", False)
    assert api.get("/v1/customers/1").status_code == 200


def test_rate_limited_request_changes_nothing(app: SmileApp, api: Api) -> None:
    app.control.set_rate_limited("demo", True)
    for _ in range(10):
        api.get("/v1/points_settings")
    body = {"points_transaction": {"customer_id": 1, "points_change": 5, "description": "x"}}
    assert api.post("/v1/points_transactions", body).status_code == 429
    assert app.control.backend("demo").program.member(1).balance == 5000


def test_cors_headers_and_preflight(api: Api) -> None:
    response = api.client.get(
        "/v1/customers/1", headers={**api.headers(), "Origin": "https://shop.example"}
    )
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert api.client.get("/v1/customers/1").headers["Access-Control-Allow-Origin"] == "*"
    preflight = api.client.options(
        "/v1/points_transactions",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 204
    assert {"GET", "POST"} <= set(preflight.headers["Access-Control-Allow-Methods"].split(", "))
    assert preflight.headers["Access-Control-Allow-Headers"] == "authorization, content-type"
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://shop.example"


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = st.sampled_from(
    [
        "customer_id",
        "token",
        "points_change",
        "description",
        "points_to_spend",
        "distinct_id",
        "created_on_origin_at",
        "topic",
        "data",
        "external_id",
        "payment_status",
        "coupons",
        "customer",
        "rewardable_total",
        "email",
        "properties",
        "updated_on_origin_at",
    ]
)
BODY = st.dictionaries(FIELDS, JSONISH, max_size=5)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    path=st.sampled_from(POSTS),
    wrapper=st.sampled_from([None, "activity", "points_transaction", "event", "customer_identity"]),
    inner=BODY,
)
def test_no_body_ever_causes_a_500(
    app: SmileApp, path: str, wrapper: str | None, inner: dict[str, Any]
) -> None:
    api = Api(Client(app), "test_cnzGMghxTmPzK1spPraT")
    body = {wrapper: inner} if wrapper else inner
    if wrapper == "event":
        body = {"event": {"topic": "order/updated", "data": inner}}
    response = api.post(path, body)
    assert response.status_code in (200, 201, 202, 400, 402, 404), response.json


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    path=st.sampled_from(
        [
            "/v1/customers",
            "/v1/points_transactions",
            "/v1/reward_fulfillments",
            "/v1/points_products",
            "/v1/points_purchases",
            "/v1/earning_rules",
            "/v1/vip_tiers",
            "/v1/customers/1",
        ]
    ),
    query=st.dictionaries(
        st.sampled_from(
            [
                "limit",
                "cursor",
                "page",
                "page_size",
                "customer_id",
                "email",
                "state",
                "updated_at_min",
                "include",
                "exchange_type",
                "usage_status",
                "fulfillment_status",
            ]
        ),
        st.text(max_size=12),
        max_size=4,
    ),
)
def test_no_query_ever_causes_a_500(app: SmileApp, path: str, query: dict[str, str]) -> None:
    response = Api(Client(app), "test_cnzGMghxTmPzK1spPraT").get(path, **query)
    assert response.status_code in (200, 400), response.json
