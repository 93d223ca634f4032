"""Tier tracks: thresholds on a metric, lifetime and period windows, multipliers, floors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from loyaltykit import (
    InvalidArgument,
    ManualClock,
    Member,
    Metric,
    OrderStatus,
    Program,
    RuleKind,
    TierChange,
    TierNotFound,
    TrackNotFound,
    Window,
)

DAY = timedelta(days=1)


def ladder(program: Program, **kw: object) -> tuple[int, int, int]:
    """A track with silver (100, x1.5) and gold (500, x2); returns (track, silver, gold)."""
    track = program.add_track(name="vip", **kw)  # type: ignore[arg-type]
    silver = program.add_tier(track.id, name="silver", threshold=100, multiplier=Decimal("1.5"))
    gold = program.add_tier(track.id, name="gold", threshold=500, multiplier=Decimal(2))
    return track.id, silver.id, gold.id


def tier_of(program: Program, member_id: int, track_id: int) -> int | None:
    return program.member(member_id).tiers[track_id]


def test_lifetime_points_track_climbs_with_earnings(program: Program, member: Member) -> None:
    track, silver, gold = ladder(program)
    assert tier_of(program, member.id, track) is None
    program.earn(member.id, 99)
    assert tier_of(program, member.id, track) is None
    program.earn(member.id, 1)  # threshold reached exactly
    assert tier_of(program, member.id, track) == silver
    program.earn(member.id, 400)
    assert tier_of(program, member.id, track) == gold


def test_spending_points_does_not_lower_points_earned(program: Program, member: Member) -> None:
    track, silver, _ = ladder(program)
    program.earn(member.id, 150)
    program.spend(member.id, 150)
    assert tier_of(program, member.id, track) == silver


def test_one_tier_change_record_per_change(
    program: Program, member: Member, clock: ManualClock
) -> None:
    track, silver, gold = ladder(program)
    program.earn(member.id, 50)  # no change
    program.earn(member.id, 60)  # -> silver
    program.earn(member.id, 10)  # no change
    clock.advance(60)
    program.earn(member.id, 1000)  # -> gold, skipping nothing else
    changes = program.tier_changes(member.id)
    assert [(c.from_tier, c.to_tier, c.reason) for c in changes] == [
        (None, silver, "metric"),
        (silver, gold, "metric"),
    ]
    assert changes[1] == TierChange(member.id, track, silver, gold, clock.now(), "metric")


def test_tier_config_change_reevaluates_members(program: Program, member: Member) -> None:
    track = program.add_track(name="vip")
    program.earn(member.id, 200)
    tier = program.add_tier(track.id, name="silver", threshold=100)
    assert tier_of(program, member.id, track.id) == tier.id
    program.update_tier(tier.id, threshold=Decimal(300))
    assert tier_of(program, member.id, track.id) is None
    assert [c.reason for c in program.tier_changes(member.id)] == ["tier_config", "tier_config"]


def test_zero_threshold_tier_is_held_from_joining(program: Program) -> None:
    track = program.add_track(name="vip")
    base = program.add_tier(track.id, name="base", threshold=0)
    newcomer = program.add_member(email="new@example.com")
    assert newcomer.tiers == {track.id: base.id}
    assert program.tier_changes(newcomer.id)[0].reason == "joined"


def test_tiers_listed_in_ladder_order(program: Program) -> None:
    track = program.add_track(name="vip")
    gold = program.add_tier(track.id, name="gold", threshold=500)
    bronze = program.add_tier(track.id, name="bronze", threshold=10)
    assert [t.id for t in program.tiers(track.id)] == [bronze.id, gold.id]
    assert program.tier(gold.id) == gold
    assert program.track(track.id) == track
    assert program.tracks() == [track]


def test_several_tracks_are_independent(
    program: Program, member: Member, clock: ManualClock
) -> None:
    lifetime = program.add_track(name="lifetime", metric=Metric.POINTS_EARNED)
    period = program.add_track(name="spend", metric=Metric.AMOUNT_SPENT, window=Window.MONTH)
    l_gold = program.add_tier(lifetime.id, name="gold", threshold=100)
    p_gold = program.add_tier(period.id, name="big spender", threshold=Decimal("50.00"))
    program.earn(member.id, 100)
    assert program.member(member.id).tiers == {lifetime.id: l_gold.id, period.id: None}
    program.record_order(
        "o1", member_id=member.id, amount=Decimal("50.00"), status=OrderStatus.PAID,
        updated_at=clock.now(),
    )  # fmt: skip
    assert program.member(member.id).tiers == {lifetime.id: l_gold.id, period.id: p_gold.id}


def test_period_track_rolls_over_at_the_calendar_boundary(
    program: Program, member: Member, clock: ManualClock
) -> None:
    track, silver, _ = ladder(program, window=Window.MONTH)
    clock.set(datetime(2024, 1, 20, tzinfo=UTC))
    program.earn(member.id, 150)
    assert tier_of(program, member.id, track) == silver
    clock.set(datetime(2024, 1, 31, 23, 59, 59, tzinfo=UTC))
    assert tier_of(program, member.id, track) == silver
    clock.set(datetime(2024, 2, 1, tzinfo=UTC))
    assert tier_of(program, member.id, track) is None
    last = program.tier_changes(member.id)[-1]
    assert (last.from_tier, last.to_tier, last.reason, last.at) == (
        silver,
        None,
        "period_end",
        datetime(2024, 2, 1, tzinfo=UTC),
    )
    program.earn(member.id, 100)  # February counts from zero
    assert tier_of(program, member.id, track) == silver


def test_period_earnings_add_up_within_a_period(
    program: Program, member: Member, clock: ManualClock
) -> None:
    track, silver, _ = ladder(program, window=Window.WEEK)
    clock.set(datetime(2024, 3, 4, 1, 0, tzinfo=UTC))  # Monday
    program.earn(member.id, 60)
    clock.set(datetime(2024, 3, 10, 23, 0, tzinfo=UTC))  # Sunday, same week
    program.earn(member.id, 40)
    assert tier_of(program, member.id, track) == silver
    clock.set(datetime(2024, 3, 11, 0, 0, tzinfo=UTC))  # next Monday
    assert tier_of(program, member.id, track) is None


def test_yearly_track(program: Program, member: Member, clock: ManualClock) -> None:
    track, silver, _ = ladder(program, window=Window.YEAR)
    clock.set(datetime(2024, 6, 1, tzinfo=UTC))
    program.earn(member.id, 100)
    clock.set(datetime(2024, 12, 31, 23, 0, tzinfo=UTC))
    assert tier_of(program, member.id, track) == silver
    clock.set(datetime(2025, 1, 1, tzinfo=UTC))
    assert tier_of(program, member.id, track) is None


def test_lifetime_track_never_rolls(program: Program, member: Member, clock: ManualClock) -> None:
    track, silver, _ = ladder(program)
    program.earn(member.id, 100)
    clock.advance(5000 * DAY)
    assert tier_of(program, member.id, track) == silver


def test_day_window_is_not_a_tier_period(program: Program) -> None:
    with pytest.raises(InvalidArgument) as info:
        program.add_track(name="daily", window=Window.DAY)
    assert info.value.field == "window"
    assert program.tracks() == []


def test_tier_multiplier_applies_to_rule_awards(program: Program, member: Member) -> None:
    _, _, _ = ladder(program)
    rule = program.add_rule(name="r", points=11)
    mult = program.add_rule(name="m", kind=RuleKind.MULTIPLIER, multiplier=Decimal(1))
    assert program.award(member.id, rule.id).points == 11  # no tier yet
    program.earn(member.id, 89)  # 100 earned -> silver x1.5
    assert program.award(member.id, rule.id).points == 16  # floor(16.5)
    assert program.award(member.id, mult.id, amount=Decimal("9.99")).points == 14  # floor(14.985)
    program.earn(member.id, 1000)  # gold x2
    assert program.award(member.id, rule.id).points == 22


def test_manual_earn_is_not_multiplied(program: Program, member: Member) -> None:
    ladder(program)
    program.earn(member.id, 500)
    assert program.earn(member.id, 10).points == 10


@pytest.mark.parametrize("best_first", [True, False])
def test_best_multiplier_across_tracks(program: Program, member: Member, best_first: bool) -> None:
    """The best multiplier wins wherever its track sits (neither the first nor the last
    track's tier wins by position)."""
    factors = [Decimal(3), Decimal("1.2"), Decimal("1.5")]
    if not best_first:
        factors.reverse()
        factors[0], factors[1] = factors[1], factors[0]  # best in the middle: 1.2, 3, 1.5
    for n, factor in enumerate(factors):
        track = program.add_track(name=f"t{n}")
        program.add_tier(track.id, name=f"tier{n}", threshold=10, multiplier=factor)
    program.earn(member.id, 10)
    rule = program.add_rule(name="r", points=10)
    assert program.award(member.id, rule.id).points == 30


def test_set_tier_is_a_manual_floor(program: Program, member: Member) -> None:
    track, silver, gold = ladder(program)
    program.set_tier(member.id, track, silver)
    assert tier_of(program, member.id, track) == silver
    change = program.tier_changes(member.id)[-1]
    assert (change.from_tier, change.to_tier, change.reason) == (None, silver, "manual")
    program.earn(member.id, 600)  # metric goes above the floor
    assert tier_of(program, member.id, track) == gold
    program.set_tier(member.id, track, None)  # lifting the floor keeps the earned tier
    assert tier_of(program, member.id, track) == gold


def test_floor_holds_through_a_period_rollover(
    program: Program, member: Member, clock: ManualClock
) -> None:
    track, silver, gold = ladder(program, window=Window.MONTH)
    program.set_tier(member.id, track, silver)
    program.earn(member.id, 500)
    assert tier_of(program, member.id, track) == gold
    clock.set(datetime(2024, 2, 1, tzinfo=UTC))
    assert tier_of(program, member.id, track) == silver


def test_lifting_the_floor_drops_to_the_computed_tier(program: Program, member: Member) -> None:
    track, _, gold = ladder(program)
    program.set_tier(member.id, track, gold)
    program.set_tier(member.id, track, None)
    assert tier_of(program, member.id, track) is None
    assert [c.to_tier for c in program.tier_changes(member.id)] == [gold, None]


def test_set_tier_validates(program: Program, member: Member) -> None:
    track, silver, _ = ladder(program)
    other_track = program.add_track(name="other")
    before = program.snapshot()
    with pytest.raises(TrackNotFound):
        program.set_tier(member.id, 99, silver)
    with pytest.raises(TierNotFound):
        program.set_tier(member.id, other_track.id, silver)  # tier of another track
    with pytest.raises(TierNotFound):
        program.set_tier(member.id, track, 99)
    assert program.snapshot() == before


def test_refunded_order_leaves_the_spend_metric(
    program: Program, member: Member, clock: ManualClock
) -> None:
    track = program.add_track(name="spend", metric=Metric.AMOUNT_SPENT)
    vip = program.add_tier(track.id, name="vip", threshold=100)
    program.record_order(
        "o1", member_id=member.id, amount=Decimal(100), status=OrderStatus.PAID,
        updated_at=clock.now(),
    )  # fmt: skip
    assert tier_of(program, member.id, track.id) == vip.id
    assert program.member(member.id).amount_spent == Decimal(100)
    clock.advance(60)
    program.record_order(
        "o1", member_id=member.id, amount=Decimal(100), status=OrderStatus.REFUNDED,
        updated_at=clock.now(),
    )  # fmt: skip
    assert program.member(member.id).amount_spent == Decimal(0)
    assert tier_of(program, member.id, track.id) is None


def test_partial_return_lowers_the_spend_metric(
    program: Program, member: Member, clock: ManualClock
) -> None:
    track = program.add_track(name="spend", metric=Metric.AMOUNT_SPENT)
    vip = program.add_tier(track.id, name="vip", threshold=100)
    program.record_order(
        "o1", member_id=member.id, amount=Decimal(120), status=OrderStatus.PAID,
        updated_at=clock.now(),
    )  # fmt: skip
    assert tier_of(program, member.id, track.id) == vip.id
    program.return_order("o1", amount=Decimal(30))
    assert program.member(member.id).amount_spent == Decimal(90)
    assert tier_of(program, member.id, track.id) is None


def test_clawed_back_points_leave_the_points_metric(
    program: Program, member: Member, clock: ManualClock
) -> None:
    track, silver, _ = ladder(program)
    program.add_rule(name="o", kind=RuleKind.MULTIPLIER, multiplier=Decimal(1), trigger="order")
    program.record_order(
        "o1", member_id=member.id, amount=Decimal(100), status=OrderStatus.PAID,
        updated_at=clock.now(),
    )  # fmt: skip
    assert tier_of(program, member.id, track) == silver
    program.return_order("o1")
    assert tier_of(program, member.id, track) is None


def test_refund_of_a_past_period_order_does_not_count_against_the_new_period(
    program: Program, member: Member, clock: ManualClock
) -> None:
    track = program.add_track(name="monthly", metric=Metric.AMOUNT_SPENT, window=Window.MONTH)
    silver = program.add_tier(track.id, name="silver", threshold=50)
    clock.set(datetime(2024, 1, 15, tzinfo=UTC))
    program.record_order(
        "jan", member_id=member.id, amount=Decimal(100), status=OrderStatus.PAID,
        updated_at=clock.now(),
    )  # fmt: skip
    clock.set(datetime(2024, 2, 10, tzinfo=UTC))
    program.record_order(
        "jan", member_id=member.id, amount=Decimal(100), status=OrderStatus.REFUNDED,
        updated_at=clock.now(),
    )  # fmt: skip
    program.record_order(
        "feb", member_id=member.id, amount=Decimal(60), status=OrderStatus.PAID,
        updated_at=clock.now(),
    )  # fmt: skip
    # February's spending is 60 >= 50; January's refund belongs to January
    assert tier_of(program, member.id, track.id) == silver.id


def test_tier_validation(program: Program) -> None:
    with pytest.raises(TrackNotFound):
        program.add_tier(99, name="x", threshold=1)
    track = program.add_track(name="t")
    with pytest.raises(InvalidArgument) as info:
        program.add_tier(track.id, name="x", threshold=1.5)  # type: ignore[arg-type]
    assert info.value.field == "threshold"
    with pytest.raises(InvalidArgument) as info:
        program.add_tier(track.id, name="x", threshold=1, multiplier=2.0)  # type: ignore[arg-type]
    assert info.value.field == "multiplier"
    tier = program.add_tier(track.id, name="x", threshold=1)
    with pytest.raises(InvalidArgument) as info:
        program.update_tier(tier.id, track_id=99)
    assert info.value.field == "track_id"
    with pytest.raises(TierNotFound):
        program.update_tier(99, name="y")


def test_tier_for_pure() -> None:
    from loyaltykit.tiers import Tier, tier_for

    bronze = Tier(1, 1, "bronze", Decimal(0))
    silver = Tier(2, 1, "silver", Decimal(100))
    gold = Tier(3, 1, "gold", Decimal(500))
    ladder_ = [bronze, silver, gold]
    assert tier_for(ladder_, Decimal(-5), None) is None
    assert tier_for(ladder_, Decimal(0), None) is bronze
    assert tier_for(ladder_, Decimal("99.99"), None) is bronze
    assert tier_for(ladder_, Decimal(100), None) is silver
    assert tier_for(ladder_, Decimal(10**9), None) is gold
    assert tier_for(ladder_, Decimal(0), gold) is gold  # the floor wins when higher
    assert tier_for(ladder_, Decimal(600), silver) is gold  # and not when lower
    assert tier_for([], Decimal(600), None) is None


def test_a_lifetime_track_added_later_counts_the_history(
    program: Program, member: Member, clock: ManualClock
) -> None:
    program.earn(member.id, 500)
    program.record_order(
        "o1", member_id=member.id, amount=Decimal(80), status=OrderStatus.PAID,
        updated_at=clock.now(),
    )  # fmt: skip
    points = program.add_track(name="lifetime points")
    silver = program.add_tier(points.id, name="silver", threshold=100)
    spend = program.add_track(name="lifetime spend", metric=Metric.AMOUNT_SPENT)
    spender = program.add_tier(spend.id, name="spender", threshold=50)
    assert program.member(member.id).tiers == {points.id: silver.id, spend.id: spender.id}


def test_a_change_dated_in_an_earlier_period_does_not_count(
    program: Program, member: Member, clock: ManualClock
) -> None:
    """With the clock set back into the previous month, points earned then count neither in
    the month the track is already in nor in a period of their own."""
    track, silver, _ = ladder(program, window=Window.MONTH)
    clock.set(datetime(2024, 2, 10, tzinfo=UTC))
    program.earn(member.id, 60)
    clock.set(datetime(2024, 1, 20, tzinfo=UTC))  # January: before February's period
    program.earn(member.id, 60)
    progress = program.tier_progress(member.id, track)
    assert progress.value == 60
    assert tier_of(program, member.id, track) is None  # 120 would have reached silver
    clock.set(datetime(2024, 2, 20, tzinfo=UTC))
    assert program.tier_progress(member.id, track).value == 60
    assert silver not in [c.to_tier for c in program.tier_changes(member.id)]


def test_a_period_in_another_timezone_rolls_over_at_a_utc_instant(clock: ManualClock) -> None:
    """The rollover at a New York midnight is recorded as a UTC instant, so a program and
    its snapshot agree (it was recorded in local time, and the restored one in UTC)."""
    program = Program(clock, timezone=ZoneInfo("America/New_York"))
    member = program.add_member(email="ny@example.com")
    ladder(program, window=Window.WEEK)
    program.earn(member.id, 200)
    clock.set(datetime(2024, 1, 8, 5, tzinfo=UTC))  # Monday 00:00 in New York
    change = program.tier_changes(member.id)[-1]
    assert change.reason == "period_end" and change.at.tzinfo is UTC
    assert change.at == datetime(2024, 1, 8, 5, tzinfo=UTC)
    assert Program.restore(program.snapshot(), clock).state() == program.state()
