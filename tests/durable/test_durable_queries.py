"""Paged reads of a durable program: its indexes come back with the snapshot, or by replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loyaltykit import Approval, ManualClock, Program, TxnStatus
from loyaltykit.index_audit import check_indexes
from loyaltykit.testing.scans import scan_transactions

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def test_pages_after_reopening_from_a_snapshot(store_url: str) -> None:
    clock = ManualClock(START)
    with Program.open(store_url, clock=clock, snapshot_every=0) as program:
        jane = program.add_member(email="jane@example.com").id
        photo = program.add_rule(name="photo", points=5, approval=Approval.MANUAL).id
        for n in range(40):
            clock.advance(timedelta(minutes=1))
            program.earn(jane, 10)
            if n % 7 == 0:
                program.award(jane, photo)
        clock.set(START)  # the tail is dated before the head
        program.earn(jane, 3)
        program.transactions_page(limit=1)  # the runs are caught up before the snapshot
        program.checkpoint()
        program.approve(program.transactions_page(status=TxnStatus.PENDING, limit=1)[0].id)
        program.earn(jane, 4)
    with Program.open(store_url, clock=clock) as again:
        assert check_indexes(again) == []
        for by_time in (False, True):
            expected = scan_transactions(again, jane, by_time=by_time)
            assert again.transactions_page(jane, by_time=by_time, limit=100) == expected
        assert again.count_transactions(posted_since=START + timedelta(minutes=30)) == len(
            scan_transactions(again, posted_since=START + timedelta(minutes=30))
        )
