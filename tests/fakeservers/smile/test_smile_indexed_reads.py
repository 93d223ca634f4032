"""Smile lists read from the core's indexes: the same records a scan gives, every filter."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from smile_client import Api
from test_smile_pagination import walk

from fakeservers.smile import SmileApp
from loyaltykit import Approval, ManualClock, Program, TxnStatus
from loyaltykit.queries import MAX_OFFSET

HOUR = timedelta(hours=1)


def core(app: SmileApp) -> Program:
    program: Program = app.registry.tenant("demo").program.program
    return program


def stamp(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def history(app: SmileApp, clock: ManualClock) -> tuple[int, int]:
    """Twenty earns and spends over customers 1 and 2, an hour apart, with one award
    approved late and one rejected; returns (approved, rejected) transaction ids."""
    program = core(app)
    photo = program.add_rule(name="photo", points=30, approval=Approval.MANUAL).id
    held = program.award(1, photo).id
    refused = program.award(2, photo).id
    for n in range(20):
        clock.advance(HOUR)
        program.earn(1 + n % 2, 10 + n)
        if n % 3 == 0:
            program.spend(1 + n % 2, 5)
    program.reject(refused)
    clock.advance(HOUR)
    program.approve(held)
    return held, refused


def posted(program: Program, member: int | None = None) -> list[int]:
    return [t.id for t in program.transactions(member) if t.status is TxnStatus.POSTED][::-1]


def test_transactions_walk_per_customer_and_since(
    app: SmileApp, api: Api, clock: ManualClock
) -> None:
    held, refused = history(app, clock)
    program = core(app)
    everything = walk(api, "/v1/points_transactions", "points_transactions", 4)
    assert everything == posted(program) and refused not in everything
    assert walk(api, "/v1/points_transactions", "points_transactions", 3, customer_id="2") == (
        posted(program, 2)
    )
    # updated_at_min: the late approval is there, dated by its approval, though made first
    since = clock.now()
    recent = api.ok("/v1/points_transactions", updated_at_min=stamp(since))
    assert [t["id"] for t in recent["points_transactions"]] == [held]
    assert recent["points_transactions"][0]["updated_at"] == stamp(since)
    mid = program.transactions()[30].created_at
    expected = [
        t.id
        for t in program.transactions(1)
        if t.status is TxnStatus.POSTED and (t.resolved_at or t.created_at) >= mid
    ][::-1]
    got = walk(
        api,
        "/v1/points_transactions",
        "points_transactions",
        2,
        customer_id="1",
        updated_at_min=stamp(mid),
    )
    assert got == expected and held in got


def test_classic_pages_slice_the_oldest_first_list(
    app: SmileApp, api: Api, clock: ManualClock
) -> None:
    history(app, clock)
    ordered = posted(core(app))[::-1]
    for page in (1, 2, 5):
        body = api.ok("/v1/points_transactions", page=str(page), page_size="7")
        assert [t["id"] for t in body["points_transactions"]] == ordered[(page - 1) * 7 : page * 7]
    far = (MAX_OFFSET // 7) + 5
    assert api.ok("/v1/points_transactions", page=str(far), page_size="7") == {
        "points_transactions": []
    }


def test_unknown_customer_filters_to_nothing(app: SmileApp, api: Api) -> None:
    for path, name in (
        ("/v1/points_transactions", "points_transactions"),
        ("/v1/points_purchases", "points_purchases"),
        ("/v1/reward_fulfillments", "reward_fulfillments"),
    ):
        body = api.ok(path, customer_id="999")
        assert body[name] == [] and body["metadata"]["next_cursor"] is None


def test_customers_updated_since_and_state(app: SmileApp, api: Api, clock: ManualClock) -> None:
    program = core(app)
    clock.advance(HOUR)
    since = clock.now()
    program.update_member(1, first_name="Janet")  # an old customer changed lately
    fresh = program.add_member(email="fresh@smile.io").id
    program.update_member(2, state="disabled")
    got = walk(api, "/v1/customers", "customers", 1, updated_at_min=stamp(since))
    assert got == [fresh, 2, 1]
    assert walk(api, "/v1/customers", "customers", 2, state="disabled") == [2]
    member_only = walk(
        api, "/v1/customers", "customers", 2, state="member", updated_at_min=stamp(since)
    )
    assert member_only == [fresh, 1]
    assert api.ok("/v1/customers", email="JANE@smile.io", state="disabled")["customers"] == []


def test_fulfillments_by_usage_and_update_time(app: SmileApp, api: Api, clock: ManualClock) -> None:
    made = [api.created("/v1/points_products/1/purchase", {"customer_id": 1}) for _ in range(3)]
    clock.advance(HOUR)
    code = made[0]["points_purchase"]["reward_fulfillment"]["code"]
    core(app).use_code(code)
    used = api.ok("/v1/reward_fulfillments", usage_status="used")["reward_fulfillments"]
    first = made[0]["points_purchase"]["reward_fulfillment"]["id"]
    assert [f["id"] for f in used] == [first]
    lately = api.ok("/v1/reward_fulfillments", updated_at_min=stamp(clock.now()))
    assert [f["id"] for f in lately["reward_fulfillments"]] == [first]
    purchases = walk(api, "/v1/points_purchases", "points_purchases", 2, customer_id="1")
    assert purchases == [p["points_purchase"]["id"] for p in made][::-1]


def test_a_clock_set_back_keeps_the_id_order(app: SmileApp, api: Api, clock: ManualClock) -> None:
    program = core(app)
    first = program.earn(1, 5).id
    clock.set(clock.now() - 30 * HOUR)
    second = program.earn(1, 6).id
    body = api.ok("/v1/points_transactions", customer_id="1", limit="2")
    assert [t["id"] for t in body["points_transactions"]] == [second, first]
