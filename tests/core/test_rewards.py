"""Reward offers (fixed and variable price) and fulfillments."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from loyaltykit import (
    FulfillmentExpired,
    FulfillmentNotFound,
    FulfillmentStatus,
    InsufficientPoints,
    InvalidArgument,
    ManualClock,
    Member,
    OfferInactive,
    PriceKind,
    Program,
    TierNotEligible,
    TxnKind,
    UsageStatus,
)

DAY = timedelta(days=1)


def test_fixed_offer_takes_its_price(program: Program, member: Member, clock: ManualClock) -> None:
    program.earn(member.id, 600)
    offer = program.add_offer(name="$5 off", points_price=500, value=Decimal(5))
    f = program.redeem(member.id, offer.id)
    assert (f.member_id, f.offer_id, f.points, f.value) == (member.id, offer.id, 500, Decimal(5))
    assert f.status is FulfillmentStatus.ISSUED
    assert f.usage is UsageStatus.UNTRACKED  # no code, so use cannot be observed
    assert f.code is None
    assert f.created_at == clock.now()
    txn = program.transaction(f.txn_id)  # type: ignore[arg-type]
    assert (txn.kind, txn.points) == (TxnKind.REDEEM, -500)
    view = program.member(member.id)
    assert (view.balance, view.spent) == (100, 500)
    assert program.fulfillment(f.id) == f
    assert program.fulfillments(member.id) == [f]


def test_fixed_offer_refuses_a_different_points_amount(program: Program, member: Member) -> None:
    program.earn(member.id, 1000)
    offer = program.add_offer(name="fixed", points_price=500)
    with pytest.raises(InvalidArgument) as info:
        program.redeem(member.id, offer.id, points=400)
    assert info.value.field == "points"
    assert "500" in str(info.value)
    assert program.redeem(member.id, offer.id, points=500).points == 500


def test_fixed_offer_needs_enough_points(program: Program, member: Member) -> None:
    program.earn(member.id, 499)
    offer = program.add_offer(name="fixed", points_price=500)
    before = program.snapshot()
    with pytest.raises(InsufficientPoints) as info:
        program.redeem(member.id, offer.id)
    assert (info.value.needed, info.value.available) == (500, 499)
    assert program.snapshot() == before
    assert program.fulfillments() == []


def _variable(program: Program) -> int:
    return program.add_offer(
        name="variable",
        price_kind=PriceKind.VARIABLE,
        step=100,
        value_per_step=Decimal("1.00"),
        min_points=200,
        max_points=1000,
    ).id


@pytest.mark.parametrize(
    ("points", "value"), [(200, Decimal(2)), (500, Decimal(5)), (1000, Decimal(10))]
)
def test_variable_offer_value_from_step_value(
    program: Program, member: Member, points: int, value: Decimal
) -> None:
    program.earn(member.id, 5000)
    f = program.redeem(member.id, _variable(program), points=points)
    assert (f.points, f.value) == (points, value)
    assert program.member(member.id).balance == 5000 - points


@pytest.mark.parametrize(
    ("points", "words"),
    [
        (None, "required"),
        (100, "minimum"),
        (1100, "maximum"),
        (250, "multiple"),
        (0, "positive"),
        (-200, "positive"),
        (True, "positive"),
        (300.0, "positive"),
    ],
)
def test_variable_offer_bounds_and_step(
    program: Program, member: Member, points: object, words: str
) -> None:
    program.earn(member.id, 5000)
    offer_id = _variable(program)
    before = program.snapshot()
    with pytest.raises(InvalidArgument) as info:
        program.redeem(member.id, offer_id, points=points)  # type: ignore[arg-type]
    assert info.value.field == "points"
    assert words in str(info.value)
    assert program.snapshot() == before


def test_variable_offer_without_bounds(program: Program, member: Member) -> None:
    program.earn(member.id, 50)
    offer = program.add_offer(
        name="v", price_kind=PriceKind.VARIABLE, step=10, value_per_step=Decimal("0.5")
    )
    assert program.redeem(member.id, offer.id, points=30).value == Decimal("1.5")


def test_variable_offer_still_needs_the_balance(program: Program, member: Member) -> None:
    program.earn(member.id, 300)
    with pytest.raises(InsufficientPoints):
        program.redeem(member.id, _variable(program), points=400)


def test_inactive_offer_is_refused(program: Program, member: Member) -> None:
    program.earn(member.id, 1000)
    offer = program.add_offer(name="off", points_price=10, active=False)
    with pytest.raises(OfferInactive) as info:
        program.redeem(member.id, offer.id)
    assert str(offer.id) in str(info.value)
    assert program.member(member.id).balance == 1000
    program.update_offer(offer.id, active=True)
    assert program.redeem(member.id, offer.id).points == 10


def test_min_above_max_is_refused(program: Program) -> None:
    with pytest.raises(InvalidArgument) as info:
        program.add_offer(name="v", price_kind=PriceKind.VARIABLE, min_points=500, max_points=100)
    assert info.value.field == "min_points"


def test_eligible_tiers(program: Program, member: Member, other: Member) -> None:
    track = program.add_track(name="vip")
    gold = program.add_tier(track.id, name="gold", threshold=1000)
    offer = program.add_offer(name="gold only", points_price=10, eligible_tiers=[gold.id])
    assert offer.eligible_tiers == (gold.id,)
    program.earn(member.id, 1000)  # reaches gold
    program.earn(other.id, 999)  # does not
    assert program.member(member.id).tiers == {track.id: gold.id}
    assert program.redeem(member.id, offer.id).points == 10
    before = program.snapshot()
    with pytest.raises(TierNotEligible) as info:
        program.redeem(other.id, offer.id)
    assert str(offer.id) in str(info.value)
    assert program.snapshot() == before


def test_eligible_tiers_must_exist(program: Program) -> None:
    from loyaltykit import TierNotFound

    with pytest.raises(TierNotFound):
        program.add_offer(name="x", eligible_tiers=[42])


def test_offer_without_tier_restriction_is_open_to_all(program: Program, member: Member) -> None:
    program.earn(member.id, 10)
    offer = program.add_offer(name="open", points_price=10)
    program.redeem(member.id, offer.id)


def test_reward_lifetime_sets_expiry(program: Program, member: Member, clock: ManualClock) -> None:
    program.earn(member.id, 10)
    offer = program.add_offer(name="o", points_price=10, reward_lifetime=7 * DAY)
    f = program.redeem(member.id, offer.id)
    assert f.expires_at == clock.now() + 7 * DAY


def test_use_code_marks_used(program: Program, member: Member, clock: ManualClock) -> None:
    pool = program.add_pool(name="p", codes=["C1"])
    offer = program.add_offer(name="o", points_price=10, pool_id=pool.id)
    program.earn(member.id, 10)
    f = program.redeem(member.id, offer.id)
    assert (f.code, f.usage) == ("C1", UsageStatus.UNUSED)
    clock.advance(60)
    used = program.use_code("C1")
    assert (used.id, used.usage, used.used_at, used.updated_at) == (
        f.id,
        UsageStatus.USED,
        clock.now(),
        clock.now(),
    )
    assert program.fulfillment(f.id) == used
    assert program.fulfillment_by_code("C1") == used
    clock.advance(60)
    assert program.use_code("C1") == used  # idempotent: stays as it was


def test_use_code_with_explicit_instant(
    program: Program, member: Member, clock: ManualClock
) -> None:
    pool = program.add_pool(name="p", codes=["C1"])
    offer = program.add_offer(name="o", pool_id=pool.id)
    program.grant(member.id, offer.id)
    at = clock.now() - timedelta(hours=1)
    assert program.use_code("C1", at=at).used_at == at


def test_use_code_unknown(program: Program) -> None:
    with pytest.raises(FulfillmentNotFound) as info:
        program.use_code("NOPE")
    assert "NOPE" in str(info.value)


def test_fulfillment_expiry_refuses_use_at_exactly_t(
    program: Program, member: Member, clock: ManualClock
) -> None:
    pool = program.add_pool(name="p", codes=["A", "B"])
    offer = program.add_offer(name="o", points_price=1, pool_id=pool.id, reward_lifetime=DAY)
    program.earn(member.id, 2)
    f = program.redeem(member.id, offer.id)
    program.redeem(member.id, offer.id)
    expires = clock.now() + DAY
    assert f.expires_at == expires
    clock.set(expires - timedelta(microseconds=1))
    assert program.use_code("A").usage is UsageStatus.USED
    clock.set(expires)
    before = program.snapshot()
    with pytest.raises(FulfillmentExpired) as info:
        program.use_code("B")
    assert "B" in str(info.value)
    assert program.snapshot() == before
    assert program.fulfillment_by_code("B").usage is UsageStatus.UNUSED


def test_pool_expiry_caps_the_reward_expiry(
    program: Program, member: Member, clock: ManualClock
) -> None:
    pool = program.add_pool(name="p", codes=["A"], expires_at=clock.now() + 2 * DAY)
    offer = program.add_offer(name="o", pool_id=pool.id, reward_lifetime=30 * DAY)
    f = program.grant(member.id, offer.id)
    assert f.expires_at == clock.now() + 2 * DAY


def test_grant_is_free(program: Program, member: Member) -> None:
    offer = program.add_offer(name="gift", points_price=500, value=Decimal(3))
    f = program.grant(member.id, offer.id)
    assert (f.points, f.value, f.txn_id, f.source) == (0, Decimal(3), None, "grant")
    assert program.transactions(member.id) == []


def test_fulfillments_listing(program: Program, member: Member, other: Member) -> None:
    offer = program.add_offer(name="gift")
    a = program.grant(member.id, offer.id)
    b = program.grant(other.id, offer.id)
    assert program.fulfillments() == [a, b]
    assert program.fulfillments(other.id) == [b]
    assert (a.id, b.id) == (1, 2)


def test_price_and_value_pure() -> None:
    from loyaltykit.rewards import RewardOffer, price_and_value

    fixed = RewardOffer(1, "f", points_price=300, value=Decimal("2.50"))
    assert price_and_value(fixed, None) == (300, Decimal("2.50"))
    assert price_and_value(fixed, 300) == (300, Decimal("2.50"))
    var = RewardOffer(2, "v", price_kind=PriceKind.VARIABLE, step=100,
                      value_per_step=Decimal("1.25"))  # fmt: skip
    assert price_and_value(var, 700) == (700, Decimal("8.75"))
    with pytest.raises(InvalidArgument):
        price_and_value(var, 750)
