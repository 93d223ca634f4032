"""The shared plumbing, exercised through a toy vendor whose "program" is a plain dict."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from fakeservers._http import (
    BaseApp,
    Clock,
    ControlPlane,
    ControlViews,
    Cursor,
    LeakyBucket,
    OffsetClock,
    ParseError,
    RateLimited,
    Tenant,
    TenantRegistry,
    classic_page,
    control_rules,
    decode_cursor,
    encode_cursor,
    json_object,
    json_response,
    keyset_page,
    read_datetime,
    read_int,
)

START = datetime(2024, 1, 1, tzinfo=UTC)


class StepClock:
    """A settable clock for these tests (the core's ManualClock has the same shape)."""

    def __init__(self, start: datetime = START) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    def set(self, moment: datetime) -> datetime:
        self.moment = moment
        return moment

    def advance(self, delta: timedelta | float = 0.0) -> datetime:
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        self.moment += step
        return self.moment


def seed(tenant: Tenant[dict[str, Any]]) -> None:
    tenant.clock.pin(datetime(2017, 4, 4, tzinfo=UTC))
    tenant.program["seeded_at"] = tenant.clock.now()


def factory(clock: Clock, name: str) -> dict[str, Any]:
    return {"name": name, "clock": clock}


class ToyViews:
    def __init__(self, registry: TenantRegistry[dict[str, Any]]) -> None:
        self.registry = registry

    def on_whoami(self, request: Request) -> Response:
        found = self.registry.authenticate(request.headers.get("X-Key", ""))
        if found is None:
            return json_response({"error": "nope"}, 401)
        tenant, kind = found
        self.registry.throttle(tenant, request.headers["X-Key"])
        return json_response({"tenant": tenant.name, "kind": kind, "n": json_object(request)})


def render(request: Request, exc: Exception) -> Response | None:
    if isinstance(exc, ParseError):
        return json_response({"error": exc.message, "field": exc.field}, 400)
    if isinstance(exc, RateLimited):
        return json_response({"error": "slow down"}, 429)
    if isinstance(exc, HTTPException):
        return json_response({"error": exc.name}, exc.code or 500)
    return None


@pytest.fixture
def toy() -> tuple[Client, StepClock, ControlPlane[dict[str, Any]]]:
    clock = StepClock()
    registry = TenantRegistry(factory, clock, credential_kinds=("secret", "public_app"))
    registry.create("demo", ["k1"], seeder=seed)
    control = ControlPlane(registry, {"demo": seed})
    url_map = Map([Rule("/whoami", methods=["GET", "POST"], endpoint="whoami"), *control_rules()])
    app = BaseApp(url_map, [ToyViews(registry), ControlViews(control)], render)
    return Client(app), clock, control


def test_cursor_round_trip_and_docs_example() -> None:
    assert decode_cursor("aWQ6MixkaXJlY3Rpb246bmV4dA==") == Cursor(2, "next")
    assert decode_cursor(encode_cursor(Cursor(99, "prev"))) == Cursor(99, "prev")


@pytest.mark.parametrize("token", ["", "???", "aWQ6eA==", "aWQ6MixkaXJlY3Rpb246dXA=", "é"])
def test_bad_cursor_is_a_parse_error(token: str) -> None:
    with pytest.raises(ParseError) as info:
        decode_cursor(token)
    assert info.value.field == "cursor"


def test_keyset_walk_is_stable_across_inserts() -> None:
    records = list(range(1, 8))
    first = keyset_page(records, int, limit=3, cursor=None)
    assert first.items == [7, 6, 5] and first.previous_cursor is None
    records += [8, 9]  # created between two fetches
    assert first.next_cursor is not None
    second = keyset_page(records, int, limit=3, cursor=decode_cursor(first.next_cursor))
    assert second.items == [4, 3, 2]
    assert second.next_cursor is not None
    third = keyset_page(records, int, limit=3, cursor=decode_cursor(second.next_cursor))
    assert third.items == [1] and third.next_cursor is None
    assert third.previous_cursor is not None
    back = keyset_page(records, int, limit=3, cursor=decode_cursor(third.previous_cursor))
    assert back.items == [4, 3, 2]
    assert back.previous_cursor is not None
    newest = keyset_page(records, int, limit=3, cursor=decode_cursor(back.previous_cursor))
    assert newest.items == [7, 6, 5]
    assert newest.previous_cursor is not None  # 8 and 9 arrived meanwhile
    top = keyset_page(records, int, limit=3, cursor=decode_cursor(newest.previous_cursor))
    assert top.items == [9, 8] and top.previous_cursor is None


def test_keyset_page_past_the_end_is_empty() -> None:
    page = keyset_page([1, 2], int, limit=5, cursor=Cursor(1, "next"))
    assert page.items == [] and page.next_cursor is None
    assert page.previous_cursor == encode_cursor(Cursor(1, "prev"))


def test_classic_page_slices() -> None:
    assert classic_page([1, 2, 3, 4, 5], page=2, page_size=2) == [3, 4]
    assert classic_page([1, 2, 3], page=3, page_size=2) == []


def test_leaky_bucket_refuses_the_eleventh_request_in_a_second() -> None:
    clock = StepClock()
    bucket = LeakyBucket(clock, rate=10, capacity=10)
    for _ in range(10):
        bucket.hit("k")
    with pytest.raises(RateLimited):
        bucket.hit("k")
    bucket.hit("other")  # buckets are per key
    clock.advance(0.1)
    bucket.hit("k")  # one unit leaked
    with pytest.raises(RateLimited):
        bucket.hit("k")


def test_offset_clock_ticks_with_its_base_after_set() -> None:
    base = StepClock()
    clock = OffsetClock(base)
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    base.advance(5)
    assert clock.now() == datetime(2030, 1, 1, 0, 0, 5, tzinfo=UTC)
    assert clock.advance(10) == datetime(2030, 1, 1, 0, 0, 15, tzinfo=UTC)


@given(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(), st.lists(st.integers())
    )
)
def test_readers_raise_only_parse_errors(value: object) -> None:
    for reader in (read_int, read_datetime):
        try:
            reader({"x": value}, "x")
        except ParseError as exc:
            assert exc.field == "x"


@given(st.binary(max_size=64))
def test_json_object_never_raises_anything_but_parse_error(raw: bytes) -> None:
    request = Request.from_values(data=raw, content_type="application/json", method="POST")
    try:
        assert isinstance(json_object(request), dict)
    except ParseError as exc:
        assert exc.problem == "body"


def test_read_int_bounds_and_strings() -> None:
    assert read_int({"x": "42"}, "x") == 42
    with pytest.raises(ParseError, match="at most 250"):
        read_int({"x": 251}, "x", maximum=250)
    with pytest.raises(ParseError, match="x is required"):
        read_int({}, "x", required=True)
    with pytest.raises(ParseError):
        read_int({"x": True}, "x")


def test_app_dispatch_auth_parse_errors_and_cors(toy: Any) -> None:
    client, _, _ = toy
    ok = client.post("/whoami", headers={"X-Key": "k1", "Origin": "https://shop"}, json={"a": 1})
    assert ok.status_code == 200
    assert ok.json == {"tenant": "demo", "kind": "secret", "n": {"a": 1}}
    assert ok.headers["Access-Control-Allow-Origin"] == "https://shop"
    bad = client.post("/whoami", headers={"X-Key": "k1"}, data="{", content_type="application/json")
    assert bad.status_code == 400 and bad.json == {
        "error": "request body is not valid JSON",
        "field": None,
    }
    assert client.get("/whoami", headers={"X-Key": "zz"}).status_code == 401
    assert client.get("/nowhere").status_code == 404
    assert client.delete("/whoami").status_code == 405
    preflight = client.options("/whoami", headers={"Origin": "https://shop"})
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert client.options("/nowhere").status_code == 404


def test_control_plane_tenants_credentials_rate_limit_and_reset(toy: Any) -> None:
    client, clock, control = toy
    created = client.post(
        "/_fake/tenants",
        json={"name": "t2", "credentials": ["k2", {"key": ["p", "q"], "kind": "public_app"}]},
    )
    assert created.status_code == 201
    assert created.json["tenant"]["credentials"] == [
        {"key": "k2", "kind": "secret"},
        {"key": ["p", "q"], "kind": "public_app"},
    ]
    assert control.registry.authenticate(("p", "q"))[0].name == "t2"
    assert client.post("/_fake/tenants", json={"name": "t2"}).status_code == 409
    assert (
        client.post("/_fake/tenants", json={"name": "t3", "credentials": ["k1"]}).status_code == 409
    )
    assert client.post("/_fake/tenants", json={"name": "t3", "seed": "nope"}).status_code == 400
    assert (
        client.post("/_fake/tenants", json={"credentials": []}).json["error"]["message"]
        == "name is required"
    )
    # a kind the vendor does not have would authenticate as nothing it knows: refused
    odd = client.post(
        "/_fake/tenants", json={"name": "t4", "credentials": [{"key": "k9", "kind": "admin"}]}
    )
    assert odd.status_code == 400 and "kind" in odd.json["error"]["message"]
    assert client.get("/_fake/tenants/t4").status_code == 404
    odd = client.post("/_fake/tenants/t2/credentials", json={"key": "k9", "kind": "0"})
    assert odd.status_code == 400
    assert client.get("/whoami", headers={"X-Key": "k9"}).status_code == 401
    assert client.post("/_fake/tenants/t2/credentials", json={"key": "k3"}).status_code == 201
    assert client.get("/whoami", headers={"X-Key": "k3"}).json["tenant"] == "t2"
    assert client.get("/_fake/tenants/nobody").status_code == 404

    assert client.post("/_fake/tenants/t2/settings", json={"rate_limited": True}).status_code == 200
    statuses = [client.get("/whoami", headers={"X-Key": "k2"}).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    assert client.get("/whoami", headers={"X-Key": "k1"}).status_code == 200  # demo not limited
    clock.advance(1)
    assert client.get("/whoami", headers={"X-Key": "k2"}).status_code == 200

    demo = control.tenant("demo")
    demo.program["junk"] = True
    assert client.post("/_fake/reset", json={"tenant": "demo"}).json == {"reset": ["demo"]}
    assert "junk" not in demo.program
    assert demo.program["seeded_at"] == datetime(2017, 4, 4, tzinfo=UTC)
    assert demo.clock.now() == clock.now()  # unpinned after seeding


def test_control_plane_clock_routes(toy: Any) -> None:
    client, clock, control = toy
    assert client.get("/_fake/clock").json == {"now": "2024-01-01T00:00:00Z"}
    assert client.post("/_fake/clock", json={"now": "2025-05-05T10:00:00Z"}).json == {
        "now": "2025-05-05T10:00:00Z"
    }
    assert client.post("/_fake/clock/advance", json={"seconds": 90}).json == {
        "now": "2025-05-05T10:01:30Z"
    }
    assert control.now() == clock.now() == datetime(2025, 5, 5, 10, 1, 30, tzinfo=UTC)
    assert client.post("/_fake/clock/advance", json={"seconds": -1}).status_code == 400
    assert client.post("/_fake/clock/advance", json={"seconds": 1e300}).status_code == 400
    assert client.post("/_fake/clock", json={"now": "yesterday"}).status_code == 400
    assert client.post("/_fake/clock", data="[", content_type="application/json").status_code == 400
    assert json.loads(client.get("/_fake/tenants").data)["tenants"][0]["name"] == "demo"
