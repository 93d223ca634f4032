"""Credentials on every route, tenant isolation, routing errors and rate limiting."""

from __future__ import annotations

import re

import pytest
from ss_client import KEY, PARTNER, Api
from werkzeug.test import Client

from fakeservers._http import TenantRegistry
from fakeservers.shopsocially import errors
from fakeservers.shopsocially.urls import ENDPOINTS, PREFIXES
from loyaltykit import ManualClock, Program

ROUTES = [
    (method, prefix + re.sub(r"<\w+>", "x@example.com", path))
    for prefix in PREFIXES
    for path, method, _ in ENDPOINTS
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, errors.AUTHENTICATION_MISSING),
        ({"partner-id": PARTNER}, errors.AUTHENTICATION_MISSING),
        ({"api-key": KEY}, errors.AUTHENTICATION_MISSING),
        ({"partner-id": PARTNER, "api-key": " "}, errors.AUTHENTICATION_MISSING),
        ({"partner-id": PARTNER, "api-key": "wrong"}, errors.AUTHENTICATION_FAILURE),
        ({"partner-id": "other", "api-key": KEY}, errors.AUTHENTICATION_FAILURE),
        ({"partner-id": KEY, "api-key": PARTNER}, errors.AUTHENTICATION_FAILURE),
    ],
)
def test_every_route_needs_both_credentials(
    client: Client, program: Program, method: str, path: str, headers: dict[str, str], reason: str
) -> None:
    before = len(program.journal())
    response = client.open(
        path, method=method, headers=headers, data={"user_email": "x@example.com"}
    )
    assert response.status_code == 401
    assert response.get_json() == {"reason": reason, "success": False}
    assert len(program.journal()) == before


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_answers_with_good_credentials(client: Client, method: str, path: str) -> None:
    response = client.open(path, method=method, headers={"partner-id": PARTNER, "api-key": KEY})
    assert response.status_code in (200, 400, 404)
    body = response.get_json()
    assert body["success"] is (response.status_code == 200)


def test_tenants_never_see_each_other(registry: TenantRegistry[Program], client: Client) -> None:
    registry.create("globex", [("globex-partner", "globex-key")])
    acme, globex = Api(client), Api(client, "globex-partner", "globex-key")
    for api in (acme, globex):
        api.user("ann@example.com")
        api.activity("signup")
    award = acme.award()[1]["data"]
    assert globex.transactions()["total"] == 0
    assert globex.get(f"/transactions/{award['id']}")[1]["reason"] == (
        errors.INVALID_TRANSACTION_ID
    )
    assert globex.balance() == 0 and acme.balance() == 100
    acme.user("only-acme@example.com")
    assert globex.get("/users/only-acme@example.com")[0] == 404
    acme.level("gold", 10)
    assert globex.ok("GET", "/levels") == []
    acme.redemption("r1", codes="SAME")
    assert globex.redemption("r1", codes="SAME")["giftcard_coupon_codes"] == "SAME"
    body = globex.ok("POST", "/award", {"user_email": "ann@example.com", "activity_id": "signup"})
    assert body["partner_id"] == "globex-partner"


def test_unknown_route_and_wrong_method(client: Client) -> None:
    headers = {"partner-id": PARTNER, "api-key": KEY}
    response = client.get("/v2/loyalty/nothing", headers=headers)
    assert (response.status_code, response.get_json()) == (
        404,
        {"reason": errors.NOT_FOUND, "success": False},
    )
    response = client.delete("/v2/loyalty/users", headers=headers)
    assert response.status_code == 405
    assert response.get_json() == {"reason": errors.METHOD_NOT_ALLOWED, "success": False}
    assert "GET" in response.headers["Allow"]


def test_both_prefixes_and_trailing_slashes(api: Api, client: Client) -> None:
    api.activity("signup")
    headers = {"partner-id": PARTNER, "api-key": KEY}
    for path in (
        "/v2/loyalty/activities",
        "/loyalty/activities",
        "/loyalty/activities/",
        "/v2/loyalty/activities/signup/",
    ):
        response = client.get(path, headers=headers, follow_redirects=True)
        assert response.status_code == 200, path


def test_rate_limit_is_opt_in_and_clock_driven(
    registry: TenantRegistry[Program], api: Api, clock: ManualClock
) -> None:
    for _ in range(30):
        assert api.get("/activities")[0] == 200
    registry.set_rate_limited("acme", True)
    statuses = [api.get("/activities")[0] for _ in range(30)]
    assert statuses.count(200) >= 10 and statuses[-1] == 429
    response = api.client.get("/v2/loyalty/activities", headers=api.headers)
    assert response.get_json() == {"reason": errors.RATE_LIMITED, "success": False}
    assert int(response.headers["Retry-After"]) >= 1
    clock.advance(5)
    assert api.get("/activities")[0] == 200


def test_control_plane_resets_and_moves_the_clock(client: Client, api: Api) -> None:
    api.user("ann@example.com")
    response = client.post("/_fake/clock/advance", json={"seconds": 86400})
    assert response.status_code == 200 and response.get_json()["now"].startswith("2024-01-02")
    assert client.post("/_fake/tenants/acme/reset").status_code == 200
    assert api.get("/users/ann@example.com")[0] == 404
    response = client.post("/_fake/tenants/nobody/reset")
    assert response.status_code == 404 and "error" in response.get_json()
