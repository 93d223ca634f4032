"""Moving a program into a store (`copy_program`) and deleting one (`Store.delete_program`),
on SQLite and PostgreSQL: what the persistent fakes build their tenants with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyaltykit import ClawbackPolicy, InvalidArgument, ManualClock, Program, audit
from loyaltykit.durable import copy_program
from loyaltykit.errors import StoreError
from loyaltykit.stores import open_store

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def busy_program(clock: ManualClock) -> tuple[Program, int, int]:
    """An in-memory program with members, expiring points, a spend and a generated pool."""
    program = Program(
        clock,
        name="source",
        clawback=ClawbackPolicy.PENDING_DEDUCTION,
        started_at=START - timedelta(days=3),
        seed=42,
    )
    jane = program.add_member(email="jane@example.com")
    program.earn(jane.id, 500, lifetime=timedelta(days=30))
    program.spend(jane.id, 120)
    pool = program.add_pool(name="gen", prefix="g")
    offer = program.add_offer(name="$1", points_price=10, value=Decimal(1), pool_id=pool.id)
    program.redeem(jane.id, offer.id)
    return program, jane.id, offer.id


def test_a_copy_holds_the_settings_history_and_next_codes(
    store_url: str, clock: ManualClock
) -> None:
    source, jane, offer = busy_program(clock)
    with copy_program(source, store_url, name="copy") as copy:
        assert copy.name == "copy"
        assert (copy.clawback, copy.started_at, copy.seed) == (
            source.clawback, source.started_at, source.seed
        )
        assert copy.state() == source.state()
        assert copy.redeem(jane, offer).code == source.redeem(jane, offer).code
    clock.advance(timedelta(days=31))  # the copied lot still expires on reopening
    with Program.open(store_url, name="copy", clock=clock) as again:
        assert again.member(jane).balance == source.member(jane).balance == 0
        assert audit(again) == []
        assert again.seed == 42


def test_a_copy_of_a_durable_program_takes_its_whole_history(
    store_url: str, clock: ManualClock
) -> None:
    with Program.open(store_url, name="first", clock=clock, snapshot_every=0) as first:
        jane = first.add_member(email="jane@example.com")
        first.earn(jane.id, 30)
        first.checkpoint()  # events before the snapshot are no longer in its memory
        first.earn(jane.id, 12)
        with copy_program(first, store_url, name="second") as second:
            assert second.journal() == first.journal()
            assert second.member(jane.id).balance == 42


def test_copying_onto_a_program_with_events_writes_nothing(
    store_url: str, clock: ManualClock
) -> None:
    source, _, _ = busy_program(clock)
    with Program.open(store_url, name="taken", clock=clock, **_settings(source)) as taken:
        taken.add_member(email="already@example.com")
    with pytest.raises(InvalidArgument, match="already holds events"):
        copy_program(source, store_url, name="taken")
    with Program.open(store_url, name="taken", clock=clock) as again:
        assert [m.profile.email for m in again.members()] == ["already@example.com"]


def test_copying_needs_a_store(clock: ManualClock) -> None:
    source, _, _ = busy_program(clock)
    with pytest.raises(InvalidArgument, match="store URL"):
        copy_program(source, "memory:", name="x")


def test_deleting_a_program_removes_it_alone(store_url: str, clock: ManualClock) -> None:
    with (
        Program.open(store_url, name="gone", clock=clock, snapshot_every=0) as gone,
        Program.open(store_url, name="kept", clock=clock) as kept,
    ):
        gone.earn(gone.add_member(email="a@example.com").id, 5)
        gone.checkpoint()
        kept.earn(kept.add_member(email="b@example.com").id, 7)
    store = open_store(store_url)
    try:
        assert store.delete_program("gone") is True
        assert store.delete_program("gone") is False
        assert store.delete_program("never") is False
        assert store.programs() == ["kept"]
    finally:
        store.close()
    with Program.open(store_url, name="gone", clock=clock) as fresh:
        assert fresh.members() == [] and fresh.journal() == []
    with Program.open(store_url, name="kept", clock=clock) as kept:
        assert kept.members()[0].balance == 7


def test_a_handle_on_a_deleted_program_fails_instead_of_writing(
    store_url: str, clock: ManualClock
) -> None:
    program = Program.open(store_url, name="doomed", clock=clock)
    try:
        jane = program.add_member(email="jane@example.com")
        store = open_store(store_url)
        try:
            assert store.delete_program("doomed")
        finally:
            store.close()
        with pytest.raises(StoreError):
            program.earn(jane.id, 5)
    finally:
        program.close()


def _settings(source: Program) -> dict[str, object]:
    return {
        "clawback": source.clawback,
        "timezone": source.timezone,
        "started_at": source.started_at,
        "seed": source.seed,
    }
