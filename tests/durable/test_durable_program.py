"""Durable programs on SQLite and PostgreSQL: what is committed when, what several handles
on one program see, settings and schema versions, snapshots, closing."""

from __future__ import annotations

import pickle
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from loyaltykit import (
    ClawbackPolicy,
    InsufficientPoints,
    InvalidArgument,
    ManualClock,
    OrderStatus,
    Program,
    audit,
)
from loyaltykit.errors import SchemaTooNew, SettingsMismatch, StoreClosed, StoreError
from loyaltykit.stores import open_store
from loyaltykit.stores.base import Snapshot
from loyaltykit.stores.codec import state_format

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def stored_events(url: str, name: str = "default") -> list[tuple[int, str, str]]:
    store = open_store(url)
    try:
        record = store.program(name, {})
        return list(store.events(record.id, 0))
    finally:
        store.close()


def replayed(program: Program) -> dict[str, Any]:
    return Program.replay(program.journal(), program.clock, **program.settings()).state()


def test_memory_url_gives_an_in_memory_program(clock: ManualClock) -> None:
    program = Program.open("memory:", clock=clock, name="shop")
    assert type(program) is Program
    assert program.name == "shop"
    with program:
        program.add_member(email="a@example.com")
    program.close()  # closing a memory program is harmless


def test_a_returned_command_survives_reopening(store_url: str, clock: ManualClock) -> None:
    with Program.open(store_url, clock=clock) as program:
        jane = program.add_member(email="jane@example.com")
        program.earn(jane.id, 500, lifetime=timedelta(days=30))
        program.spend(jane.id, 120)
        before = program.state()
    with Program.open(store_url, clock=clock) as again:
        assert again.state() == before
        assert again.member(jane.id).balance == 380
        assert audit(again) == []


def test_any_text_survives_the_store_as_written(store_url: str, clock: ManualClock) -> None:
    # quotes, backslashes (which make PostgreSQL's quoting switch to E'...'), a statement
    # separator, non-ASCII and control characters: stored and read back unchanged
    texts = [
        "O'Brien's \\ \"bonus\"",
        "'; DROP TABLE loyaltykit_events; --",
        "caf\u00e9 \u2615 \U0001f600 \\x00",
        "tab\tnew\nline\r\u0007",
    ]
    with Program.open(store_url, clock=clock) as program:
        member = program.add_member(email="o'brien@example.com", metadata={"note": texts[0]})
        for text in texts:
            program.earn(member.id, 1, description=text, note=text)
    with Program.open(store_url, clock=clock) as reopened:
        got = [t.description for t in reopened.transactions(member.id)]
        assert got == texts
        assert reopened.member(member.id).profile.metadata == {"note": texts[0]}
        assert reopened.member_by_email("o'brien@example.com").id == member.id


def test_each_command_is_one_committed_unit(store_url: str, clock: ManualClock) -> None:
    with Program.open(store_url, clock=clock) as program:
        jane = program.add_member(email="jane@example.com")
        program.earn(jane.id, 100)
        count = len(stored_events(store_url))
        with pytest.raises(InsufficientPoints):
            program.spend(jane.id, 1_000)
        assert len(stored_events(store_url)) == count
        seqs = [seq for seq, _, _ in stored_events(store_url)]
        assert seqs == list(range(1, count + 1))


def test_a_command_failing_after_it_emitted_commits_nothing(
    store_url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Program.open(store_url, clock=clock) as program:
        jane = program.add_member(email="jane@example.com")
        program.add_rule(name="per $", kind="multiplier", multiplier=Decimal(1), trigger="order")
        before, count = program.state(), len(stored_events(store_url))
        from loyaltykit.state import State

        original = State.on_transaction

        def broken(self: State, row: tuple[Any, ...]) -> None:
            original(self, row)
            raise RuntimeError("injected failure after the award was folded")

        monkeypatch.setattr(State, "on_transaction", broken)
        with pytest.raises(RuntimeError, match="injected"):
            program.record_order(
                "o-1", member_id=jane.id, amount=Decimal("50"), status=OrderStatus.PAID,
                updated_at=clock.now(),
            )
        monkeypatch.undo()
        assert program.state() == before
        assert len(stored_events(store_url)) == count
        program.earn(jane.id, 7)
        assert program.member(jane.id).balance == 7
    with Program.open(store_url, clock=clock) as again:
        assert again.member(jane.id).balance == 7
        assert audit(again) == []


def test_two_handles_share_one_ledger(store_url: str, clock: ManualClock) -> None:
    first = Program.open(store_url, clock=clock)
    second = Program.open(store_url, clock=clock)
    try:
        jane = first.add_member(email="jane@example.com")
        first.earn(jane.id, 100)
        # the second catches up before its command: no lost update
        second.spend(jane.id, 60)
        with pytest.raises(InsufficientPoints):
            first.spend(jane.id, 60)
        assert first.member(jane.id).balance == 40
        assert second.member(jane.id).balance == 40
        # idempotency keys hold across handles
        a = first.earn(jane.id, 5, idempotency_key="k-1")
        b = second.earn(jane.id, 5, idempotency_key="k-1")
        assert a == b
        assert second.member(jane.id).balance == 45
        assert first.state() == second.state() == replayed(first)
    finally:
        first.close()
        second.close()


def test_coupon_codes_are_never_issued_twice_across_handles(
    store_url: str, clock: ManualClock
) -> None:
    first = Program.open(store_url, clock=clock, seed=7)
    second = Program.open(store_url, clock=clock, seed=7)
    try:
        pool = first.add_pool(name="codes", codes=["A", "B", "C"])
        offer = first.add_offer(name="$5", points_price=10, value=Decimal(5), pool_id=pool.id)
        jane = first.add_member(email="jane@example.com")
        first.earn(jane.id, 100)
        codes = [
            (first if i % 2 else second).redeem(jane.id, offer.id).code for i in range(3)
        ]
        assert sorted(codes) == ["A", "B", "C"]
        generated = second.add_pool(name="gen", prefix="g")
        offer2 = second.add_offer(
            name="$1", points_price=1, value=Decimal(1), pool_id=generated.id
        )
        more = [(first if i % 2 else second).redeem(jane.id, offer2.id).code for i in range(20)]
        assert len(set(more)) == 20  # both handles' generators share one seed
        assert audit(first) == []
    finally:
        first.close()
        second.close()


def test_time_driven_events_are_written_once(store_url: str, clock: ManualClock) -> None:
    first = Program.open(store_url, clock=clock)
    second = Program.open(store_url, clock=clock)
    try:
        jane = first.add_member(email="jane@example.com")
        first.earn(jane.id, 100, lifetime=timedelta(days=1))
        clock.advance(timedelta(days=2))
        assert first.member(jane.id).balance == 0  # a read writes the due expiry
        assert second.member(jane.id).balance == 0  # and the other handle folds it
        second.expire_due()
        kinds = [
            body for _, kind, body in stored_events(store_url) if kind == "Transaction"
        ]
        assert sum('"expire"' in body for body in kinds) == 1
        assert first.state() == second.state()
    finally:
        first.close()
        second.close()


def test_programs_live_side_by_side_in_one_database(store_url: str, clock: ManualClock) -> None:
    with (
        Program.open(store_url, name="shop-a", clock=clock) as a,
        Program.open(store_url, name="shop-b", clock=clock) as b,
    ):
        a.add_member(email="x@example.com")
        assert b.members() == []
        b.add_member(email="y@example.com")
        assert [m.profile.email for m in a.members()] == ["x@example.com"]
    store = open_store(store_url)
    try:
        assert store.programs() == ["shop-a", "shop-b"]
    finally:
        store.close()


def test_settings_are_stored_at_creation(store_url: str, clock: ManualClock) -> None:
    with Program.open(
        store_url, clock=clock, clawback=ClawbackPolicy.WRITE_OFF, timezone=UTC
    ) as program:
        assert program.clawback is ClawbackPolicy.WRITE_OFF
    with Program.open(store_url, clock=clock) as again:  # omitted: the stored ones
        assert again.clawback is ClawbackPolicy.WRITE_OFF
        assert again.started_at == START
    with pytest.raises(SettingsMismatch, match="clawback") as refused:
        Program.open(store_url, clock=clock, clawback=ClawbackPolicy.PENDING_DEDUCTION)
    assert set(refused.value.differences) == {"clawback"}
    from zoneinfo import ZoneInfo

    with pytest.raises(SettingsMismatch, match="timezone"):
        Program.open(store_url, clock=clock, timezone=ZoneInfo("Europe/Paris"))
    with pytest.raises(InvalidArgument, match="colour"):
        Program.open(store_url, clock=clock, colour="blue")


def test_a_newer_schema_is_refused(sqlite_url: str) -> None:
    open_store(sqlite_url).close()
    path = sqlite_url.removeprefix("sqlite:///")
    db = sqlite3.connect(path)
    db.execute("UPDATE loyaltykit_meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(SchemaTooNew, match="upgrade loyaltykit") as refused:
        Program.open(sqlite_url)
    assert refused.value.found == 99


def test_a_newer_schema_is_refused_by_postgresql(pg_url: str) -> None:
    import psycopg

    open_store(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as db:
        db.execute("UPDATE loyaltykit_meta SET value = '2' WHERE key = 'schema_version'")
    with pytest.raises(SchemaTooNew):
        Program.open(pg_url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x", "unknown store URL"),
        ("sqlite://host/file.db", "no host"),
        ("sqlite:///x.db?synchronous=off", "synchronous"),
        ("sqlite:///x.db?journal=delete", "unknown SQLite URL option"),
        ("sqlite:///:memory:", "file path"),
        ("sqlite:///x.db?timeout=soon", "timeout"),
    ],
)
def test_bad_urls_are_refused_clearly(url: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        Program.open(url)


def test_a_closed_program_refuses_commands(sqlite_url: str, clock: ManualClock) -> None:
    program = Program.open(sqlite_url, clock=clock)
    jane = program.add_member(email="jane@example.com")
    program.close()
    program.close()
    with pytest.raises(StoreClosed):
        program.earn(jane.id, 1)
    with pytest.raises(StoreClosed):
        program.member(jane.id)


def test_reads_see_what_others_committed_unless_stale(
    store_url: str, clock: ManualClock
) -> None:
    first = Program.open(store_url, clock=clock)
    second = Program.open(store_url, clock=clock)
    try:
        jane = first.add_member(email="jane@example.com")
        assert second.member(jane.id).balance == 0
        first.earn(jane.id, 10)
        with second.stale():
            assert second.member(jane.id).balance == 0
        assert second.member(jane.id).balance == 10
    finally:
        first.close()
        second.close()


def test_configuration_reads_see_what_others_committed(
    store_url: str, clock: ManualClock
) -> None:
    # configuration reads skip the clock in memory (nothing there is time-driven) but a
    # durable handle still catches up with the store before answering
    first = Program.open(store_url, clock=clock)
    second = Program.open(store_url, clock=clock)
    try:
        assert second.rules() == [] and second.offers() == [] and second.tracks() == []
        rule = first.add_rule(name="Signup", points=50)
        offer = first.add_offer(name="Coffee", points_price=100)
        track = first.add_track(name="VIP")
        assert [r.id for r in second.rules()] == [rule.id]
        assert second.rule(rule.id).name == "Signup"
        assert [o.id for o in second.offers()] == [offer.id]
        assert second.offer(offer.id).name == "Coffee"
        assert [t.id for t in second.tracks()] == [track.id]
        with second.stale():
            first.add_rule(name="Review", points=5)
            assert len(second.rules()) == 1
        assert len(second.rules()) == 2
    finally:
        first.close()
        second.close()


# -- snapshots ----------------------------------------------------------------------------


def test_open_loads_the_snapshot_and_replays_only_the_tail(
    store_url: str, clock: ManualClock
) -> None:
    with Program.open(store_url, clock=clock, snapshot_every=0) as program:
        jane = program.add_member(email="jane@example.com")
        for i in range(30):
            program.earn(jane.id, 10 + i, lifetime=timedelta(days=5 + i))
            clock.advance(timedelta(hours=7))
        covered = program.checkpoint()
        for _ in range(5):
            program.spend(jane.id, 3)
        full = replayed(program)
    with Program.open(store_url, clock=clock) as again:
        assert again._base == covered > 0  # loaded from the snapshot
        assert again.state() == full
        assert audit(again) == []


def test_snapshots_are_written_every_n_events(store_url: str, clock: ManualClock) -> None:
    with Program.open(store_url, clock=clock, snapshot_every=10) as program:
        jane = program.add_member(email="jane@example.com")
        for _ in range(25):
            program.earn(jane.id, 1)
        store = program.store
        found = store.snapshot(program._program_id, state_format())
        assert found is not None and found.seq >= 20


def test_a_snapshot_of_another_format_is_ignored(store_url: str, clock: ManualClock) -> None:
    with Program.open(store_url, clock=clock) as program:
        jane = program.add_member(email="jane@example.com")
        program.earn(jane.id, 10)
        program.store.save_snapshot(
            program._program_id, Snapshot(2, "loyaltykit.state/0+old", b"junk"), keep=5
        )
    with Program.open(store_url, clock=clock) as again:
        assert again._base == 0
        assert again.member(jane.id).balance == 10


class _Evil:
    def __reduce__(self) -> tuple[Any, ...]:
        import os

        return (os.system, ("touch /tmp/loyaltykit-pwned",))


def test_a_tampered_snapshot_runs_no_code(store_url: str, clock: ManualClock) -> None:
    import os

    with Program.open(store_url, clock=clock) as program:
        jane = program.add_member(email="jane@example.com")
        program.earn(jane.id, 10)
        program.store.save_snapshot(
            program._program_id,
            Snapshot(2, state_format(), pickle.dumps({"txns": _Evil()})),
            keep=5,
        )
    with Program.open(store_url, clock=clock) as again:
        assert again._base == 0  # refused: the journal was replayed
        assert again.member(jane.id).balance == 10
    assert not os.path.exists("/tmp/loyaltykit-pwned")


# -- threads and failures -------------------------------------------------------------------


def test_threads_commit_together_and_lose_nothing(store_url: str, clock: ManualClock) -> None:
    with Program.open(store_url, clock=clock) as program:
        members = [program.add_member(email=f"m{i}@example.com").id for i in range(8)]
        other = Program.open(store_url, clock=clock)
        errors: list[BaseException] = []

        def work(member_id: int) -> None:
            try:
                for _ in range(40):
                    program.earn(member_id, 2)
                    program.spend(member_id, 1)
                    # durable when it returns: another connection sees it at once
                    assert other.member(member_id).balance >= 1
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(m,)) for m in members]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert all(program.member(m).balance == 40 for m in members)
        other.close()
    with Program.open(store_url, clock=clock) as again:
        assert again.state() == replayed(again)
        assert audit(again) == []


def test_refused_commands_in_a_shared_commit_leave_the_others_whole(
    store_url: str, clock: ManualClock
) -> None:
    # threads write at once, so their commands share transactions (group commit); every
    # other spend is refused: it commits nothing, and the commands around it all commit
    with Program.open(store_url, clock=clock) as program:
        members = [program.add_member(email=f"g{i}@example.com").id for i in range(8)]
        refused: list[int] = []
        errors: list[BaseException] = []

        def work(member_id: int) -> None:
            try:
                for _ in range(30):
                    program.earn(member_id, 3)
                    try:
                        program.spend(member_id, 1_000)
                    except InsufficientPoints:
                        refused.append(member_id)
                    program.spend(member_id, 1)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(m,)) for m in members]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and len(refused) == 8 * 30
        assert all(program.member(m).balance == 60 for m in members)
    with Program.open(store_url, clock=clock) as again:
        assert all(again.member(m).balance == 60 for m in members)
        assert len(again.transactions()) == 8 * 60
        assert again.state() == replayed(again)
        assert audit(again) == []


def test_a_failed_commit_undoes_the_command(
    sqlite_url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Program.open(sqlite_url, clock=clock) as program:
        jane = program.add_member(email="jane@example.com")
        program.earn(jane.id, 10)
        before = program.state()
        store = program.store

        def failing_commit(*args: object) -> None:
            raise StoreError("disk full (injected)")

        monkeypatch.setattr(store, "commit", failing_commit)
        with pytest.raises(StoreError, match="not committed"):
            program.earn(jane.id, 5)
        monkeypatch.undo()
        assert program.state() == before
        program.earn(jane.id, 1)
    with Program.open(sqlite_url, clock=clock) as again:
        assert again.member(jane.id).balance == 11
