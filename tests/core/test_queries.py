"""Paged reads from the indexes: unit cases, then random histories held against scans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyaltykit import (
    Approval,
    FulfillmentStatus,
    InvalidArgument,
    ManualClock,
    MemberNotFound,
    MemberState,
    Program,
    TxnKind,
    TxnStatus,
    UsageStatus,
    audit,
)
from loyaltykit.index_audit import check_indexes
from loyaltykit.paging import WALK
from loyaltykit.queries import MAX_OFFSET, MAX_PAGE
from loyaltykit.testing.scans import check_pages, scan_transactions

START = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def ids(records: list) -> list[int]:  # type: ignore[type-arg]
    return [record.id for record in records]


@pytest.fixture
def ledger(program: Program, clock: ManualClock) -> Program:
    """Two members, 30 transactions a minute apart, every fifth a spend."""
    first = program.add_member(email="a@example.com").id
    second = program.add_member(email="b@example.com").id
    for n in range(30):
        clock.advance(MINUTE)
        member = first if n % 2 == 0 else second
        program.earn(member, 10)
        if n % 5 == 4:
            program.spend(member, 3)
    return program


# -- transactions ------------------------------------------------------------------------


def test_newest_first_by_default_and_oldest_first_on_request(ledger: Program) -> None:
    total = len(ledger.transactions())
    assert ids(ledger.transactions_page(limit=3)) == [total, total - 1, total - 2]
    assert ids(ledger.transactions_page(newest_first=False, limit=3)) == [1, 2, 3]


def test_keyset_bounds_are_exclusive(ledger: Program) -> None:
    assert ids(ledger.transactions_page(before_id=10, limit=3)) == [9, 8, 7]
    assert ids(ledger.transactions_page(after_id=10, newest_first=False, limit=3)) == [11, 12, 13]
    assert ids(ledger.transactions_page(after_id=10, before_id=13)) == [12, 11]


def test_one_members_transactions_page_and_count(ledger: Program) -> None:
    mine = ids(ledger.transactions(1))
    assert ids(ledger.transactions_page(1, limit=4)) == mine[::-1][:4]
    assert ids(ledger.transactions_page(1, offset=3, limit=2)) == mine[::-1][3:5]
    assert ledger.count_transactions(1) == len(mine)
    assert ledger.count_transactions(1, before_id=mine[5]) == 5


def test_since_and_until_bound_the_creation_time(ledger: Program) -> None:
    since, until = START + 5 * MINUTE, START + 8 * MINUTE
    expected = [t for t in ledger.transactions() if since <= t.created_at < until]
    got = ledger.transactions_page(since=since, until=until, newest_first=False)
    assert got == expected
    assert ledger.count_transactions(since=since, until=until) == len(expected) == 4


def test_kinds_filter_counts_without_reading(ledger: Program) -> None:
    spends = [t for t in ledger.transactions() if t.kind is TxnKind.SPEND]
    assert ledger.transactions_page(kinds=[TxnKind.SPEND], newest_first=False) == spends
    assert ledger.count_transactions(kinds={TxnKind.SPEND}) == len(spends) == 6
    assert ledger.count_transactions(kinds={TxnKind.REDEEM}) == 0


def test_a_deep_offset_is_found_by_counting(ledger: Program) -> None:
    every = ids(ledger.transactions())[::-1]
    offset = WALK + 2
    assert ids(ledger.transactions_page(offset=offset, limit=3)) == every[offset : offset + 3]
    assert ledger.transactions_page(offset=len(every), limit=3) == []


def test_pending_awards_post_when_approved(program: Program, clock: ManualClock) -> None:
    member = program.add_member(email="p@example.com").id
    photo = program.add_rule(name="photo", points=40, approval=Approval.MANUAL).id
    held = program.award(member, photo)
    clock.advance(MINUTE)
    program.earn(member, 5)
    clock.advance(MINUTE)
    approved_at = clock.now()
    program.approve(held.id)
    assert ids(program.transactions_page(status=TxnStatus.POSTED)) == [held.id + 1, held.id]
    # the award was created first but posted last: "posted since" finds it by its approval
    posted = program.transactions_page(posted_since=approved_at)
    assert ids(posted) == [held.id]
    assert program.count_transactions(posted_since=START + MINUTE) == 2
    rejected = program.award(member, photo)
    program.reject(rejected.id)
    assert ids(program.transactions_page(status=TxnStatus.REJECTED)) == [rejected.id]
    assert program.count_transactions(status=TxnStatus.POSTED) == 2
    assert program.count_transactions(status=TxnStatus.PENDING) == 0


def test_a_clock_set_back_keeps_time_order_and_id_order_apart(
    program: Program, clock: ManualClock
) -> None:
    member = program.add_member(email="c@example.com").id
    late = program.earn(member, 1)  # at START
    clock.set(START - timedelta(days=1))
    early = program.earn(member, 2)  # recorded second, dated a day before
    assert ids(program.transactions_page()) == [early.id, late.id]
    assert ids(program.transactions_page(by_time=True)) == [late.id, early.id]
    assert ids(program.transactions_page(since=START)) == [late.id]
    assert program.count_transactions(until=START) == 1


def test_arguments_are_checked(ledger: Program) -> None:
    for bad in (
        {"limit": 0},
        {"limit": MAX_PAGE + 1},
        {"offset": -1},
        {"offset": MAX_OFFSET + 1},
        {"after_id": "3"},
        {"since": datetime(2024, 1, 1)},  # naive
        {"kinds": "earn"},
        {"kinds": ["gift"]},
        {"status": "lost"},
        {"posted_since": START, "status": TxnStatus.PENDING},
        {"by_time": 1},
        {"newest_first": None},
    ):
        with pytest.raises(InvalidArgument):
            ledger.transactions_page(**bad)  # type: ignore[arg-type]
    with pytest.raises(MemberNotFound):
        ledger.transactions_page(99)
    with pytest.raises(MemberNotFound):
        ledger.count_fulfillments(99)


# -- members and fulfillments ------------------------------------------------------------


def test_members_updated_since_includes_older_members_changed_lately(
    program: Program, clock: ManualClock
) -> None:
    for n in range(5):
        program.add_member(email=f"m{n}@example.com")
        clock.advance(MINUTE)
    program.update_member(2, first_name="Changed")
    since = clock.now()
    clock.advance(MINUTE)
    program.add_member(email="new@example.com")
    assert ids(program.members_page(updated_since=since)) == [6, 2]
    assert program.count_members(updated_since=since) == 2
    assert ids(program.members_page(since=START + MINUTE, until=START + 3 * MINUTE)) == [3, 2]
    program.update_member(4, state=MemberState.DISABLED)
    assert ids(program.members_page(state=MemberState.DISABLED)) == [4]
    assert program.count_members(state=MemberState.MEMBER) == 5


def test_fulfillments_by_member_source_and_usage(program: Program, clock: ManualClock) -> None:
    pool = program.add_pool(name="codes", prefix="x")
    offer = program.add_offer(name="$1", points_price=10, value=Decimal(1), pool_id=pool.id)
    first = program.add_member(email="f@example.com").id
    second = program.add_member(email="g@example.com").id
    program.earn(first, 100)
    program.earn(second, 100)
    made = [program.redeem(member, offer.id) for member in (first, second, first)]
    gift = program.grant(second, offer.id)
    clock.advance(MINUTE)
    assert made[0].code is not None
    program.use_code(made[0].code)
    assert ids(program.fulfillments_page(first)) == [made[2].id, made[0].id]
    assert ids(program.fulfillments_page(source="redemption")) == ids(made)[::-1]
    assert ids(program.fulfillments_page(source="grant")) == [gift.id]
    assert ids(program.fulfillments_page(usage=UsageStatus.USED)) == [made[0].id]
    assert ids(program.fulfillments_page(updated_since=clock.now())) == [made[0].id]
    assert program.count_fulfillments(second, status=FulfillmentStatus.ISSUED) == 2
    assert program.fulfillment_by_transaction(made[1].txn_id or 0) == made[1]


def test_member_running_totals(program: Program) -> None:
    pool = program.add_pool(name="codes", prefix="x")
    offer = program.add_offer(name="$1", points_price=30, value=Decimal(1), pool_id=pool.id)
    member = program.add_member(email="t@example.com").id
    program.earn(member, 100)
    program.redeem(member, offer.id)
    program.spend(member, 5)
    last = program.adjust(member, 7)
    program.spend(member, 2)
    seen = program.member(member)
    assert (seen.redeemed, seen.spent, seen.recovered) == (30, 37, 0)
    assert seen.last_credit_id == last.id


# -- the indexes are state: audited, replayed, restored ------------------------------------


def test_audit_finds_a_corrupted_index(ledger: Program) -> None:
    assert audit(ledger) == []
    ledger.raw_state.ledger_index.program.ordered(TxnKind.REDEEM.value).append(3)
    found = check_indexes(ledger)
    assert [v.code for v in found] == ["index_mismatch"]
    assert "ledger timeline" in found[0].details


def test_restore_rebuilds_the_indexes(ledger: Program, clock: ManualClock) -> None:
    clock.set(START - timedelta(hours=1))
    ledger.earn(1, 4)
    restored = Program.restore(ledger.snapshot(), clock)
    assert check_indexes(restored) == []
    assert restored.transactions_page(by_time=True) == ledger.transactions_page(by_time=True)
    assert restored.raw_state.ledger_index.runs.starts == [len(ledger.transactions())]


# -- random histories --------------------------------------------------------------------

Step = tuple[str, int, int]


def build(steps: list[Step]) -> Program:
    """A program made of `steps`: (what, member or target, amount)."""
    clock = ManualClock(START)
    program = Program(clock, seed=7)
    photo = program.add_rule(name="photo", points=15, approval=Approval.MANUAL).id
    pool = program.add_pool(name="codes", prefix="x")
    offer = program.add_offer(name="$1", points_price=20, value=Decimal(1), pool_id=pool.id)
    for n in range(3):
        program.add_member(email=f"r{n}@example.com")
    codes: list[str] = []
    for what, who, amount in steps:
        member = who % 3 + 1
        try:
            if what == "earn":
                lifetime = timedelta(hours=amount) if amount % 2 else None
                program.earn(member, amount, lifetime=lifetime)
            elif what == "spend":
                program.spend(member, amount)
            elif what == "award":
                program.award(member, photo)
            elif what == "resolve":
                pending = program.transactions_page(status=TxnStatus.PENDING, limit=1)
                if pending:
                    (program.approve if amount % 2 else program.reject)(pending[0].id)
            elif what == "redeem":
                code = program.redeem(member, offer.id).code
                codes.append(code or "")
            elif what == "use" and codes:
                program.use_code(codes[who % len(codes)])
            elif what == "rename":
                program.update_member(member, first_name=f"n{amount}")
            elif what == "back":
                clock.set(clock.now() - timedelta(minutes=amount))
            elif what == "forward":
                clock.advance(timedelta(minutes=amount))
        except (InvalidArgument, MemberNotFound):
            raise
        except Exception:  # a refused command (insufficient points...) changes nothing
            pass
    return program


steps = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "earn",
                "earn",
                "spend",
                "award",
                "resolve",
                "redeem",
                "use",
                "rename",
                "back",
                "forward",
                "forward",
            ]
        ),
        st.integers(0, 10),
        st.integers(1, 90),
    ),
    max_size=60,
)


@given(history=steps, data=st.data())
def test_pages_and_counts_agree_with_scans(history: list[Step], data: st.DataObject) -> None:
    program = build(history)
    for _ in range(5):
        check_pages(program, data)
    assert check_indexes(program) == []


BULK: list[Step] = [(what, n, 3) for n in range(40) for what in ("earn", "forward")]
"""Forty earns a few minutes apart, so deep offsets land inside the history."""


@given(history=steps, offset=st.integers(WALK, WALK + 40))
def test_deep_offsets_agree_with_scans(history: list[Step], offset: int) -> None:
    program = build(BULK + history + BULK)
    since = START + timedelta(minutes=100)
    for by_time in (False, True):
        for newest_first in (True, False):
            for member_id, posted_since in ((None, None), (1, None), (None, since)):
                expected = scan_transactions(
                    program,
                    member_id,
                    by_time=by_time,
                    newest_first=newest_first,
                    posted_since=posted_since,
                )
                got = program.transactions_page(
                    member_id,
                    by_time=by_time,
                    newest_first=newest_first,
                    posted_since=posted_since,
                    offset=offset,
                    limit=7,
                )
                assert got == expected[offset : offset + 7]
