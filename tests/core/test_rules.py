"""Earning rules: fixed / multiplier, rounding, caps per calendar window, approvals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyaltykit import (
    AlreadyResolved,
    Approval,
    Cap,
    CapReached,
    InvalidArgument,
    ManualClock,
    Member,
    NotPending,
    Program,
    RuleInactive,
    RuleKind,
    TxnKind,
    TxnStatus,
    Window,
)

DAY = timedelta(days=1)


# -- kinds and rounding -------------------------------------------------------------------


def test_fixed_rule_awards_its_points(program: Program, member: Member) -> None:
    rule = program.add_rule(name="signup", points=50)
    txn = program.award(member.id, rule.id)
    assert (txn.kind, txn.points, txn.status, txn.rule_id) == (
        TxnKind.AWARD,
        50,
        TxnStatus.POSTED,
        rule.id,
    )
    assert program.member(member.id).balance == 50


def test_fixed_rule_points_override(program: Program, member: Member) -> None:
    rule = program.add_rule(name="bonus", points=50)
    assert program.award(member.id, rule.id, points=7).points == 7


def test_multiplier_rule_awards_amount_times_multiplier(program: Program, member: Member) -> None:
    rule = program.add_rule(name="spend", kind=RuleKind.MULTIPLIER, multiplier=Decimal("2.5"))
    assert program.award(member.id, rule.id, amount=Decimal("10.00")).points == 25


@pytest.mark.parametrize(
    ("amount", "multiplier", "expected"),
    [
        ("10.99", "1", 10),
        ("3", "0.5", 1),
        ("1.999", "1", 1),
        ("7", "1.5", 10),
        ("0.99", "2", 1),
    ],
)
def test_multiplier_rounds_down(
    program: Program, member: Member, amount: str, multiplier: str, expected: int
) -> None:
    rule = program.add_rule(name="spend", kind=RuleKind.MULTIPLIER, multiplier=Decimal(multiplier))
    assert program.award(member.id, rule.id, amount=Decimal(amount)).points == expected


def test_award_worth_zero_points_is_refused(program: Program, member: Member) -> None:
    rule = program.add_rule(name="spend", kind=RuleKind.MULTIPLIER, multiplier=Decimal("0.1"))
    before = program.state()
    with pytest.raises(InvalidArgument) as info:
        program.award(member.id, rule.id, amount=Decimal("9.99"))
    assert info.value.field == "points"
    assert program.state() == before


def test_multiplier_rule_needs_amount_and_refuses_points(program: Program, member: Member) -> None:
    rule = program.add_rule(name="spend", kind=RuleKind.MULTIPLIER, multiplier=Decimal(1))
    with pytest.raises(InvalidArgument) as info:
        program.award(member.id, rule.id)
    assert info.value.field == "amount"
    with pytest.raises(InvalidArgument) as info:
        program.award(member.id, rule.id, amount=Decimal(5), points=5)
    assert info.value.field == "points"


def test_multiplier_rule_needs_nonzero_multiplier(program: Program) -> None:
    with pytest.raises(InvalidArgument) as info:
        program.add_rule(name="x", kind=RuleKind.MULTIPLIER)
    assert info.value.field == "multiplier"


def test_rule_lookup_update_and_listing(program: Program) -> None:
    a = program.add_rule(name="a", points=1)
    b = program.add_rule(name="b", points=2, trigger="order")
    assert (a.id, b.id) == (1, 2)
    assert program.rule(a.id) == a
    assert program.rules() == [a, b]
    assert program.rules(trigger="order") == [b]
    updated = program.update_rule(a.id, points=9, name="a2")
    assert (updated.points, updated.name, updated.id) == (9, "a2", a.id)
    assert program.rule(a.id) == updated


# -- inactive ------------------------------------------------------------------------------


def test_inactive_rule_refuses_awards(program: Program, member: Member) -> None:
    rule = program.add_rule(name="off", points=5, active=False)
    before = program.state()
    with pytest.raises(RuleInactive) as info:
        program.award(member.id, rule.id)
    assert str(rule.id) in str(info.value)
    assert program.state() == before


def test_deactivated_then_reactivated(program: Program, member: Member) -> None:
    rule = program.add_rule(name="r", points=5)
    program.update_rule(rule.id, active=False)
    with pytest.raises(RuleInactive):
        program.award(member.id, rule.id)
    program.update_rule(rule.id, active=True)
    assert program.award(member.id, rule.id).points == 5


# -- caps ----------------------------------------------------------------------------------


def _capped(program: Program, window: Window, max_awards: int = 1) -> int:
    return program.add_rule(name=f"cap-{window}", points=1, cap=Cap(max_awards, window)).id


def test_cap_counts_awards_per_member(program: Program, member: Member, other: Member) -> None:
    rule_id = _capped(program, Window.DAY, 2)
    program.award(member.id, rule_id)
    program.award(member.id, rule_id)
    before = program.state()
    with pytest.raises(CapReached) as info:
        program.award(member.id, rule_id)
    assert "2" in str(info.value) and str(rule_id) in str(info.value)
    assert program.state() == before
    program.award(other.id, rule_id)  # another member has their own count


def test_cap_is_per_rule(program: Program, member: Member) -> None:
    a = _capped(program, Window.LIFETIME)
    b = _capped(program, Window.LIFETIME)
    program.award(member.id, a)
    program.award(member.id, b)
    with pytest.raises(CapReached):
        program.award(member.id, a)


@pytest.mark.parametrize(
    ("window", "first", "still_same", "next_window"),
    [
        (
            Window.DAY,
            datetime(2024, 3, 5, 0, 0, tzinfo=UTC),
            datetime(2024, 3, 5, 23, 59, 59, 999999, tzinfo=UTC),
            datetime(2024, 3, 6, 0, 0, tzinfo=UTC),
        ),
        (
            # weeks start on Monday: 2024-03-04 is a Monday, 2024-03-11 the next one
            Window.WEEK,
            datetime(2024, 3, 4, 0, 0, tzinfo=UTC),
            datetime(2024, 3, 10, 23, 59, 59, tzinfo=UTC),
            datetime(2024, 3, 11, 0, 0, tzinfo=UTC),
        ),
        (
            Window.MONTH,
            datetime(2024, 2, 1, 0, 0, tzinfo=UTC),
            datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC),
            datetime(2024, 3, 1, 0, 0, tzinfo=UTC),
        ),
        (
            Window.MONTH,
            datetime(2024, 12, 15, tzinfo=UTC),
            datetime(2024, 12, 31, 23, 0, tzinfo=UTC),
            datetime(2025, 1, 1, tzinfo=UTC),
        ),
        (
            Window.YEAR,
            datetime(2024, 1, 1, 0, 0, tzinfo=UTC),
            datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC),
            datetime(2025, 1, 1, 0, 0, tzinfo=UTC),
        ),
    ],
)
def test_cap_calendar_windows(
    program: Program,
    member: Member,
    clock: ManualClock,
    window: Window,
    first: datetime,
    still_same: datetime,
    next_window: datetime,
) -> None:
    rule_id = _capped(program, window)
    clock.set(first)
    program.award(member.id, rule_id)
    clock.set(still_same)
    with pytest.raises(CapReached):
        program.award(member.id, rule_id)
    clock.set(next_window)
    program.award(member.id, rule_id)
    with pytest.raises(CapReached):
        program.award(member.id, rule_id)


def test_cap_window_is_calendar_not_rolling(
    program: Program, member: Member, clock: ManualClock
) -> None:
    rule_id = _capped(program, Window.DAY)
    clock.set(datetime(2024, 3, 5, 23, 59, tzinfo=UTC))
    program.award(member.id, rule_id)
    clock.set(datetime(2024, 3, 6, 0, 1, tzinfo=UTC))  # two minutes later, a new day
    program.award(member.id, rule_id)


def test_lifetime_cap_never_resets(program: Program, member: Member, clock: ManualClock) -> None:
    rule_id = _capped(program, Window.LIFETIME, 2)
    program.award(member.id, rule_id)
    clock.advance(400 * DAY)
    program.award(member.id, rule_id)
    clock.advance(4000 * DAY)
    with pytest.raises(CapReached):
        program.award(member.id, rule_id)


def test_cap_windows_follow_program_timezone() -> None:
    zone = ZoneInfo("America/New_York")
    clock = ManualClock(datetime(2024, 3, 5, 23, 0, tzinfo=UTC))  # 18:00 local on 5 March
    program = Program(clock, timezone=zone)
    member = program.add_member(email="ny@example.com")
    rule_id = _capped(program, Window.DAY)
    program.award(member.id, rule_id)
    clock.set(datetime(2024, 3, 6, 4, 59, tzinfo=UTC))  # 23:59 local, still 5 March there
    with pytest.raises(CapReached):
        program.award(member.id, rule_id)
    clock.set(datetime(2024, 3, 6, 5, 0, tzinfo=UTC))  # local midnight
    program.award(member.id, rule_id)


def test_rejected_award_frees_its_cap_slot(program: Program, member: Member) -> None:
    rule = program.add_rule(name="r", points=5, cap=Cap(1, Window.DAY), approval=Approval.MANUAL)
    txn = program.award(member.id, rule.id)
    with pytest.raises(CapReached):
        program.award(member.id, rule.id)
    program.reject(txn.id)
    program.award(member.id, rule.id)


@pytest.mark.parametrize("max_awards", [0, -1, True, 1.0])
def test_cap_max_awards_must_be_a_positive_int(program: Program, max_awards: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        program.add_rule(name="r", points=1, cap=Cap(max_awards, Window.DAY))  # type: ignore[arg-type]
    assert info.value.field == "cap.max_awards"
    assert program.rules() == []


def test_cap_window_must_be_known(program: Program) -> None:
    with pytest.raises(InvalidArgument) as info:
        program.add_rule(name="r", points=1, cap=Cap(1, "fortnight"))  # type: ignore[arg-type]
    assert info.value.field == "cap.window"
    assert "fortnight" in str(info.value)


# -- approvals -----------------------------------------------------------------------------


def test_manual_approval_stays_pending_until_approved(
    program: Program, member: Member, clock: ManualClock
) -> None:
    rule = program.add_rule(name="review", points=30, approval=Approval.MANUAL)
    txn = program.award(member.id, rule.id)
    assert txn.status is TxnStatus.PENDING
    assert txn.auto_approve_at is None
    clock.advance(365 * DAY)
    assert program.transaction(txn.id).status is TxnStatus.PENDING
    view = program.member(member.id)
    assert (view.balance, view.pending, view.earned) == (0, 30, 0)
    assert program.lots(member.id) == []
    approved = program.approve(txn.id, by="alice-admin")
    assert approved.id == txn.id
    assert approved.status is TxnStatus.POSTED
    assert approved.resolved_at == clock.now()
    assert approved.resolved_by == "alice-admin"
    assert program.transaction(txn.id) == approved
    view = program.member(member.id)
    assert (view.balance, view.pending, view.earned) == (30, 0, 30)


def test_reject_never_credits(program: Program, member: Member) -> None:
    rule = program.add_rule(name="review", points=30, approval=Approval.MANUAL)
    txn = program.award(member.id, rule.id)
    rejected = program.reject(txn.id, by="mod")
    assert rejected.status is TxnStatus.REJECTED
    assert rejected.resolved_by == "mod"
    view = program.member(member.id)
    assert (view.balance, view.pending, view.earned) == (0, 0, 0)


@pytest.mark.parametrize(
    ("first", "second"),
    [("approve", "approve"), ("approve", "reject"), ("reject", "approve"), ("reject", "reject")],
)
def test_resolution_happens_at_most_once(
    program: Program, member: Member, first: str, second: str
) -> None:
    rule = program.add_rule(name="review", points=30, approval=Approval.MANUAL)
    txn = program.award(member.id, rule.id)
    getattr(program, first)(txn.id)
    before = program.snapshot()
    with pytest.raises(AlreadyResolved) as info:
        getattr(program, second)(txn.id)
    assert str(txn.id) in str(info.value)
    assert program.snapshot() == before


def test_approving_a_posted_transaction_is_not_pending(program: Program, member: Member) -> None:
    txn = program.earn(member.id, 5)
    with pytest.raises(NotPending) as info:
        program.approve(txn.id)
    assert not isinstance(info.value, AlreadyResolved)
    assert str(txn.id) in str(info.value)


def test_delayed_approval_auto_approves_via_the_clock(
    program: Program, member: Member, clock: ManualClock
) -> None:
    rule = program.add_rule(
        name="purchase", points=20, approval=Approval.DELAYED, approval_delay=3 * DAY
    )
    start = clock.now()
    txn = program.award(member.id, rule.id)
    assert txn.status is TxnStatus.PENDING
    assert txn.auto_approve_at == start + 3 * DAY
    clock.set(start + 3 * DAY - timedelta(microseconds=1))
    assert program.member(member.id).pending == 20
    clock.set(start + 3 * DAY)
    view = program.member(member.id)
    assert (view.balance, view.pending) == (20, 0)
    resolved = program.transaction(txn.id)
    assert resolved.status is TxnStatus.POSTED
    assert resolved.resolved_at == start + 3 * DAY
    assert resolved.resolved_by == "auto"
    with pytest.raises(AlreadyResolved):
        program.reject(txn.id)


def test_delayed_approval_default_delay_is_30_days(
    program: Program, member: Member, clock: ManualClock
) -> None:
    rule = program.add_rule(name="purchase", points=20, approval=Approval.DELAYED)
    txn = program.award(member.id, rule.id)
    assert txn.auto_approve_at == clock.now() + 30 * DAY


def test_explicit_auto_approve_at(program: Program, member: Member, clock: ManualClock) -> None:
    rule = program.add_rule(name="r", points=20, approval=Approval.MANUAL)
    due = clock.now() + timedelta(hours=5)
    txn = program.award(member.id, rule.id, auto_approve_at=due)
    assert (txn.status, txn.auto_approve_at) == (TxnStatus.PENDING, due)
    clock.set(due)
    assert program.member(member.id).balance == 20


def test_auto_approve_at_in_the_past_approves_at_once(
    program: Program, member: Member, clock: ManualClock
) -> None:
    rule = program.add_rule(name="r", points=20, approval=Approval.DELAYED)
    txn = program.award(member.id, rule.id, auto_approve_at=clock.now() - DAY)
    assert txn.status is TxnStatus.POSTED
    assert program.member(member.id).balance == 20


def test_manual_resolution_before_due_wins_over_auto(
    program: Program, member: Member, clock: ManualClock
) -> None:
    rule = program.add_rule(name="r", points=20, approval=Approval.DELAYED, approval_delay=DAY)
    txn = program.award(member.id, rule.id)
    program.reject(txn.id)
    clock.advance(2 * DAY)
    assert program.transaction(txn.id).status is TxnStatus.REJECTED
    assert program.member(member.id).balance == 0


def test_lot_lifetime_starts_at_approval(
    program: Program, member: Member, clock: ManualClock
) -> None:
    rule = program.add_rule(name="r", points=20, approval=Approval.MANUAL, points_lifetime=10 * DAY)
    txn = program.award(member.id, rule.id)
    assert txn.expires_at is None
    clock.advance(5 * DAY)
    approved = program.approve(txn.id)
    assert approved.expires_at == clock.now() + 10 * DAY
    clock.advance(10 * DAY - timedelta(seconds=1))
    assert program.member(member.id).balance == 20
    clock.advance(timedelta(seconds=1))
    assert program.member(member.id).balance == 0
    assert program.member(member.id).expired == 20


def test_lot_lifetime_of_an_auto_approved_award_starts_at_due(
    program: Program, member: Member, clock: ManualClock
) -> None:
    rule = program.add_rule(
        name="r", points=20, approval=Approval.DELAYED, approval_delay=DAY, points_lifetime=DAY
    )
    start = clock.now()
    txn = program.award(member.id, rule.id)
    clock.advance(10 * DAY)  # approval at start+1d, expiry at start+2d, both in the past
    assert program.transaction(txn.id).expires_at == start + 2 * DAY
    view = program.member(member.id)
    assert (view.balance, view.earned, view.expired) == (0, 20, 20)
    expiry = program.transactions(member.id)[-1]
    assert (expiry.kind, expiry.created_at) == (TxnKind.EXPIRE, start + 2 * DAY)


def test_immediate_award_with_lifetime(
    program: Program, member: Member, clock: ManualClock
) -> None:
    rule = program.add_rule(name="r", points=20, points_lifetime=7 * DAY)
    txn = program.award(member.id, rule.id)
    assert txn.expires_at == clock.now() + 7 * DAY


def test_award_with_order_id_happens_once_per_order_and_rule(
    program: Program, member: Member
) -> None:
    rule = program.add_rule(name="r", points=20)
    first = program.award(member.id, rule.id, order_id="A-1")
    again = program.award(member.id, rule.id, order_id="A-1")
    assert again == first
    assert program.member(member.id).balance == 20
    assert program.order("A-1").awarded == 20


# -- pure helpers --------------------------------------------------------------------------


def test_points_for_pure() -> None:
    from loyaltykit.rules import EarningRule, points_for

    fixed = EarningRule(1, "f", points=10)
    mult = EarningRule(2, "m", kind=RuleKind.MULTIPLIER, multiplier=Decimal("1.5"))
    assert points_for(fixed, None, None, Decimal(1)) == 10
    assert points_for(fixed, Decimal(999), None, Decimal(1)) == 10  # amount is ignored
    assert points_for(fixed, None, 4, Decimal("1.25")) == 5
    assert points_for(mult, Decimal("3.33"), None, Decimal(1)) == 4  # floor(4.995)
    assert points_for(mult, None, None, Decimal(1)) == 0
    assert points_for(mult, Decimal(-3), None, Decimal(1)) == -5  # floor, not truncation


@pytest.mark.parametrize(
    ("window", "moment", "start", "end"),
    [
        (Window.DAY, datetime(2024, 2, 29, 13, 5, tzinfo=UTC),
         datetime(2024, 2, 29, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)),
        (Window.WEEK, datetime(2024, 3, 3, 23, 0, tzinfo=UTC),  # a Sunday
         datetime(2024, 2, 26, tzinfo=UTC), datetime(2024, 3, 4, tzinfo=UTC)),
        (Window.MONTH, datetime(2024, 12, 31, 23, 59, tzinfo=UTC),
         datetime(2024, 12, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
        (Window.YEAR, datetime(2024, 7, 4, tzinfo=UTC),
         datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_window_start_and_end(
    window: Window, moment: datetime, start: datetime, end: datetime
) -> None:
    from loyaltykit.rules import window_end, window_start

    assert window_start(window, moment, UTC) == start
    assert window_end(window, start) == end


def test_lifetime_window_has_no_bounds() -> None:
    from loyaltykit.rules import window_end, window_start

    assert window_start(Window.LIFETIME, datetime(2024, 1, 1, tzinfo=UTC), UTC) is None
    assert window_end(Window.LIFETIME, datetime(2024, 1, 1, tzinfo=UTC)) is None


def test_window_start_in_a_zone_with_daylight_saving() -> None:
    from loyaltykit.rules import window_end, window_start

    zone = ZoneInfo("Europe/Paris")
    # 2024-03-31 is the day clocks go forward in Paris: it lasts 23 hours
    start = window_start(Window.DAY, datetime(2024, 3, 31, 12, 0, tzinfo=UTC), zone)
    assert start == datetime(2024, 3, 30, 23, 0, tzinfo=UTC)
    end = window_end(Window.DAY, start)  # type: ignore[arg-type]
    assert end == datetime(2024, 3, 31, 22, 0, tzinfo=UTC)


@given(
    zone=st.sampled_from(
        ["UTC", "Europe/Paris", "America/New_York", "America/Santiago", "Australia/Lord_Howe",
         "Asia/Kathmandu", "America/Havana"]
    ),
    window=st.sampled_from([w for w in Window if w is not Window.LIFETIME]),
    steps=st.lists(st.integers(min_value=-3 * 3600, max_value=40 * 86400), min_size=1,
                   max_size=30),
)
def test_the_period_cache_agrees_with_window_start(
    zone: str, window: Window, steps: list[int]
) -> None:
    # State._period_start remembers the last period per window; across DST changes (and
    # zones that skip midnight) it answers exactly what window_start computes afresh
    from loyaltykit.orders import ClawbackPolicy
    from loyaltykit.rules import window_start
    from loyaltykit.state import State

    tz = UTC if zone == "UTC" else ZoneInfo(zone)
    state = State(ClawbackPolicy.NEGATIVE_BALANCE, tz)
    at = datetime(2024, 3, 8, tzinfo=UTC)
    for step in steps:
        at += timedelta(seconds=step)
        assert state._period_start(window, at) == window_start(window, at, tz)
