"""`audit()` checks the business rules from the journal alone, and catches state drift
without replaying.

Each rule is tested with a hand-forged journal that breaks exactly that rule: a program
is driven through real commands, one event of its journal is changed (or added, or
dropped), the result is replayed into a fresh program (so its state is a faithful fold of
the forged journal) and audited with replay off: exactly the broken rule is reported.
Drift is tested the other way round: the journal is left alone and one part of the kept
state is changed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest

from loyaltykit import (
    Approval,
    Cap,
    ClawbackPolicy,
    InvalidArgument,
    ManualClock,
    Metric,
    OrderStatus,
    Program,
    ReferralStatus,
    RuleKind,
    Transaction,
    TxnKind,
    TxnStatus,
    UsageStatus,
    Window,
    audit,
)
from loyaltykit.events import (
    AwardResolved,
    CodesAdded,
    FulfillmentUpdated,
    MemberRecorded,
    OrderRecorded,
    PeriodRolled,
    ReferralRecorded,
    RewardIssued,
    RuleDefined,
)

START = datetime(2024, 1, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)
PLUS_ONE = timezone(timedelta(hours=1))
Events = list[object]


def world(clawback: ClawbackPolicy = ClawbackPolicy.NEGATIVE_BALANCE) -> tuple[Program, int, int]:
    program = Program(ManualClock(START), name="audit", clawback=clawback, seed=7)
    a = program.add_member(email="a@example.com").id
    b = program.add_member(email="b@example.com").id
    return program, a, b


def advance(program: Program, delta: timedelta) -> None:
    clock = program.clock
    assert isinstance(clock, ManualClock)
    clock.advance(delta)


def codes(program: Program, **kwargs: Any) -> set[str]:
    return {v.code for v in audit(program, replay=False, **kwargs)}


def forged(program: Program, edit: Callable[[Events], Events]) -> Program:
    return Program.replay(edit(program.journal()), program.clock, **program.settings())


def index_of(events: Events, test: Callable[[object], bool], last: bool = True) -> int:
    found = [i for i, e in enumerate(events) if test(e)]
    assert found, "no such event"
    return found[-1] if last else found[0]


def txn_of(kind: TxnKind) -> Callable[[object], bool]:
    return lambda e: isinstance(e, Transaction) and e.kind is kind


def changed(events: Events, test: Callable[[object], bool], **changes: Any) -> Events:
    """The journal with the last event passing `test` changed."""
    at = index_of(events, test)
    event = events[at]
    events = list(events)
    if isinstance(event, Transaction):
        events[at] = event._replace(**changes)
    else:
        events[at] = attrs.evolve(event, **changes)  # type: ignore[misc]
    return events


def dropped(events: Events, test: Callable[[object], bool]) -> Events:
    at = index_of(events, test)
    return events[:at] + events[at + 1 :]


def next_txn_id(events: Events) -> int:
    return sum(isinstance(e, Transaction) for e in events) + 1


# ---------------------------------------------------------------------------- scenarios
# Each returns a clean program; its forge breaks one rule.


def expired_lot() -> Program:
    program, a, _ = world()
    program.earn(a, 50, lifetime=10 * DAY)
    advance(program, 10 * DAY)
    program.expire_due()
    return program


def lot_left_to_expire() -> Program:
    program, a, _ = world()
    program.earn(a, 50, lifetime=DAY)
    advance(program, 2 * DAY)
    program.add_member(email="c@example.com")
    return program


def delayed_award_approved() -> Program:
    program, a, _ = world()
    rule = program.add_rule(name="d", points=30, approval=Approval.DELAYED, approval_delay=DAY)
    program.award(a, rule.id)
    advance(program, 2 * DAY)
    program.add_member(email="c@example.com")
    return program


def period_rolled() -> Program:
    program, a, _ = world()
    track = program.add_track(name="weekly", window=Window.WEEK)
    program.add_tier(track.id, name="busy", threshold=10)
    program.earn(a, 20)
    advance(program, 8 * DAY)
    program.add_member(email="c@example.com")
    return program


def capped_award() -> Program:
    program, a, _ = world()
    rule = program.add_rule(name="daily", points=5, cap=Cap(1, Window.DAY))
    program.award(a, rule.id)
    return program


def partly_returned_order() -> Program:
    program, a, _ = world()
    program.add_rule(name="buy", kind=RuleKind.MULTIPLIER, multiplier=1, trigger="order")
    program.earn(a, 500)
    program.record_order("o1", member_id=a, amount=100, status=OrderStatus.PAID, updated_at=START)
    program.return_order("o1", amount=Decimal(50))
    return program


def refunded_order() -> Program:
    program = partly_returned_order()
    program.return_order("o1")
    return program


def redeemed() -> Program:
    program, a, _ = world()
    pool = program.add_pool(name="p", codes=["C1", "C2"], expires_at=START + 5 * DAY)
    program.add_offer(
        name="o", points_price=100, value=Decimal(5), pool_id=pool.id, reward_lifetime=DAY
    )
    program.earn(a, 300)
    program.redeem(a, 1)
    return program


def gold_award() -> Program:
    program, a, _ = world()
    track = program.add_track(name="life")
    program.add_tier(track.id, name="gold", threshold=100, multiplier=2)
    program.earn(a, 100)
    rule = program.add_rule(name="r", points=10)
    assert program.award(a, rule.id).points == 20
    return program


def referred() -> Program:
    program, a, b = world()
    program.set_referral_rewards(receiver_points=10, sender_points=5)
    program.refer(a, receiver_id=b)
    return program


def approved_manually() -> Program:
    program, a, _ = world()
    rule = program.add_rule(name="m", points=40, approval=Approval.MANUAL, points_lifetime=DAY)
    txn = program.award(a, rule.id)
    program.approve(txn.id)
    return program


def last_award_copied(events: Events) -> Events:
    award = events[index_of(events, txn_of(TxnKind.AWARD))]
    assert isinstance(award, Transaction)
    return [*events, award._replace(id=next_txn_id(events))]


def resolved_again(events: Events) -> Events:
    resolution = events[index_of(events, lambda e: isinstance(e, AwardResolved))]
    assert isinstance(resolution, AwardResolved)
    return [*events, attrs.evolve(resolution, approved=False)]


def expiry_of(program: Program) -> datetime:
    expiry = next(t for t in program.transactions() if t.kind is TxnKind.EXPIRE)
    return expiry.created_at


def edited(events: Events, test: Callable[[object], bool], edit: Callable[[Any], Any]) -> Events:
    """The journal with the last event passing `test` replaced by `edit(event)`."""
    at = index_of(events, test)
    return [*events[:at], edit(events[at]), *events[at + 1 :]]


def earned() -> Program:
    program, a, _ = world()
    program.earn(a, 50)
    program.earn(a, 30)
    program.spend(a, 20)
    return program


RULE_CASES: list[tuple[str, Callable[[], Program], Callable[[Program, Events], Events]]] = [
    (
        "late_expiry",
        expired_lot,
        lambda p, ev: changed(ev, txn_of(TxnKind.EXPIRE), created_at=expiry_of(p) + DAY),
    ),
    (
        "early_expiry",
        expired_lot,
        lambda p, ev: changed(ev, txn_of(TxnKind.EXPIRE), created_at=expiry_of(p) - DAY),
    ),
    ("expiry_overdue", lot_left_to_expire, lambda p, ev: dropped(ev, txn_of(TxnKind.EXPIRE))),
    (
        "approval_overdue",
        delayed_award_approved,
        lambda p, ev: dropped(ev, lambda e: isinstance(e, AwardResolved)),
    ),
    (
        "rollover_overdue",
        period_rolled,
        lambda p, ev: dropped(ev, lambda e: isinstance(e, PeriodRolled)),
    ),
    ("cap_exceeded", capped_award, lambda p, ev: last_award_copied(ev)),
    (
        "over_clawback",
        partly_returned_order,
        lambda p, ev: changed(ev, txn_of(TxnKind.CLAWBACK), points=-150),
    ),
    (
        "redemption_price",
        redeemed,
        lambda p, ev: changed(
            changed(ev, txn_of(TxnKind.REDEEM), points=-50),
            lambda e: isinstance(e, RewardIssued),
            fulfillment=attrs.evolve(p.fulfillment(1), points=50),
        ),
    ),
    (
        "redemption_charge",
        redeemed,
        lambda p, ev: changed(ev, txn_of(TxnKind.REDEEM), points=-50),
    ),
    ("award_points", gold_award, lambda p, ev: changed(ev, txn_of(TxnKind.AWARD), points=10)),
    (
        "self_referral",
        referred,
        lambda p, ev: changed(
            ev,
            lambda e: isinstance(e, ReferralRecorded),
            referral=attrs.evolve(p.referral(1), receiver_id=1),
        ),
    ),
    ("resolved_twice", approved_manually, lambda p, ev: resolved_again(ev)),
    (
        "approval_expiry",
        approved_manually,
        lambda p, ev: changed(ev, lambda e: isinstance(e, AwardResolved), expires_at=None),
    ),
    (
        "award_expiry",
        lambda: with_lifetime_award(),
        lambda p, ev: changed(ev, txn_of(TxnKind.AWARD), expires_at=None),
    ),
    (
        "inactive_rule",
        capped_award,
        lambda p, ev: changed(
            ev, lambda e: isinstance(e, RuleDefined), rule=attrs.evolve(p.rule(1), active=False)
        ),
    ),
    (
        "approval_skipped",
        approved_manually,
        lambda p, ev: dropped(
            changed(
                ev,
                txn_of(TxnKind.AWARD),
                status=TxnStatus.POSTED,
                expires_at=p.transaction(1).created_at + DAY,
            ),
            lambda e: isinstance(e, AwardResolved),
        ),
    ),
    ("points_range", earned, lambda p, ev: changed(ev, txn_of(TxnKind.EARN), points=0)),
    (
        "points_sign",
        expired_lot,
        lambda p, ev: changed(ev, txn_of(TxnKind.EARN), kind=TxnKind.SPEND),
    ),
    (
        "duplicate_member",
        lambda: world()[0],
        lambda p, ev: changed(
            ev,
            lambda e: isinstance(e, MemberRecorded),
            profile=attrs.evolve(p.member(2).profile, email="A@example.com"),
        ),
    ),
    (
        "duplicate_code",
        redeemed,
        lambda p, ev: [*ev, CodesAdded(1, ("C2",), START)],
    ),
    (
        "code_issued_twice",
        redeemed,
        lambda p, ev: reissued(p, ev, code="C1"),
    ),
    ("code_not_in_pool", redeemed, lambda p, ev: reissued(p, ev, code="ELSEWHERE")),
    (
        "pool_expired_issue",
        redeemed,
        lambda p, ev: reissued(p, ev, code="C2", at=START + 6 * DAY, expires_at=START + 5 * DAY),
    ),
    (
        "reward_expiry",
        redeemed,
        lambda p, ev: changed(
            ev,
            lambda e: isinstance(e, RewardIssued),
            fulfillment=attrs.evolve(p.fulfillment(1), expires_at=None),
        ),
    ),
    (
        "free_reward_charged",
        redeemed,
        lambda p, ev: changed(
            ev,
            lambda e: isinstance(e, RewardIssued),
            fulfillment=attrs.evolve(p.fulfillment(1), source="grant"),
        ),
    ),
    (
        "used_after_expiry",
        redeemed,
        lambda p, ev: used(p, ev, START + 2 * DAY),
    ),
    (
        "code_used_twice",
        redeemed,
        lambda p, ev: used(p, used(p, ev, START), START + DAY / 2),
    ),
    (
        "final_order_changed",
        refunded_order,
        lambda p, ev: [*ev, OrderRecorded(attrs.evolve(p.order("o1"), coupons=("X",)))],
    ),
    (
        "order_returned",
        partly_returned_order,
        lambda p, ev: edited(
            ev,
            lambda e: isinstance(e, OrderRecorded),
            lambda e: OrderRecorded(attrs.evolve(e.order, returned_amount=Decimal(150))),
        ),
    ),
    (
        "final_order_holds_points",
        refunded_order,
        lambda p, ev: dropped(ev, txn_of(TxnKind.CLAWBACK)),
    ),
    (
        "redeem_without_reward",
        redeemed,
        lambda p, ev: dropped(ev, lambda e: isinstance(e, RewardIssued)),
    ),
    ("overdraft", earned, lambda p, ev: changed(ev, txn_of(TxnKind.SPEND), points=-100)),
    (
        "instant_not_utc",
        lambda: world()[0],
        lambda p, ev: changed(
            ev,
            lambda e: isinstance(e, MemberRecorded),
            profile=attrs.evolve(
                p.member(2).profile,
                updated_at=p.member(2).profile.updated_at.astimezone(PLUS_ONE),
            ),
        ),
    ),
]


CONSEQUENCES = {"overdraft": ("balance_vs_transactions", "conservation")}
"""What breaks with a rule, necessarily: points spent beyond the balance leave a balance
that is not the sum of the ledger (the lots hold no negative points)."""


def with_lifetime_award() -> Program:
    program, a, _ = world()
    rule = program.add_rule(name="r", points=10, points_lifetime=10 * DAY)
    program.award(a, rule.id)
    return program


def reissued(
    program: Program,
    events: Events,
    *,
    code: str,
    at: datetime = START,
    expires_at: datetime | None = None,
) -> Events:
    """The journal with one more free grant of offer 1 drawing `code`."""
    reward = program.fulfillment(1)
    grant = attrs.evolve(
        reward,
        id=2,
        code=code,
        points=0,
        txn_id=None,
        source="grant",
        created_at=at,
        updated_at=at,
        expires_at=expires_at if expires_at is not None else min(at + DAY, START + 5 * DAY),
    )
    return [*events, RewardIssued(grant, 1)]


def used(program: Program, events: Events, at: datetime) -> Events:
    """The journal with reward 1 marked used at `at`."""
    reward = program.fulfillment(1)
    known = [e for e in events if isinstance(e, FulfillmentUpdated)]
    before = known[-1].fulfillment if known else reward
    return [
        *events,
        FulfillmentUpdated(attrs.evolve(before, usage=UsageStatus.USED, used_at=at, updated_at=at)),
    ]


@pytest.mark.parametrize(("code", "build", "forge"), RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_a_journal_that_breaks_one_rule_is_caught(
    code: str,
    build: Callable[[], Program],
    forge: Callable[[Program, Events], Events],
) -> None:
    program = build()
    assert audit(program) == []
    broken = forged(program, lambda events: forge(program, events))
    assert codes(broken) == {code, *CONSEQUENCES.get(code, ())}, audit(broken, replay=False)


def test_a_second_referral_of_a_member_is_caught() -> None:
    program, a, b = world()
    c = program.add_member(email="c@example.com").id
    program.refer(a, receiver_id=b)
    referral = program.referral(1)
    broken = forged(
        program, lambda ev: [*ev, ReferralRecorded(attrs.evolve(referral, id=2, sender_id=c))]
    )
    assert codes(broken) == {"referred_twice"}


def test_a_referral_completed_by_a_later_order_is_caught() -> None:
    program, a, b = world()
    program.refer(a, receiver_id=b)
    code = program.member(a).profile.referral_code
    assert code is not None
    program.record_order("first", member_id=b, amount=10, status=OrderStatus.PAID, updated_at=START)
    program.record_order(
        "second", member_id=b, amount=10, status=OrderStatus.PAID, updated_at=START, coupons=[code]
    )
    assert program.referral(1).status.value == "pending"
    completed = attrs.evolve(
        program.referral(1),
        status=ReferralStatus.COMPLETED,
        completed_at=START,
        order_id="second",
    )
    broken = forged(program, lambda ev: [*ev, ReferralRecorded(completed)])
    assert codes(broken) == {"referral_completed_late"}


def test_an_unsettled_debt_is_caught() -> None:
    program, a, _ = world(ClawbackPolicy.PENDING_DEDUCTION)
    program.add_rule(name="buy", kind=RuleKind.MULTIPLIER, multiplier=1, trigger="order")
    program.record_order("o", member_id=a, amount=100, status=OrderStatus.PAID, updated_at=START)
    program.spend(a, 100)
    program.return_order("o")
    program.earn(a, 30)
    assert program.member(a).debt == 70 and audit(program) == []
    broken = forged(program, lambda ev: dropped(ev, txn_of(TxnKind.SETTLE)))
    assert codes(broken) == {"debt_unsettled"}


def test_a_fixed_order_rule_awarded_twice_is_caught() -> None:
    program, a, _ = world()
    program.add_rule(name="bonus", points=10, trigger="order")
    program.record_order("o", member_id=a, amount=10, status=OrderStatus.PAID, updated_at=START)
    broken = forged(program, last_award_copied)
    assert codes(broken) == {"order_awarded_twice"}


def test_a_rule_of_the_tier_restricted_offer_is_caught() -> None:
    program, a, _ = world()
    track = program.add_track(name="life")
    gold = program.add_tier(track.id, name="gold", threshold=1000)
    offer = program.add_offer(name="vip", points_price=10, eligible_tiers=[gold.id])
    program.earn(a, 1000)
    program.redeem(a, offer.id)
    broken = forged(
        program,
        lambda ev: changed(ev, txn_of(TxnKind.EARN), points=999),
    )
    assert codes(broken) == {"tier_not_eligible"}


def test_an_inactive_offer_redeemed_is_caught() -> None:
    program = redeemed()
    offer = program.offer(1)
    broken = forged(
        program,
        lambda ev: changed(
            ev,
            lambda e: type(e).__name__ == "OfferDefined",
            offer=attrs.evolve(offer, active=False),
        ),
    )
    assert codes(broken) == {"inactive_offer"}


# ---------------------------------------------------------------------------- state drift


def busy_program() -> Program:
    """A program with something in every part of its state."""
    program, a, b = world(ClawbackPolicy.WRITE_OFF)
    track = program.add_track(name="life")
    program.add_tier(track.id, name="silver", threshold=50, multiplier=Decimal("1.5"))
    program.add_track(name="monthly", metric=Metric.AMOUNT_SPENT, window=Window.MONTH)
    program.add_rule(name="buy", kind=RuleKind.MULTIPLIER, multiplier=1, trigger="order")
    program.add_rule(name="wait", points=20, approval=Approval.DELAYED, approval_delay=3 * DAY)
    capped = program.add_rule(name="daily", points=5, cap=Cap(2, Window.DAY))
    pool = program.add_pool(name="p", codes=["C1", "C2", "C3"])
    program.add_offer(name="o", points_price=10, pool_id=pool.id)
    program.earn(a, 100, lifetime=30 * DAY)
    program.award(a, capped.id)
    program.award(a, 2)
    program.record_order("o1", member_id=a, amount=40, status=OrderStatus.PAID, updated_at=START)
    program.redeem(a, 1)
    program.spend(a, 150)
    program.return_order("o1")
    program.set_tier(b, track.id, 1)
    program.earn(b, 5, idempotency_key="k")
    assert audit(program) == []
    return program


def _edit_order(program: Program) -> None:
    state = program.raw_state
    state.orders["o1"] = attrs.evolve(state.orders["o1"], awarded=0)


DRIFT: list[tuple[str, str, Callable[[Program], None]]] = [
    ("pending total", "account_totals", lambda p: setattr(p.raw_state.accounts[1], "pending", 7)),
    ("written off", "account_totals", lambda p: setattr(p.raw_state.accounts[1], "written_off", 0)),
    (
        "amount spent",
        "account_totals",
        lambda p: setattr(p.raw_state.accounts[1], "amount_spent", Decimal(99)),
    ),
    (
        "points metric",
        "account_totals",
        lambda p: setattr(p.raw_state.accounts[1], "points_metric", 1),
    ),
    (
        "award history",
        "award_history",
        lambda p: p.raw_state.accounts[1].award_times[3].append(START),
    ),
    ("tier metric", "tier_metric", lambda p: p.raw_state.accounts[1].metrics.clear()),
    ("tier floor", "tier_floor", lambda p: p.raw_state.accounts[2].tier_floors.clear()),
    ("pool codes left", "pool_state", lambda p: p.raw_state.pools[1].available.pop()),
    ("order totals", "order_state", _edit_order),
    (
        "reward usage",
        "fulfillment_state",
        lambda p: p.raw_state.fulfillments.update(
            {1: attrs.evolve(p.raw_state.fulfillments[1], usage=UsageStatus.USED)}
        ),
    ),
    ("tier change record", "tier_change_record", lambda p: p.raw_state.tier_changes.pop()),
    ("due schedule", "due_schedule", lambda p: p.raw_state.due.clear()),
    (
        "ledger row",
        "txn_record",
        lambda p: p.raw_state.txns.__setitem__(
            0, (*p.raw_state.txns[0][:10], "edited", *p.raw_state.txns[0][11:])
        ),
    ),
    ("email index", "member_index", lambda p: p.raw_state.by_email.clear()),
    ("idempotency keys", "key_state", lambda p: p.raw_state.keys.clear()),
    ("id counters", "id_counters", lambda p: p.raw_state.counters.update({"member": 9})),
    (
        "configuration",
        "configuration",
        lambda p: p.raw_state.rules.update({1: attrs.evolve(p.raw_state.rules[1], name="x")}),
    ),
]


@pytest.mark.parametrize(
    ("code", "edit"), [(c, e) for _, c, e in DRIFT], ids=[n for n, _, _ in DRIFT]
)
def test_state_drift_is_caught_without_replay(code: str, edit: Callable[[Program], None]) -> None:
    program = busy_program()
    edit(program)
    assert code in codes(program), audit(program, replay=False)


def test_an_awards_basis_is_recorded(program: Program) -> None:
    a = program.add_member(email="z@example.com").id
    fixed = program.add_rule(name="f", points=7)
    per = program.add_rule(name="m", kind=RuleKind.MULTIPLIER, multiplier=2)
    assert program.award(a, fixed.id).reference == "points:7"
    assert program.award(a, fixed.id, points=3).reference == "points:3"
    assert program.award(a, per.id, amount=Decimal("2.50")).reference == "amount:2.50"


def test_an_audit_error_is_reported_not_raised() -> None:
    program = expired_lot()
    program.raw_state.accounts.clear()
    violations = audit(program)
    assert violations and all(v.code for v in violations)


def test_commands_refuse_what_the_audit_would_flag() -> None:
    """A free grant cannot pose as a redemption, and a refunded order earns no more."""
    program = refunded_order()
    with pytest.raises(InvalidArgument) as info:
        program.grant(1, program.add_offer(name="o").id, source="redemption")
    assert info.value.field == "source"
    rule = program.add_rule(name="late", points=5)
    with pytest.raises(InvalidArgument) as info:
        program.award(1, rule.id, order_id="o1")
    assert info.value.field == "order_id"
    assert audit(program) == []
