"""Orders: paid earns, refunds revoke, partial returns claw back in proportion."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from loyaltykit import (
    Approval,
    ClawbackPolicy,
    InvalidArgument,
    ManualClock,
    Member,
    OrderNotFound,
    OrderStatus,
    OverReturn,
    Program,
    RuleKind,
    TxnKind,
    TxnStatus,
    UsageStatus,
)

PAID = OrderStatus.PAID
REFUNDED = OrderStatus.REFUNDED


def per_unit(program: Program, multiplier: str = "1") -> int:
    """An order rule awarding floor(amount * multiplier)."""
    return program.add_rule(
        name="per unit", kind=RuleKind.MULTIPLIER, multiplier=Decimal(multiplier), trigger="order"
    ).id


def order(
    program: Program,
    clock: ManualClock,
    external_id: str,
    member_id: int | None,
    amount: str | int,
    status: OrderStatus = PAID,
    *,
    at: datetime | None = None,
    **kw: object,
):  # type: ignore[no-untyped-def]
    return program.record_order(
        external_id,
        member_id=member_id,
        amount=Decimal(amount),
        status=status,
        updated_at=at or clock.now(),
        **kw,  # type: ignore[arg-type]
    )


def bal(program: Program, member_id: int) -> int:
    return program.member(member_id).balance


# -- earning -------------------------------------------------------------------------------


def test_paid_order_earns_through_order_rules(
    program: Program, member: Member, clock: ManualClock
) -> None:
    rule_id = per_unit(program)
    fixed = program.add_rule(name="per order", points=5, trigger="order")
    program.add_rule(name="not for orders", points=1000)  # trigger "custom"
    o = order(program, clock, "A-1", member.id, "42.90")
    assert (o.status, o.awarded, o.clawed_back, o.amount) == (PAID, 47, 0, Decimal("42.90"))
    txns = [program.transaction(i) for i in o.txn_ids]
    assert [(t.kind, t.points, t.rule_id, t.order_id) for t in txns] == [
        (TxnKind.AWARD, 42, rule_id, "A-1"),
        (TxnKind.AWARD, 5, fixed.id, "A-1"),
    ]
    assert bal(program, member.id) == 47
    assert program.order("A-1") == o
    assert program.orders() == [o]
    assert program.orders(member.id) == [o]


def test_inactive_order_rule_is_skipped(
    program: Program, member: Member, clock: ManualClock
) -> None:
    rule_id = per_unit(program)
    program.update_rule(rule_id, active=False)
    assert order(program, clock, "A", member.id, 100).awarded == 0


def test_unpaid_order_earns_nothing_until_paid(
    program: Program, member: Member, clock: ManualClock
) -> None:
    per_unit(program)
    assert order(program, clock, "A", member.id, 100, OrderStatus.UNPAID).awarded == 0
    assert bal(program, member.id) == 0
    clock.advance(60)
    assert order(program, clock, "A", member.id, 100).awarded == 100
    assert bal(program, member.id) == 100


def test_guest_order_earns_nothing(program: Program, member: Member, clock: ManualClock) -> None:
    per_unit(program)
    o = order(program, clock, "G", None, 100)
    assert (o.member_id, o.awarded, o.txn_ids) == (None, 0, ())
    assert program.transactions() == []


def test_negative_amount_is_treated_as_zero(
    program: Program, member: Member, clock: ManualClock
) -> None:
    per_unit(program)
    o = order(program, clock, "N", member.id, "-15.00")
    assert (o.amount, o.awarded) == (Decimal(0), 0)
    assert program.transactions() == []


def test_idempotent_repeat(program: Program, member: Member, clock: ManualClock) -> None:
    per_unit(program)
    first = order(program, clock, "A", member.id, 100)
    state = program.state()
    journal = program.journal()
    clock.advance(60)
    again = order(program, clock, "A", member.id, 100, at=first.updated_at)
    assert again == first
    assert program.state() == state
    assert program.journal() == journal


def test_older_update_is_ignored(program: Program, member: Member, clock: ManualClock) -> None:
    per_unit(program)
    t0 = clock.now()
    clock.advance(60)
    first = order(program, clock, "A", member.id, 100)
    state = program.state()
    stale = order(program, clock, "A", member.id, 100, REFUNDED, at=t0)
    assert stale == first
    assert program.state() == state
    assert bal(program, member.id) == 100


def test_refund_revokes_everything(program: Program, member: Member, clock: ManualClock) -> None:
    per_unit(program)
    order(program, clock, "A", member.id, 100)
    clock.advance(60)
    o = order(program, clock, "A", member.id, 100, REFUNDED)
    assert (o.status, o.awarded, o.clawed_back, o.outstanding) == (REFUNDED, 100, 100, 0)
    claw = program.transaction(o.txn_ids[-1])
    assert (claw.kind, claw.points, claw.order_id) == (TxnKind.CLAWBACK, -100, "A")
    view = program.member(member.id)
    assert (view.balance, view.clawed_back, view.earned) == (0, 100, 100)


def test_refunded_order_is_final(program: Program, member: Member, clock: ManualClock) -> None:
    per_unit(program)
    order(program, clock, "A", member.id, 100)
    clock.advance(1)
    refunded = order(program, clock, "A", member.id, 100, REFUNDED)
    clock.advance(1)
    assert order(program, clock, "A", member.id, 100) == refunded
    assert bal(program, member.id) == 0


def test_refund_of_a_never_paid_order_claws_nothing(
    program: Program, member: Member, clock: ManualClock
) -> None:
    per_unit(program)
    order(program, clock, "A", member.id, 100, OrderStatus.UNPAID)
    clock.advance(1)
    o = order(program, clock, "A", member.id, 100, REFUNDED)
    assert (o.awarded, o.clawed_back) == (0, 0)
    assert program.transactions() == []


def test_refund_rejects_pending_order_awards(
    program: Program, member: Member, clock: ManualClock
) -> None:
    program.add_rule(
        name="delayed",
        kind=RuleKind.MULTIPLIER,
        multiplier=Decimal(1),
        trigger="order",
        approval=Approval.DELAYED,
        approval_delay=timedelta(days=14),
    )
    o = order(program, clock, "A", member.id, 100)
    assert o.awarded == 0  # pending awards are not "awarded" yet
    assert program.member(member.id).pending == 100
    clock.advance(60)
    o = order(program, clock, "A", member.id, 100, REFUNDED)
    award = program.transaction(o.txn_ids[0])
    assert award.status is TxnStatus.REJECTED
    assert (o.awarded, o.clawed_back) == (0, 0)
    view = program.member(member.id)
    assert (view.balance, view.pending, view.clawed_back) == (0, 0, 0)
    clock.advance(timedelta(days=30))  # the old due date passes: nothing happens
    assert program.member(member.id).balance == 0


def test_approved_order_award_counts_as_awarded(
    program: Program, member: Member, clock: ManualClock
) -> None:
    program.add_rule(name="manual", points=30, trigger="order", approval=Approval.MANUAL)
    o = order(program, clock, "A", member.id, 100)
    program.approve(o.txn_ids[0])
    assert program.order("A").awarded == 30
    program.return_order("A")
    assert program.order("A").clawed_back == 30


# -- partial returns -----------------------------------------------------------------------


def test_partial_returns_are_proportional_with_cumulative_rounding(
    program: Program, member: Member, clock: ManualClock
) -> None:
    program.add_rule(name="per order", points=10, trigger="order")
    order(program, clock, "A", member.id, 30)
    steps = []
    for _ in range(3):
        o = program.return_order("A", amount=Decimal(10))
        steps.append((o.status, o.clawed_back, o.returned_amount))
    # 10 * 10/30 = 3.33 -> 3; 10 * 20/30 = 6.67 -> 7 (not 3 + 3); the whole -> 10
    assert steps == [
        (PAID, 3, Decimal(10)),
        (PAID, 7, Decimal(20)),
        (REFUNDED, 10, Decimal(30)),
    ]
    assert bal(program, member.id) == 0


def test_many_small_returns_never_exceed_what_was_awarded(
    program: Program, member: Member, clock: ManualClock
) -> None:
    program.add_rule(name="per order", points=7, trigger="order")
    order(program, clock, "A", member.id, "9.99")
    for _ in range(9):
        o = program.return_order("A", amount=Decimal("1.11"))
        assert o.clawed_back <= 7
    assert o.status is REFUNDED
    assert o.clawed_back == 7
    assert program.member(member.id).clawed_back == 7


def test_return_beyond_what_is_left_is_refused(
    program: Program, member: Member, clock: ManualClock
) -> None:
    per_unit(program)
    order(program, clock, "A", member.id, 100)
    program.return_order("A", amount=Decimal(60))
    before = program.snapshot()
    with pytest.raises(OverReturn) as info:
        program.return_order("A", amount=Decimal("40.01"))
    assert "40.01" in str(info.value)
    assert program.snapshot() == before


def test_return_by_points(program: Program, member: Member, clock: ManualClock) -> None:
    per_unit(program)
    order(program, clock, "A", member.id, 100)
    o = program.return_order("A", points=30)
    assert (o.clawed_back, o.outstanding, o.status) == (30, 70, PAID)
    with pytest.raises(OverReturn) as info:
        program.return_order("A", points=71)
    assert "71" in str(info.value)
    assert program.return_order("A", points=70).outstanding == 0


def test_full_return_after_partial_claws_the_rest(
    program: Program, member: Member, clock: ManualClock
) -> None:
    per_unit(program)
    order(program, clock, "A", member.id, 100)
    program.return_order("A", amount=Decimal(25))
    o = program.return_order("A")
    assert (o.status, o.clawed_back, o.returned_amount) == (REFUNDED, 100, Decimal(100))
    with pytest.raises(OverReturn):
        program.return_order("A")


def test_lowered_amount_is_a_partial_return(
    program: Program, member: Member, clock: ManualClock
) -> None:
    per_unit(program)
    order(program, clock, "A", member.id, 100)
    clock.advance(60)
    o = order(program, clock, "A", member.id, 60)
    assert (o.clawed_back, o.returned_amount, o.status) == (40, Decimal(40), PAID)
    assert bal(program, member.id) == 60
    assert program.member(member.id).amount_spent == Decimal(60)


def test_repeating_a_lowered_amount_update_is_idempotent(
    program: Program, member: Member, clock: ManualClock
) -> None:
    per_unit(program)
    order(program, clock, "A", member.id, 100)
    clock.advance(60)
    lowered = order(program, clock, "A", member.id, 60)
    state = program.state()
    again = order(program, clock, "A", member.id, 60)  # the same webhook, delivered twice
    assert again == lowered
    assert program.state() == state
    assert program.member(member.id).amount_spent == Decimal(60)
    assert program.return_order("A", amount=Decimal(60)).status is REFUNDED


def test_raised_amount_earns_on_the_difference(
    program: Program, member: Member, clock: ManualClock
) -> None:
    per_unit(program)
    order(program, clock, "A", member.id, 100)
    clock.advance(60)
    o = order(program, clock, "A", member.id, 130)
    assert o.awarded == 130
    assert bal(program, member.id) == 130


def test_raised_amount_does_not_repeat_a_fixed_per_order_award(
    program: Program, member: Member, clock: ManualClock
) -> None:
    program.add_rule(name="per order", points=10, trigger="order")
    order(program, clock, "A", member.id, 100)
    clock.advance(60)
    o = order(program, clock, "A", member.id, 130)
    assert o.awarded == 10


def test_return_order_validation(program: Program, member: Member, clock: ManualClock) -> None:
    per_unit(program)
    with pytest.raises(OrderNotFound):
        program.return_order("nope")
    order(program, clock, "A", member.id, 100)
    with pytest.raises(InvalidArgument) as info:
        program.return_order("A", amount=Decimal(1), points=1)
    assert info.value.field == "amount"
    with pytest.raises(InvalidArgument) as info:
        program.return_order("A", amount=Decimal(0))
    assert info.value.field == "amount"
    order(program, clock, "U", member.id, 100, OrderStatus.UNPAID)
    with pytest.raises(OverReturn):
        program.return_order("U")


# -- coupons -------------------------------------------------------------------------------


def test_order_coupons_mark_rewards_used(
    program: Program, member: Member, clock: ManualClock
) -> None:
    pool = program.add_pool(name="p", codes=["SAVE5", "SAVE6"])
    offer = program.add_offer(name="o", pool_id=pool.id)
    used = program.grant(member.id, offer.id)
    unused = program.grant(member.id, offer.id)
    order(program, clock, "A", member.id, 10, coupons=["SAVE5", "UNKNOWN"])
    assert program.fulfillment(used.id).usage is UsageStatus.USED
    assert program.fulfillment(used.id).used_at == clock.now()
    assert program.fulfillment(unused.id).usage is UsageStatus.UNUSED
    assert program.order("A").coupons == ("SAVE5", "UNKNOWN")


def test_an_expired_reward_code_on_an_order_stays_unused(
    program: Program, member: Member, clock: ManualClock
) -> None:
    """The shop let it through, but the reward had expired: it is not marked used, as
    `use_fulfillment` would refuse it (FulfillmentExpired)."""
    pool = program.add_pool(name="p", codes=["OLD", "NEW"])
    short = program.add_offer(name="short", pool_id=pool.id, reward_lifetime=timedelta(hours=1))
    expired = program.grant(member.id, short.id)
    clock.advance(timedelta(hours=2))
    fresh = program.grant(member.id, short.id)
    order(program, clock, "A", member.id, 10, coupons=["OLD", "NEW"])
    assert program.fulfillment(expired.id).usage is UsageStatus.UNUSED
    assert program.fulfillment(expired.id).used_at is None
    assert program.fulfillment(fresh.id).usage is UsageStatus.USED


def test_coupons_must_be_a_list(program: Program, member: Member, clock: ManualClock) -> None:
    with pytest.raises(InvalidArgument) as info:
        order(program, clock, "A", member.id, 10, coupons="SAVE5")
    assert info.value.field == "coupons"
    assert program.orders() == []


# -- clawback policies ---------------------------------------------------------------------


def _spent_then_refunded(policy: ClawbackPolicy, clock: ManualClock) -> tuple[Program, int]:
    """100 points from an order, 20 earned by hand, 90 spent, then the order is refunded."""
    program = Program(clock, clawback=policy)
    member_id = program.add_member(email="c@example.com").id
    per_unit(program)
    order(program, clock, "A", member_id, 100)
    program.earn(member_id, 20)
    program.spend(member_id, 90)
    clock.advance(60)
    program.return_order("A")
    return program, member_id


def _invariants(program: Program, member_id: int) -> None:
    view = program.member(member_id)
    txns = [t for t in program.transactions(member_id) if t.status is TxnStatus.POSTED]
    assert sum(t.points for t in txns) == view.balance
    assert view.earned == max(view.balance, 0) + view.spent + view.expired + view.clawed_back
    assert sum(lot.remaining for lot in program.lots(member_id)) == max(view.balance, 0)


def test_clawback_negative_balance(clock: ManualClock) -> None:
    program, mid = _spent_then_refunded(ClawbackPolicy.NEGATIVE_BALANCE, clock)
    view = program.member(mid)
    assert (view.balance, view.debt, view.clawed_back, view.written_off) == (-70, 70, 30, 0)
    assert program.order("A").clawed_back == 100
    _invariants(program, mid)
    program.earn(mid, 50)  # later earnings pay the debt first
    view = program.member(mid)
    assert (view.balance, view.debt, view.clawed_back) == (-20, 20, 80)
    _invariants(program, mid)
    with pytest.raises(Exception):  # noqa: B017 - nothing to spend
        program.spend(mid, 1)
    program.earn(mid, 50)
    view = program.member(mid)
    assert (view.balance, view.debt, view.clawed_back) == (30, 0, 100)
    _invariants(program, mid)


def test_clawback_pending_deduction_settled_by_later_earnings(clock: ManualClock) -> None:
    program, mid = _spent_then_refunded(ClawbackPolicy.PENDING_DEDUCTION, clock)
    view = program.member(mid)
    assert (view.balance, view.debt, view.clawed_back, view.written_off) == (0, 70, 30, 0)
    o = program.order("A")
    assert (o.clawed_back, o.pending_deduction) == (100, 70)
    _invariants(program, mid)
    settle = None
    program.earn(mid, 50)
    settle = program.transactions(mid)[-1]
    assert (settle.kind, settle.points) == (TxnKind.SETTLE, -50)
    view = program.member(mid)
    assert (view.balance, view.debt, view.clawed_back) == (0, 20, 80)
    _invariants(program, mid)
    program.earn(mid, 50)
    view = program.member(mid)
    assert (view.balance, view.debt, view.clawed_back) == (30, 0, 100)
    _invariants(program, mid)


def test_pending_deduction_settled_by_rule_awards_and_approvals(clock: ManualClock) -> None:
    program, mid = _spent_then_refunded(ClawbackPolicy.PENDING_DEDUCTION, clock)
    rule = program.add_rule(name="r", points=40)
    program.award(mid, rule.id)
    assert program.member(mid).debt == 30
    manual = program.add_rule(name="m", points=40, approval=Approval.MANUAL)
    pending = program.award(mid, manual.id)
    assert program.member(mid).debt == 30  # pending points settle nothing
    program.approve(pending.id)
    view = program.member(mid)
    assert (view.balance, view.debt) == (10, 0)
    _invariants(program, mid)


def test_clawback_write_off(clock: ManualClock) -> None:
    program, mid = _spent_then_refunded(ClawbackPolicy.WRITE_OFF, clock)
    view = program.member(mid)
    assert (view.balance, view.debt, view.clawed_back, view.written_off) == (0, 0, 30, 70)
    assert program.order("A").clawed_back == 100
    program.earn(mid, 50)  # nothing is owed: the new points are all spendable
    view = program.member(mid)
    assert (view.balance, view.debt, view.written_off) == (50, 0, 70)
    assert [t.kind for t in program.transactions(mid)][-1] is TxnKind.EARN


@pytest.mark.parametrize("policy", list(ClawbackPolicy))
def test_clawback_with_enough_points_is_the_same_for_every_policy(
    policy: ClawbackPolicy, clock: ManualClock
) -> None:
    program = Program(clock, clawback=policy)
    mid = program.add_member(email="c@example.com").id
    per_unit(program)
    order(program, clock, "A", mid, 100)
    program.earn(mid, 50)
    program.return_order("A", amount=Decimal(40))
    view = program.member(mid)
    assert (view.balance, view.debt, view.written_off, view.clawed_back) == (110, 0, 0, 40)


def test_clawback_takes_soonest_expiring_lots_first(
    program: Program, member: Member, clock: ManualClock
) -> None:
    per_unit(program)
    older = program.earn(member.id, 10)
    award_id = order(program, clock, "A", member.id, 20).txn_ids[0]
    program.earn(member.id, 5, lifetime=timedelta(days=1))
    program.return_order("A", points=15)
    # a clawback is a debit like any other: expiring lot, then the oldest, not the order's own
    assert [(lot.txn_id, lot.remaining) for lot in program.lots(member.id)] == [(award_id, 20)]
    assert older.id == 1


def test_order_for_disabled_or_unknown_member(
    program: Program, member: Member, clock: ManualClock
) -> None:
    from loyaltykit import MemberDisabled, MemberNotFound

    with pytest.raises(MemberNotFound):
        order(program, clock, "A", 99, 10)
    program.remove_member(member.id)
    with pytest.raises(MemberDisabled):
        order(program, clock, "A", member.id, 10)
    assert program.orders() == []


def test_order_cannot_move_to_another_member_after_earning(
    program: Program, member: Member, other: Member, clock: ManualClock
) -> None:
    per_unit(program)
    order(program, clock, "A", member.id, 10)
    clock.advance(1)
    with pytest.raises(InvalidArgument) as info:
        order(program, clock, "A", other.id, 10)
    assert info.value.field == "member_id"


def test_capped_order_rule_is_skipped_not_an_error(
    program: Program, member: Member, clock: ManualClock
) -> None:
    from loyaltykit import Cap, Window

    program.add_rule(name="first order of the day", points=50, trigger="order",
                     cap=Cap(1, Window.DAY))  # fmt: skip
    per_unit(program)
    assert order(program, clock, "A", member.id, 10).awarded == 60
    assert order(program, clock, "B", member.id, 10).awarded == 10
    clock.advance(timedelta(days=1))
    assert order(program, clock, "C", member.id, 10).awarded == 60


def test_unpaid_again_revokes_and_paid_again_earns_again(
    program: Program, member: Member, clock: ManualClock
) -> None:
    per_unit(program)
    order(program, clock, "A", member.id, 100)
    clock.advance(1)
    o = order(program, clock, "A", member.id, 100, OrderStatus.UNPAID)
    assert (o.clawed_back, bal(program, member.id)) == (100, 0)
    clock.advance(1)
    o = order(program, clock, "A", member.id, 100)
    assert (o.awarded, o.clawed_back, o.outstanding) == (200, 100, 100)
    assert bal(program, member.id) == 100


def test_deleted_order_revokes_and_is_final(
    program: Program, member: Member, clock: ManualClock
) -> None:
    per_unit(program)
    order(program, clock, "A", member.id, 100)
    clock.advance(1)
    deleted = order(program, clock, "A", member.id, 100, OrderStatus.DELETED)
    assert (deleted.status, deleted.clawed_back) == (OrderStatus.DELETED, 100)
    clock.advance(1)
    assert order(program, clock, "A", member.id, 100) == deleted
    assert bal(program, member.id) == 0


def test_cumulative_target_mixes_points_and_amount_returns(
    program: Program, member: Member, clock: ManualClock
) -> None:
    per_unit(program)
    order(program, clock, "A", member.id, 100)
    program.return_order("A", points=30)
    o = program.return_order("A", amount=Decimal(50))  # target 50 in total: 20 more
    assert o.clawed_back == 50
    o = program.return_order("A", amount=Decimal(10))  # target 60
    assert o.clawed_back == 60


def test_partial_return_while_pending_applies_on_approval(
    program: Program, member: Member, clock: ManualClock
) -> None:
    program.add_rule(
        name="delayed", kind=RuleKind.MULTIPLIER, multiplier=Decimal(1), trigger="order",
        approval=Approval.DELAYED, approval_delay=timedelta(days=7),
    )  # fmt: skip
    order(program, clock, "A", member.id, 100)
    program.return_order("A", amount=Decimal(50))
    clock.advance(timedelta(days=8))  # the award approves itself
    assert program.order("A").clawed_back == 50
    assert bal(program, member.id) == 50


@pytest.mark.parametrize(
    ("awarded", "amount", "returned", "target"),
    [
        (10, "30", "10", 3),
        (10, "30", "20", 7),
        (10, "30", "30", 10),
        (10, "30", "45", 10),  # never more than awarded
        (10, "0", "0", 10),  # an order without amount gives everything back
        (0, "30", "10", 0),
        (1, "2", "1", 1),  # half a point rounds half up
        (3, "9.99", "3.33", 1),
    ],
)
def test_clawback_target_pure(awarded: int, amount: str, returned: str, target: int) -> None:
    from loyaltykit.orders import clawback_target

    assert clawback_target(awarded, Decimal(amount), Decimal(returned)) == target
