"""The points ledger: earn / spend / adjust, lots in consumption order, expiry."""

from __future__ import annotations

import gc
from datetime import timedelta

import pytest

from loyaltykit import (
    Approval,
    AwardUsage,
    InsufficientPoints,
    ManualClock,
    Member,
    Program,
    Transaction,
    TransactionNotFound,
    TxnKind,
    TxnStatus,
)

DAY = timedelta(days=1)


def balance(program: Program, member_id: int) -> int:
    return program.member(member_id).balance


def lot_ids(program: Program, member_id: int) -> list[int]:
    return [lot.txn_id for lot in program.lots(member_id)]


# -- earn / spend / adjust -----------------------------------------------------------------


def test_earn_posts_a_credit(program: Program, member: Member, clock: ManualClock) -> None:
    txn = program.earn(member.id, 100, description="welcome")
    assert txn.kind is TxnKind.EARN
    assert txn.points == 100
    assert txn.status is TxnStatus.POSTED
    assert txn.created_at == clock.now()
    assert txn.expires_at is None
    assert txn.description == "welcome"
    view = program.member(member.id)
    assert (view.balance, view.earned, view.spent, view.pending) == (100, 100, 0, 0)


def test_transaction_ids_start_at_one_and_increase(program: Program, member: Member) -> None:
    ids = [program.earn(member.id, 5).id for _ in range(3)]
    assert ids == [1, 2, 3]
    assert [t.id for t in program.transactions(member.id)] == [1, 2, 3]
    assert program.transaction(2).points == 5


def test_transactions_are_per_member(program: Program, member: Member, other: Member) -> None:
    program.earn(member.id, 10)
    program.earn(other.id, 20)
    program.earn(member.id, 30)
    assert [t.points for t in program.transactions(member.id)] == [10, 30]
    assert [t.points for t in program.transactions(other.id)] == [20]
    assert [t.points for t in program.transactions()] == [10, 20, 30]


def test_unknown_transaction(program: Program) -> None:
    with pytest.raises(TransactionNotFound):
        program.transaction(1)


def test_earn_with_lifetime_sets_expiry(
    program: Program, member: Member, clock: ManualClock
) -> None:
    txn = program.earn(member.id, 10, lifetime=timedelta(days=30))
    assert txn.expires_at == clock.now() + timedelta(days=30)


def test_spend_debits(program: Program, member: Member) -> None:
    program.earn(member.id, 100)
    txn = program.spend(member.id, 40, description="gift")
    assert txn.kind is TxnKind.SPEND
    assert txn.points == -40
    view = program.member(member.id)
    assert (view.balance, view.earned, view.spent) == (60, 100, 40)


def test_spend_whole_balance_then_one_more_is_refused(program: Program, member: Member) -> None:
    program.earn(member.id, 50)
    program.spend(member.id, 50)
    assert balance(program, member.id) == 0
    with pytest.raises(InsufficientPoints) as info:
        program.spend(member.id, 1)
    assert (info.value.needed, info.value.available) == (1, 0)
    assert balance(program, member.id) == 0


def test_spend_more_than_balance_changes_nothing(program: Program, member: Member) -> None:
    program.earn(member.id, 30)
    before = program.snapshot()
    with pytest.raises(InsufficientPoints) as info:
        program.spend(member.id, 31)
    assert info.value.member_id == member.id
    assert "31" in str(info.value) and "30" in str(info.value)
    assert program.snapshot() == before


def test_adjust_both_signs(program: Program, member: Member) -> None:
    up = program.adjust(member.id, 25, description="goodwill")
    assert (up.kind, up.points) == (TxnKind.ADJUST, 25)
    down = program.adjust(member.id, -10)
    assert (down.kind, down.points) == (TxnKind.ADJUST, -10)
    view = program.member(member.id)
    assert (view.balance, view.earned, view.spent) == (15, 25, 10)


def test_adjust_never_below_zero(program: Program, member: Member) -> None:
    program.adjust(member.id, 5)
    with pytest.raises(InsufficientPoints):
        program.adjust(member.id, -6)
    assert balance(program, member.id) == 5


def test_pending_is_reported_apart_and_not_spendable(program: Program, member: Member) -> None:
    from loyaltykit import Approval

    rule = program.add_rule(name="review", points=40, approval=Approval.MANUAL)
    program.earn(member.id, 10)
    program.award(member.id, rule.id)
    view = program.member(member.id)
    assert (view.balance, view.pending) == (10, 40)
    with pytest.raises(InsufficientPoints):
        program.spend(member.id, 11)


# -- lots and consumption order -------------------------------------------------------------


def test_every_credit_opens_a_lot(program: Program, member: Member, clock: ManualClock) -> None:
    a = program.earn(member.id, 10)
    b = program.adjust(member.id, 20, lifetime=timedelta(days=5))
    lots = program.lots(member.id)
    assert [(lot.txn_id, lot.amount, lot.remaining) for lot in lots] == [
        (b.id, 20, 20),
        (a.id, 10, 10),
    ]
    assert lots[0].expires_at == clock.now() + timedelta(days=5)
    assert lots[1].expires_at is None
    assert lots[0].created_at == clock.now()


def test_consumption_order_soonest_expiry_then_oldest_never_last(
    program: Program, member: Member, clock: ManualClock
) -> None:
    never_old = program.earn(member.id, 10)  # never expires, oldest
    late = program.earn(member.id, 10, lifetime=30 * DAY)  # expires day 30
    soon = program.earn(member.id, 10, lifetime=10 * DAY)  # expires day 10
    clock.advance(DAY)
    soon_too = program.earn(member.id, 10, lifetime=9 * DAY)  # also expires day 10, newer
    never_new = program.earn(member.id, 10)
    assert lot_ids(program, member.id) == [
        soon.id,
        soon_too.id,
        late.id,
        never_old.id,
        never_new.id,
    ]

    program.spend(member.id, 15)  # all of `soon`, half of `soon_too`
    lots = {lot.txn_id: lot.remaining for lot in program.lots(member.id)}
    assert soon.id not in lots
    assert lots == {soon_too.id: 5, late.id: 10, never_old.id: 10, never_new.id: 10}

    program.spend(member.id, 20)  # rest of soon_too, all of late, 5 of never_old
    lots = {lot.txn_id: lot.remaining for lot in program.lots(member.id)}
    assert lots == {never_old.id: 5, never_new.id: 10}
    assert lot_ids(program, member.id) == [never_old.id, never_new.id]


def test_same_expiry_consumes_the_oldest_first(
    program: Program, member: Member, clock: ManualClock
) -> None:
    first = program.earn(member.id, 10, lifetime=2 * DAY)
    clock.advance(DAY)
    second = program.earn(member.id, 10, lifetime=DAY)  # same expiry instant as `first`
    assert program.transaction(first.id).expires_at == program.transaction(second.id).expires_at
    program.spend(member.id, 10)
    assert [(lot.txn_id, lot.remaining) for lot in program.lots(member.id)] == [(second.id, 10)]


def test_negative_adjust_consumes_lots_too(program: Program, member: Member) -> None:
    a = program.earn(member.id, 10)
    b = program.earn(member.id, 10, lifetime=DAY)
    program.adjust(member.id, -12)
    assert [(lot.txn_id, lot.remaining) for lot in program.lots(member.id)] == [(a.id, 8)]
    assert program.award_usage(b.id) == AwardUsage(10, 0, 0)
    assert program.award_usage(a.id) == AwardUsage(2, 0, 8)


def test_balance_equals_sum_of_lots_and_of_transactions(
    program: Program, member: Member, clock: ManualClock
) -> None:
    program.earn(member.id, 100, lifetime=3 * DAY)
    program.earn(member.id, 50)
    program.spend(member.id, 30)
    program.adjust(member.id, -5)
    clock.advance(4 * DAY)
    program.earn(member.id, 7)
    view = program.member(member.id)
    assert view.balance == sum(lot.remaining for lot in program.lots(member.id))
    assert view.balance == sum(t.points for t in program.transactions(member.id))
    assert view.earned == view.balance + view.spent + view.expired + view.clawed_back


# -- expiry ------------------------------------------------------------------------------------


def test_lot_is_live_just_before_and_expired_at_exactly_t(
    program: Program, member: Member, clock: ManualClock
) -> None:
    txn = program.earn(member.id, 10, lifetime=DAY)
    expires = clock.now() + DAY
    clock.set(expires - timedelta(microseconds=1))
    assert balance(program, member.id) == 10
    assert program.lots(member.id)[0].remaining == 10
    clock.set(expires)
    view = program.member(member.id)
    assert (view.balance, view.expired) == (0, 10)
    assert program.lots(member.id) == []
    expiry = program.transactions(member.id)[-1]
    assert expiry.kind is TxnKind.EXPIRE
    assert expiry.points == -10
    assert expiry.created_at == expires
    assert expiry.source_id == txn.id
    assert program.award_usage(txn.id) == AwardUsage(0, 10, 0)


def test_expiry_takes_only_the_remainder(
    program: Program, member: Member, clock: ManualClock
) -> None:
    txn = program.earn(member.id, 100, lifetime=DAY)
    program.spend(member.id, 30)
    clock.advance(DAY)
    [expiry] = program.expire_due()
    assert expiry.points == -70
    assert program.award_usage(txn.id) == AwardUsage(30, 70, 0)
    view = program.member(member.id)
    assert (view.balance, view.spent, view.expired) == (0, 30, 70)


def test_fully_spent_lot_produces_no_expiry(
    program: Program, member: Member, clock: ManualClock
) -> None:
    program.earn(member.id, 10, lifetime=DAY)
    program.spend(member.id, 10)
    clock.advance(2 * DAY)
    assert program.expire_due() == []
    assert [t.kind for t in program.transactions(member.id)] == [TxnKind.EARN, TxnKind.SPEND]


def test_expire_due_with_explicit_instant_and_idempotent(
    program: Program, member: Member, clock: ManualClock
) -> None:
    start = clock.now()
    program.earn(member.id, 10, lifetime=DAY)
    program.earn(member.id, 20, lifetime=2 * DAY)
    program.earn(member.id, 5)
    assert program.expire_due(start + DAY - timedelta(seconds=1)) == []
    first = program.expire_due(start + DAY)
    assert [t.points for t in first] == [-10]
    assert program.expire_due(start + DAY) == []
    both = program.expire_due(start + 3 * DAY)
    assert [t.points for t in both] == [-20]
    assert program.expire_due(start + 3 * DAY) == []
    assert program.expire_due() == []
    kinds = [t.kind for t in program.transactions(member.id)]
    assert kinds.count(TxnKind.EXPIRE) == 2


def test_expire_due_orders_expiries_by_time(
    program: Program, member: Member, other: Member, clock: ManualClock
) -> None:
    start = clock.now()
    program.earn(member.id, 1, lifetime=3 * DAY)
    program.earn(other.id, 2, lifetime=DAY)
    program.earn(member.id, 3, lifetime=2 * DAY)
    expired = program.expire_due(start + 5 * DAY)
    assert [(t.member_id, t.points) for t in expired] == [
        (other.id, -2),
        (member.id, -3),
        (member.id, -1),
    ]
    assert [t.created_at for t in expired] == [start + DAY, start + 2 * DAY, start + 3 * DAY]


def test_each_lot_expires_at_most_once(
    program: Program, member: Member, clock: ManualClock
) -> None:
    program.earn(member.id, 10, lifetime=DAY)
    clock.advance(DAY)
    program.member(member.id)  # a read applies the due expiry
    program.expire_due()
    program.expire_due(clock.now() + 10 * DAY)
    expiries = [t for t in program.transactions(member.id) if t.kind is TxnKind.EXPIRE]
    assert len(expiries) == 1


def test_reads_see_expiry_without_a_command(
    program: Program, member: Member, clock: ManualClock
) -> None:
    program.earn(member.id, 10, lifetime=DAY)
    clock.advance(2 * DAY)
    assert program.lots(member.id) == []
    assert program.expiry_schedule(member.id) == []


def test_expiry_schedule_groups_by_instant(
    program: Program, member: Member, clock: ManualClock
) -> None:
    start = clock.now()
    program.earn(member.id, 10, lifetime=DAY)
    program.earn(member.id, 5, lifetime=DAY)
    program.earn(member.id, 7, lifetime=3 * DAY)
    program.earn(member.id, 100)
    program.spend(member.id, 3)
    assert program.expiry_schedule(member.id) == [(start + DAY, 12), (start + 3 * DAY, 7)]


def test_spend_after_expiry_sees_only_live_points(
    program: Program, member: Member, clock: ManualClock
) -> None:
    program.earn(member.id, 10, lifetime=DAY)
    program.earn(member.id, 5)
    clock.advance(DAY)
    with pytest.raises(InsufficientPoints) as info:
        program.spend(member.id, 6)
    assert info.value.available == 5


def test_award_usage_of_a_debit_is_zero(program: Program, member: Member) -> None:
    program.earn(member.id, 10)
    spend = program.spend(member.id, 4)
    assert program.award_usage(spend.id) == AwardUsage(0, 0, 0)


# -- a reference model -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_lots_match_a_reference_model(seed: int) -> None:
    """Random earn / spend / adjust / clock moves against a tiny model of lots."""
    import random
    from datetime import UTC, datetime

    from loyaltykit import ClawbackPolicy

    rng = random.Random(seed)
    clock = ManualClock(datetime(2024, 1, 1, tzinfo=UTC))
    program = Program(clock, clawback=ClawbackPolicy.WRITE_OFF)
    mid = program.add_member(email="m@example.com").id
    never = datetime.max.replace(tzinfo=UTC)
    model: dict[int, list[object]] = {}  # txn id -> [expires_at, remaining]
    expired_total = 0

    def live() -> list[tuple[object, int, int]]:
        rows = [(e, i, r) for i, (e, r) in model.items() if r > 0]  # type: ignore[misc]
        return sorted(rows, key=lambda row: (row[0] or never, row[1]))  # type: ignore[operator]

    for _ in range(250):
        action = rng.random()
        if action < 0.35:
            pts = rng.randint(1, 50)
            life = timedelta(hours=rng.randint(1, 72)) if rng.random() < 0.6 else None
            txn = (
                program.earn(mid, pts, lifetime=life)
                if rng.random() < 0.5
                else program.adjust(mid, pts, lifetime=life)
            )
            model[txn.id] = [txn.expires_at, pts]
        elif action < 0.7:
            pts = rng.randint(1, 60)
            available = sum(r for _, _, r in live())
            if pts > available:
                with pytest.raises(InsufficientPoints):
                    program.spend(mid, pts)
                continue
            (program.spend if rng.random() < 0.5 else _negative_adjust(program))(mid, pts)
            for _, lot_id, left in live():
                take = min(left, pts)
                model[lot_id][1] = left - take
                pts -= take
                if not pts:
                    break
        else:
            clock.advance(timedelta(hours=rng.randint(1, 30)))
            for _, lot_id, left in live():
                expires = model[lot_id][0]
                if expires is not None and expires <= clock.now():  # type: ignore[operator]
                    expired_total += left
                    model[lot_id][1] = 0
        lots = program.lots(mid)
        assert [(lot.txn_id, lot.remaining) for lot in lots] == [(i, r) for _, i, r in live()]
        view = program.member(mid)
        assert view.balance == sum(r for _, _, r in live())
        assert view.expired == expired_total
        assert view.earned == view.balance + view.spent + view.expired
    assert Program.replay(program.journal(), clock, clawback=program.clawback).state() == (
        program.state()
    )


def _negative_adjust(program: Program):  # type: ignore[no-untyped-def]
    return lambda member_id, pts: program.adjust(member_id, -pts)


# -- storage: rows the cyclic GC can forget ------------------------------------------------


def _every_kind_of_row(program: Program, member: Member, clock: ManualClock) -> None:
    """Earn, expire, spend, adjust, award (posted, approved, rejected), claw back."""
    program.earn(member.id, 100, description="welcome", note="internal")
    program.earn(member.id, 10, lifetime=DAY)
    clock.advance(2 * DAY)
    program.spend(member.id, 5)
    program.adjust(member.id, -1, description="fix")
    instant = program.add_rule(name="order", points=20)
    manual = program.add_rule(name="manual", points=7, approval=Approval.MANUAL)
    program.award(member.id, instant.id, order_id="o-1")
    program.approve(program.award(member.id, manual.id).id, by="staff")
    program.reject(program.award(member.id, manual.id).id, by="staff")
    program.return_order("o-1")


def test_stored_rows_are_exact_tuples_the_gc_untracks(
    program: Program, member: Member, clock: ManualClock
) -> None:
    _every_kind_of_row(program, member, clock)
    rows = program.raw_state.txns
    kinds = {row[2] for row in rows}
    assert kinds >= {"earn", "expire", "spend", "adjust", "award", "clawback"}
    journal_rows = [e for e in program._journal if isinstance(e, tuple)]
    assert len(journal_rows) == len(rows)
    gc.collect()
    for row in rows + journal_rows:
        assert type(row) is tuple
        assert not gc.is_tracked(row), row


def test_reads_hand_out_transactions_with_enum_fields(
    program: Program, member: Member, clock: ManualClock
) -> None:
    _every_kind_of_row(program, member, clock)
    earned = program.earn(member.id, 3)
    spent = program.spend(member.id, 2)
    handed_out = [earned, spent, program.transaction(1), *program.transactions()]
    handed_out += program.transactions(member.id)
    handed_out += [e for e in program.journal() if isinstance(e, Transaction)]
    assert len(handed_out) > 20
    for txn in handed_out:
        assert type(txn) is Transaction
        assert type(txn.kind) is TxnKind
        assert type(txn.status) is TxnStatus
    statuses = {t.status for t in program.transactions()}
    assert statuses == {TxnStatus.POSTED, TxnStatus.REJECTED}
    assert program.transaction(earned.id) == earned
    replayed = Program.replay(program.journal(), **program.settings())
    assert replayed.state() == program.state()
    assert replayed.transactions() == program.transactions()


def test_the_fold_takes_a_transaction_as_its_row(program: Program, member: Member) -> None:
    txn = program.earn(member.id, 10)
    state = program.raw_state
    state.apply(txn._replace(id=2))
    assert type(state.txns[-1]) is tuple
    assert state.accounts[member.id].available == 20


def test_pending_points_cannot_be_spent_or_adjusted_away(program: Program, member: Member) -> None:
    program.earn(member.id, 10)
    rule = program.add_rule(name="m", points=50, approval=Approval.MANUAL)
    program.award(member.id, rule.id)
    for call in (
        lambda: program.spend(member.id, 11),
        lambda: program.adjust(member.id, -11),
    ):
        with pytest.raises(InsufficientPoints):
            call()
    assert program.member(member.id).balance == 10
