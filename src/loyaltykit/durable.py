"""Durable programs: the state stays in memory, the journal is committed to a store.

A durable program is a `Program` whose lock (`CommitLock`) also talks to the database:

- a command starts a database transaction that holds the program's write lock (SQLite
  `BEGIN IMMEDIATE`, a PostgreSQL advisory lock), folds the events other processes
  appended since this process last looked, then runs as in memory (validate, emit);
- when it ends, its events are inserted and the transaction commits before the command
  returns, so a command that returned is on disk; a command that raised inserts nothing
  (its in-memory events are undone as `AtomicLock` does), except the time-driven events
  it caught up on (expiry, approvals, rollovers), which belong to the passage of time and
  are committed like any other events;
- commands of several threads arriving while one commits are grouped into the next
  transaction (group commit): each still returns only once its own events are committed,
  and the transaction holds the database lock from the first command to the commit, so
  no other process can interleave;
- a read first folds what others committed (SQLite tells for free whether anything
  changed), so it sees every command committed before it began; `stale()` skips that;
- opening loads the newest state snapshot and replays only the events after it;
  snapshots are written every `snapshot_every` events and by `checkpoint()`.
"""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, tzinfo
from types import TracebackType
from typing import Any

from loyaltykit import _validate as v
from loyaltykit.clock import Clock, SystemClock
from loyaltykit.errors import InvalidArgument, SettingsMismatch, StoreClosed, StoreError
from loyaltykit.ledger import from_row
from loyaltykit.orders import ClawbackPolicy
from loyaltykit.program import Program
from loyaltykit.serialization import zone_from_data, zone_to_data
from loyaltykit.state import State
from loyaltykit.stores import Store, open_store
from loyaltykit.stores.base import Snapshot
from loyaltykit.stores.codec import (
    decode_event,
    encode_event,
    state_format,
    state_from_bytes,
    state_to_bytes,
)

__all__ = ["MAX_BATCH", "CommitLock", "DurableProgram", "copy_program", "open_program"]

MAX_BATCH = 64
"""At most this many commands share one transaction (bounds a command's wait)."""
GATHER_WAIT = 0.005
"""Seconds a committing command waits at most, at a time, for queued commands to join."""
COMMIT_DELAY = 0.001
"""Seconds a commit waits at most for the threads of the last group to come back."""
SNAPSHOTS_KEPT = 2
"""Snapshots kept per program (the newest and the one before, in case one is unreadable)."""
_STORED_SETTINGS = ("clawback", "timezone", "started_at", "seed")


class _Batch:
    """One open database transaction and the commands that wrote into it."""

    __slots__ = ("at", "commands", "events", "failure", "finished", "inserted", "led", "start")

    def __init__(self, start: int, at: str) -> None:
        self.at = at
        """When the transaction began (ISO 8601): the events' recorded time."""
        self.start = start
        """Journal length when the transaction began: everything before is committed."""
        self.inserted = start
        """Journal length up to which events are encoded into `events`."""
        self.events: list[tuple[str, str, str]] = []
        """(type, body, recorded at) of every event to insert at the commit."""
        self.commands = 0
        self.led = False
        self.finished = False
        """Committed or failed: the commands waiting on it may return."""
        self.failure: BaseException | None = None


class CommitLock:
    """The lock of a durable program (see the module docstring).

    Like `AtomicLock` it is re-entrant and undoes a failed outermost block's events; in
    addition the outermost block's events are committed to the store before it returns.
    """

    def __init__(self, program: DurableProgram) -> None:
        self._program = program
        self._lock = threading.RLock()
        self._gate_lock = threading.Lock()
        self._gate = threading.Condition(self._gate_lock)
        """Guards `_queued`; notified when the last queued thread got the lock."""
        self._finished_lock = threading.Lock()
        self._finished = threading.Condition(self._finished_lock)
        self._waiting = 0
        self._gathering = False
        """A leader is waiting for commands to join its transaction."""
        self._enough = MAX_BATCH
        """While gathering: the number of commands at which the leader stops waiting (a
        joining command wakes it only then: waking it for each costs a thread switch)."""
        self._last_batch = 1
        """Commands in the last committed transaction (more than one: threads write at once)."""
        """Threads waiting for a transaction to finish (no notify needed when 0)."""
        self._queued = 0
        self._depth = 0
        self._mark = 0
        self._batch: _Batch | None = None
        self._joined: _Batch | None = None
        self._local = threading.local()

    # -- entering ----------------------------------------------------------------------

    def __enter__(self) -> None:
        if not self._lock.acquire(blocking=False):  # busy: queue up, so a commit waits
            gate = self._gate_lock
            with gate:
                self._queued += 1
            self._lock.acquire()
            with gate:
                self._queued -= 1
                if not self._queued:
                    self._gate.notify_all()
        if self._depth == 0:
            self._mark = len(self._program._journal)
            self._joined = self._batch  # a read of uncommitted events waits for them
        self._depth += 1

    def write(self) -> None:
        """Make sure the current block runs inside a transaction holding the write lock
        (every command calls this before it reads the clock or emits)."""
        program = self._program
        if self._batch is None:
            if program._closed:
                program._check_open()
            news = program._store.begin(program._program_id, program._seq)
            if news:  # (nearly always empty with one writer: no call then)
                try:
                    program._fold(news)
                except BaseException:
                    program._store.rollback()
                    raise
            length = len(program._journal)
            self._batch = _Batch(length, program._reader.now().isoformat())
            if self._mark < length:
                self._mark = length  # the synced events are committed, not this block's
        self._joined = self._batch

    def sync(self) -> None:
        """Before a read: fold what others committed, unless this process holds the
        write lock (then nobody else can have) or the thread asked for stale reads."""
        if self._batch is None and not getattr(self._local, "stale", 0):
            self._program._check_open()
            self._program._sync()
            length = len(self._program._journal)
            if self._mark < length:  # what others committed; this block emitted nothing yet
                self._mark = length

    def keep(self) -> None:
        """Keep the events emitted so far even if the block fails (see `AtomicLock`)."""
        if self._depth == 1:
            self._mark = len(self._program._journal)

    @property
    def writing(self) -> bool:
        return self._batch is not None

    def wait_for_open_batch(self) -> None:
        """Wait until the transaction open now has committed or failed (call without
        holding the lock)."""
        batch = self._batch
        if batch is not None:
            self._wait(batch)

    def _wait(self, batch: _Batch) -> None:
        with self._finished_lock:
            self._waiting += 1
            try:
                while not batch.finished:
                    self._finished.wait()
            finally:
                self._waiting -= 1

    def _finish(self, batch: _Batch) -> None:
        batch.finished = True
        # A waiter counts itself in `_waiting` under the lock before it looks at
        # `finished`: one that is not counted yet will see it set and not wait.
        if self._waiting:
            with self._finished_lock:
                self._finished.notify_all()

    @contextmanager
    def stale(self) -> Iterator[None]:
        local = self._local
        local.stale = getattr(local, "stale", 0) + 1
        try:
            yield
        finally:
            local.stale -= 1

    # -- leaving -----------------------------------------------------------------------

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth:
            self._lock.release()
            return
        program = self._program
        batch = self._joined
        self._joined = None
        leading = False
        try:
            if exc_type is not None and len(program._journal) > self._mark:
                program._rollback(self._mark)
            if batch is None:
                if len(program._journal) > self._mark:  # a command that skipped _begin()
                    program._rollback(self._mark)
                    raise StoreError("internal error: events emitted outside a transaction")
                return
            if batch.failure is None and len(program._journal) > batch.inserted:
                self._insert(batch)
            batch.commands += 1
            if batch.failure is None and not batch.led and batch is self._batch:
                batch.led = leading = True
            elif self._gathering and batch.commands >= self._enough:
                with self._gate_lock:
                    self._gate.notify_all()  # the leader counts who joined
        finally:
            if not leading:
                self._lock.release()
        if leading:
            self._lead(batch)
        elif not batch.finished:
            self._wait(batch)
        if batch.failure is not None and exc_type is None:
            raise StoreError(f"the command was not committed: {batch.failure}") from batch.failure

    def _insert(self, batch: _Batch) -> None:
        """Encode the block's events for the transaction's commit; a failure aborts the
        whole transaction (the commands already in it are undone too)."""
        program = self._program
        journal = program._journal
        try:
            at = batch.at
            batch.events.extend(
                (*encode_event(event), at) for event in journal[batch.inserted :]
            )
            batch.inserted = len(journal)
        except BaseException as failure:
            self._abort(batch, failure)

    def _abort(self, batch: _Batch, failure: BaseException) -> None:
        batch.failure = failure
        if self._batch is batch:
            self._batch = None
        try:
            self._program._store.rollback()
        finally:
            self._program._rollback(batch.start)
            self._finish(batch)

    def _gather(self, batch: _Batch, expected: int) -> None:
        """Let other threads' commands join the open transaction before it commits.

        Threads queued for the lock run their commands now; and when the last commit
        carried several commands (threads are writing side by side), the leader also
        waits a moment (at most `COMMIT_DELAY`) for as many to join as last time: they are
        on their way back from that commit. Then it takes the lock back, which waits for
        the last of them to finish. (PostgreSQL's commit_delay works the same way.)
        """
        lock = self._lock
        gate = self._gate
        lock.release()
        try:
            with gate:
                self._enough = min(expected, MAX_BATCH)
                self._gathering = True
                deadline = time.monotonic() + COMMIT_DELAY
                while batch.commands < MAX_BATCH:
                    if self._queued:
                        gate.wait(GATHER_WAIT)
                        continue
                    left = deadline - time.monotonic()
                    if batch.commands >= expected or left <= 0:
                        break
                    gate.wait(left)
                self._gathering = False
        finally:
            lock.acquire()

    def _lead(self, batch: _Batch) -> None:
        """Let the commands queued behind this one join the transaction, then commit it
        for all of them (called holding the lock; releases it)."""
        lock = self._lock
        program = self._program
        try:
            expected = self._last_batch
            if self._queued or expected > 1:
                self._gather(batch, expected)
            if batch.failure is not None:
                return
            self._batch = None
            try:
                program._store.commit(
                    program._program_id, program._base + batch.start + 1, batch.events
                )
            except BaseException as failure:
                batch.failure = failure
                try:
                    program._store.rollback()
                finally:
                    program._rollback(batch.start)
                return
            program._seq = seq = program._base + len(program._journal)  # `_committed`
            self._last_batch = batch.commands
            self._finish(batch)
            every = program._snapshot_every
            if every and seq - program._snapshot_seq >= every:
                program._maybe_checkpoint()
        finally:
            if not batch.finished:
                self._finish(batch)
            lock.release()


class DurableProgram(Program):
    """A `Program` whose journal is committed to a store (see the module docstring).

    Made by `Program.open`; everything a `Program` does works the same, plus `close()`,
    `checkpoint()` and `stale()`.
    """

    _lock: CommitLock  # type: ignore[assignment]

    def __init__(
        self,
        store: Store,
        program_id: int,
        stored: dict[str, Any],
        clock: Clock,
        name: str,
        snapshot_every: int,
    ) -> None:
        super().__init__(
            clock,
            name=name,
            clawback=ClawbackPolicy(stored["clawback"]),
            timezone=zone_from_data(stored["timezone"]),
            started_at=datetime.fromisoformat(stored["started_at"]),
            seed=stored.get("seed"),
        )
        self._store = store
        self._program_id = program_id
        self._snapshot_every = snapshot_every
        self._closed = False
        self._base = 0
        """The sequence number of the event before `_journal[0]` (the loaded snapshot's)."""
        self._seq = 0
        """The sequence number of the last committed event this process has folded."""
        self._snapshot_seq = 0
        self._lock = CommitLock(self)
        self._load()

    # -- loading and catching up ---------------------------------------------------------

    def _load(self) -> None:
        """The newest usable snapshot, then the events after it."""
        snapshot = self._store.snapshot(self._program_id, state_format())
        state = self._state_from(snapshot)
        if state is not None and snapshot is not None:
            self._state = state
            self._base = self._seq = self._snapshot_seq = snapshot.seq
        self._fold(self._store.events(self._program_id, self._seq))

    def _state_from(self, snapshot: Snapshot | None) -> State | None:
        if snapshot is None:
            return None
        try:
            return state_from_bytes(snapshot.blob, self.clawback, self.timezone)
        except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError):
            return None  # unusable (say, written by another version): replay instead

    def _sync(self) -> None:
        """Fold the events others committed since this process last looked."""
        self._fold(self._store.news(self._program_id, self._seq))

    def _fold(self, events: Iterable[tuple[int, str, str]]) -> None:
        """Append and fold committed events read from the store, in sequence order."""
        journal = self._journal
        apply = self._state.apply
        last = self._seq
        for seq, kind, body in events:
            if seq != last + 1:
                raise StoreError(f"the journal of {self.name!r} has a gap before event {seq}")
            event = decode_event(kind, body)
            journal.append(event)
            apply(event)
            last = seq
        self._seq = last

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed(f"program {self.name!r} is closed")

    # -- the kernel's hooks ------------------------------------------------------------

    def _write(self) -> None:
        self._lock.write()

    def _begin(self) -> datetime:
        self._lock.write()
        return super()._begin()

    def _begin_read(self) -> None:
        self._lock.sync()
        due = self._state.due
        if due and due[0][0] <= self._now():
            self._begin()  # time-driven events are written, once, like any command's

    def _read_configuration(self) -> None:
        self._lock.sync()

    def _rollback(self, mark: int) -> None:
        """Forget the events from `mark` on: rebuild the state from the store's newest
        snapshot at or before that point and the journal after it."""
        journal = self._journal
        del journal[mark:]
        snapshot = self._store.snapshot(self._program_id, state_format(), self._base + mark)
        state = None
        if snapshot is not None and snapshot.seq >= self._base:
            state = self._state_from(snapshot)
        if state is not None and snapshot is not None:
            start = snapshot.seq - self._base
        else:
            state = State(self.clawback, self.timezone)
            for _, kind, body in self._store.events(self._program_id, 0, self._base):
                state.apply(decode_event(kind, body))
            start = 0
        for event in journal[start:]:
            state.apply(event)
        self._state = state

    # -- snapshots ---------------------------------------------------------------------

    def _maybe_checkpoint(self) -> None:
        every = self._snapshot_every
        if every and self._seq - self._snapshot_seq >= max(every, self._seq // 4):
            self._write_snapshot()

    def _write_snapshot(self) -> None:
        seq = self._seq
        blob = state_to_bytes(self._state)
        self._store.save_snapshot(
            self._program_id, Snapshot(seq, state_format(), blob), SNAPSHOTS_KEPT
        )
        self._snapshot_seq = seq

    def checkpoint(self) -> int:
        """Write a state snapshot now, so the next open replays nothing before this
        point; returns the sequence number of the last event it covers."""
        while True:
            with self._lock:
                if not self._lock.writing:
                    self._check_open()
                    self._sync()
                    if self._seq != self._snapshot_seq:
                        self._write_snapshot()
                    return self._seq
            self._lock.wait_for_open_batch()

    # -- reading the store ---------------------------------------------------------------

    def journal(self) -> list[object]:
        """Every event of the program, from the store (this process keeps only the
        events since its snapshot in memory)."""
        with self._lock:
            self._lock.sync()
            older = [
                decode_event(kind, body)
                for _, kind, body in self._store.events(self._program_id, 0, self._base)
            ]
            return [from_row(e) if type(e) is tuple else e for e in older + self._journal]

    def state(self) -> dict[str, Any]:
        with self._lock:
            self._lock.sync()
            return super().state()

    def stale(self) -> AbstractContextManager[None]:
        """Reads in this block (this thread) skip looking for commands other processes
        committed: cheaper, and they see this process's last view."""
        return self._lock.stale()

    @property
    def store(self) -> Store:
        return self._store

    @property
    def sequence(self) -> int:
        """The number of committed events this process has seen."""
        return self._seq

    def close(self) -> None:
        """Close the store connection; later commands raise `StoreClosed`. Safe to call
        twice. Every command that returned is already committed."""
        with self._lock:
            if self._closed:
                return
            if self._lock.writing:
                raise StoreError("close() inside a block that has not committed yet")
            self._closed = True
            self._store.close()


def stored_settings(
    clock: Clock,
    clawback: ClawbackPolicy | str = ClawbackPolicy.NEGATIVE_BALANCE,
    timezone: tzinfo | None = None,
    started_at: datetime | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """The settings a new program is created with, as the store keeps them."""
    policy = _policy(clawback)
    zone = timezone if timezone is not None else UTC
    if not isinstance(zone, tzinfo):
        raise InvalidArgument("timezone", f"timezone must be a tzinfo, got {zone!r}")
    start = v.moment(started_at, "started_at") if started_at is not None else clock.now()
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InvalidArgument("seed", f"seed must be an integer, got {seed!r}")
    return {
        "clawback": policy.value,
        "timezone": zone_to_data(zone),
        "started_at": start.isoformat(),
        "seed": seed,
    }


def _policy(value: object) -> ClawbackPolicy:
    try:
        return ClawbackPolicy(value)  # type: ignore[arg-type]
    except ValueError:
        allowed = ", ".join(p.value for p in ClawbackPolicy)
        raise InvalidArgument(
            "clawback", f"clawback must be one of {allowed}; got {value!r}"
        ) from None


def open_program(
    url: str,
    *,
    name: str = "default",
    clock: Clock | None = None,
    snapshot_every: int = 10_000,
    **settings: Any,
) -> Program:
    """`Program.open`: see there."""
    clock = clock if clock is not None else SystemClock()
    if url == "memory:":
        return Program(clock, name=name, **settings)
    v.text(name, "name", required=True)
    unknown = set(settings) - set(_STORED_SETTINGS)
    if unknown:
        raise InvalidArgument(
            sorted(unknown)[0], f"unknown setting(s): {', '.join(sorted(unknown))}"
        )
    if type(snapshot_every) is not int or snapshot_every < 0:
        raise InvalidArgument("snapshot_every", "snapshot_every must be a non-negative integer")
    wanted = stored_settings(clock, **settings)
    store = open_store(url)
    try:
        record = store.program(name, wanted)
        differences = {
            key: (str(record.settings.get(key)), str(wanted[key]))
            for key in settings
            if record.settings.get(key) != wanted[key]
        }
        if differences:
            raise SettingsMismatch(name, differences)
        program = DurableProgram(store, record.id, record.settings, clock, name, snapshot_every)
    except BaseException:
        store.close()
        raise
    return program




def copy_program(
    source: Program,
    url: str,
    *,
    name: str,
    clock: Clock | None = None,
    snapshot_every: int = 10_000,
) -> DurableProgram:
    """A new durable program `name` in the store at `url` holding what `source` holds: its
    settings (seed included), its whole journal, written in one transaction, and the state
    of its random source (the codes it would generate next).

    Moves a program built in memory (seeded, or restored from a snapshot) into a store.
    `name` must not hold any event yet (`InvalidArgument` otherwise, and nothing is
    written); `clock` defaults to the source's.
    """
    if url == "memory:":
        raise InvalidArgument("url", "copy_program needs a store URL (sqlite:/// or postgresql://)")
    with source.atomic():
        events = source.journal()
        randomness = source._rng.getstate()
        settings = {
            "clawback": source.clawback,
            "timezone": source.timezone,
            "started_at": source.started_at,
            "seed": source.seed,
        }
    program = open_program(
        url,
        name=name,
        clock=clock if clock is not None else source.clock,
        snapshot_every=snapshot_every,
        **settings,
    )
    assert isinstance(program, DurableProgram)
    try:
        with program._lock:
            program._write()
            if program.sequence:
                raise InvalidArgument(
                    "name", f"program {name!r} already holds events in {program.store.url}"
                )
            for event in events:
                program._emit(event)
        program._rng.setstate(randomness)
    except BaseException:
        program.close()
        raise
    return program
