"""`ProgramKernel`: the state, journal and lock every command of `Program` works on.

A command (a function in `loyaltykit._commands`, bound into `Program` by name) takes the
lock, calls `_begin()` (or `_begin_read()` for a read) to apply the time-driven events due
at the clock's instant, validates, and only then emits its events through `_emit` (earn,
spend and the common award append their row to `_journal` and fold it directly: the
measured hot paths). Everything that decides how events are journaled, folded, undone and
caught up on lives here, so a durable store changes this module and no command.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, Self, TypeVar

import attrs

from loyaltykit import _validate as v
from loyaltykit._atomic import AtomicLock
from loyaltykit.clock import EARLIEST, LATEST, Clock, ManualClock, SystemClock, within_range
from loyaltykit.errors import (
    IdempotencyConflict,
    InvalidArgument,
    MemberDisabled,
    MemberNotFound,
    OfferNotFound,
    RuleNotFound,
)
from loyaltykit.events import (
    AwardResolved,
    KeyRecorded,
    MemberRecorded,
    OfferDefined,
    PeriodRolled,
    RuleDefined,
    Shortfall,
    TierDefined,
)
from loyaltykit.ledger import (
    AUTO_APPROVE_AT,
    ID,
    MEMBER_ID,
    ORDER_ID,
    RULE_ID,
    STATUS,
    Account,
    Row,
    Transaction,
    TxnKind,
    TxnStatus,
    from_row,
    to_row,
)
from loyaltykit.metadata import checked_metadata
from loyaltykit.orders import ClawbackPolicy, Order, OrderStatus, clawback_target
from loyaltykit.rewards import RewardOffer
from loyaltykit.rules import EarningRule, window_end
from loyaltykit.state import DUE_APPROVAL, DUE_EXPIRY, State

if TYPE_CHECKING:
    from loyaltykit.program import Program

__all__ = ["ProgramKernel"]

T = TypeVar("T")
_POSTED = TxnStatus.POSTED
_ROW_PENDING = TxnStatus.PENDING.value


class ProgramKernel:
    """What every command needs: settings, clock, journal, state, lock and the emit path.

    `Program` is this plus its commands; see `Program` for the constructor's arguments.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        name: str = "",
        clawback: ClawbackPolicy = ClawbackPolicy.NEGATIVE_BALANCE,
        timezone: tzinfo = UTC,
        started_at: datetime | None = None,
        seed: int | None = None,
    ) -> None:
        self.clock = clock if clock is not None else SystemClock()
        self.name = name
        self.clawback = ClawbackPolicy(clawback)
        self.timezone = timezone
        self.started_at = (
            v.moment(started_at, "started_at") if started_at is not None else self._now()
        )
        self.seed = seed
        """What the random source of generated codes (coupons, referral codes) was seeded
        with (None: from the system); kept so a copy of the program can be seeded alike."""
        self._rng = random.Random(seed)
        self._journal: list[object] = []
        self._state = State(self.clawback, timezone)
        self._lock = AtomicLock(self._journal, self._rollback)

    # ================================================================== the clock

    @property
    def clock(self) -> Clock:
        """Where the program reads the time (see `loyaltykit.clock`)."""
        return self._clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        """Our own clocks always answer an aware UTC instant within range, so the program
        reads them as they are; any other clock is read through `_CheckedClock`."""
        self._clock = clock
        self._reader: Clock = clock if type(clock) in _TRUSTED_CLOCKS else _CheckedClock(clock)

    def _now(self) -> datetime:
        """The clock's instant, checked (see the `clock` setter)."""
        return self._reader.now()

    # ================================================================== journal, fold and undo

    def _rollback(self, mark: int) -> None:
        """Forget the events from `mark` on and rebuild the state (see `AtomicLock`)."""
        del self._journal[mark:]
        state = State(self.clawback, self.timezone)
        for event in self._journal:
            state.apply(event)
        self._state = state

    def _emit(self, event: object) -> None:
        """Journal and fold one event; a `Transaction` is stored as its row."""
        if isinstance(event, Transaction):
            event = to_row(event)
        self._journal.append(event)
        self._state.apply(event)

    def _write(self) -> None:
        """Called before a command emits anything it did not get from `_begin()` (a
        durable program takes its store's write lock here; nothing to do in memory)."""

    def _begin(self) -> datetime:
        """Read the clock and bring time-driven state up to that instant."""
        now = self._reader.now()
        due = self._state.due
        if due and due[0][0] <= now:
            self._catch_up(now)
            self._lock.keep()
        return now

    def _begin_read(self) -> None:
        """Reads see time-driven changes too (an expired lot is never reported live)."""
        self._begin()

    def _read_configuration(self) -> None:
        """Before a read of configuration (rules, offers, pools, tracks, tiers): nothing
        there is time-driven, so in memory there is nothing to do (a durable program
        catches up with the commands others committed)."""

    def _catch_up(self, now: datetime) -> list[Transaction]:
        """Emit, in time order, every approval, expiry and rollover due at `now`.

        Entries of the due schedule are never removed early: one that no longer applies
        (a lot already used up, an award already resolved) is skipped when it comes up.
        """
        st = self._state
        due = st.due
        expired: list[Transaction] = []
        while due and due[0][0] <= now:
            when, what, ident, extra = heapq.heappop(due)
            if what == DUE_APPROVAL:
                row = st.txns[ident - 1]
                if row[STATUS] == _ROW_PENDING and row[AUTO_APPROVE_AT] == when:
                    self._emit_resolution(row, True, when, "auto")
            elif what == DUE_EXPIRY:
                left = st.remaining.get(ident, 0)
                if left > 0:
                    txn = Transaction(
                        len(st.txns) + 1,
                        st.txns[ident - 1][MEMBER_ID],
                        TxnKind.EXPIRE,
                        -left,
                        _POSTED,
                        when,
                        source_id=ident,
                        description=f"points of transaction {ident} expired",
                    )
                    self._emit(txn)
                    expired.append(txn)
            else:
                period = st.accounts[ident].metrics.get(extra, (None, None))[0]
                if period is not None and window_end(st.tracks[extra].window, period) == when:
                    self._emit(PeriodRolled(ident, extra, when))
        return expired

    def _emit_resolution(self, row: Row, approved: bool, at: datetime, by: str) -> None:
        expires_at = None
        rule_id = row[RULE_ID]
        if approved and rule_id is not None:
            lifetime = self._state.rules[rule_id].points_lifetime
            expires_at = at + lifetime if lifetime is not None else None
        self._emit(AwardResolved(row[ID], approved, at, by, expires_at))
        if approved:
            order_id = row[ORDER_ID]
            order = self._state.orders.get(order_id) if order_id else None
            if order is not None and order.status is OrderStatus.PAID and order.returned_amount:
                self._claw_to_target(order, at)  # a return made while the award was pending
            self._settle(row[MEMBER_ID], at)

    def _settle(self, member_id: int, at: datetime) -> None:
        """Under the pending-deduction policy, let fresh points pay off what is owed."""
        if self.clawback is not ClawbackPolicy.PENDING_DEDUCTION:
            return
        account = self._state.accounts[member_id]
        amount = min(account.debt, account.available)
        if amount > 0:
            self._emit(
                Transaction(
                    len(self._state.txns) + 1,
                    member_id,
                    TxnKind.SETTLE,
                    -amount,
                    _POSTED,
                    at,
                    description="pending deduction settled",
                )
            )

    # Clawback lives here, not with the orders commands: an approval caught up on by any
    # command claws back what a return took while the award was pending.

    def _claw_to_target(self, order: Order, now: datetime) -> int:
        target = clawback_target(order.awarded, order.amount, order.returned_amount)
        points = max(0, target - order.clawed_back)
        self._claw(order, points, now)
        return points

    def _claw(self, order: Order, points: int, now: datetime) -> None:
        if points <= 0 or order.member_id is None:
            return
        account = self._state.accounts[order.member_id]
        reason = f"order {order.external_id} returned"
        if self.clawback is ClawbackPolicy.NEGATIVE_BALANCE:
            self._emit(
                Transaction(
                    self._next_txn(),
                    order.member_id,
                    TxnKind.CLAWBACK,
                    -points,
                    _POSTED,
                    now,
                    order_id=order.external_id,
                    description=reason,
                )
            )
            return
        taken = min(points, account.available)
        if taken:
            self._emit(
                Transaction(
                    self._next_txn(),
                    order.member_id,
                    TxnKind.CLAWBACK,
                    -taken,
                    _POSTED,
                    now,
                    order_id=order.external_id,
                    description=reason,
                )
            )
        if points > taken:
            self._emit(Shortfall(order.member_id, order.external_id, points - taken, now))

    # ================================================================== lookups and idempotency

    def _account(self, member_id: object, *, active: bool = True) -> Account:
        if isinstance(member_id, bool) or not isinstance(member_id, int):
            raise InvalidArgument("member_id", f"member_id must be an integer, got {member_id!r}")
        account = self._state.accounts.get(member_id)
        if account is None:
            raise MemberNotFound(member_id)
        if active and account.disabled:
            raise MemberDisabled(f"member {member_id} is disabled")
        return account

    def _rule(self, rule_id: object) -> EarningRule:
        rule = _lookup(self._state.rules, rule_id)
        if rule is None:
            raise RuleNotFound(rule_id)
        return rule

    def _offer(self, offer_id: object) -> RewardOffer:
        offer = _lookup(self._state.offers, offer_id)
        if offer is None:
            raise OfferNotFound(offer_id)
        return offer

    def _next_txn(self) -> int:
        return len(self._state.txns) + 1

    def _idempotent(
        self,
        key: str | None,
        fingerprint: tuple[object, ...],
        kind: str,
        run: Callable[[], T],
        ref_of: Callable[[T], str],
        lookup: Callable[[str], T],
    ) -> T:
        """Run `run` once per key: a retry with the same payload gets the first result."""
        if key is None:
            return run()
        v.code(key, "idempotency_key")
        printed = repr((kind, *fingerprint))
        known = self._state.keys.get(key)
        if known is not None:
            if known[0] != printed:
                raise IdempotencyConflict(
                    f"idempotency key {key!r} was used before with a different request"
                )
            return lookup(known[1])
        result = run()
        self._emit(KeyRecorded(key, printed, ref_of(result)))
        return result

    def _txn_ref(self, txn: Transaction) -> str:
        return f"transaction:{txn.id}"

    def _txn_lookup(self, ref: str) -> Transaction:
        return from_row(self._state.txns[int(ref.split(":", 1)[1]) - 1])

    # ================================================================== batches and persistence

    def atomic(self) -> AbstractContextManager[None]:
        """Group several commands into one all-or-nothing unit.

        `with program.atomic(): ...` holds the program's lock for the block, and if the
        block raises, every event it emitted is undone (a customer created for an order
        that is then refused disappears with it). Time-driven events caught up on inside
        the block are undone too; the next command catches up on them again.
        """
        return self._lock

    def journal(self) -> list[object]:
        """A copy of the append-only journal (events are immutable, so sharing them is safe;
        transactions, stored as rows, are handed out as `Transaction`s)."""
        with self._lock:
            return [from_row(e) if type(e) is tuple else e for e in self._journal]

    def settings(self) -> dict[str, Any]:
        """The constructor settings the journal does not carry: pass them to `replay`."""
        return {
            "name": self.name,
            "clawback": self.clawback,
            "timezone": self.timezone,
            "started_at": self.started_at,
        }

    @classmethod
    def replay(cls, events: Iterable[object], clock: Clock | None = None, **settings: Any) -> Self:
        """Build a program by applying `events` to an empty one (no validation: events are
        facts already decided, but metadata is checked and frozen as every command does)."""
        program = cls(clock, **settings)
        for event in events:
            program._emit(_with_frozen_metadata(event))
        return program

    @classmethod
    def restore(cls, document: Mapping[str, Any], clock: Clock | None = None) -> Program:
        """The inverse of `snapshot`."""
        from loyaltykit.serialization import restore

        return restore(document, clock)

    @classmethod
    def open(
        cls,
        url: str,
        *,
        name: str = "default",
        clock: Clock | None = None,
        snapshot_every: int = 10_000,
        **settings: Any,
    ) -> Program:
        """Open the program `name` kept in the store at `url`, creating it if needed.

        `url` is `memory:` (a plain in-memory program, as `Program(...)` makes),
        `sqlite:///path/to/file.db` or `postgresql://...` (see `loyaltykit.stores`).
        `settings` (`clawback`, `timezone`, `started_at`, `seed`) are stored when the
        program is created; opening it later with different ones raises
        `SettingsMismatch`. A state snapshot is written every `snapshot_every` events (at
        least; 0: only by `checkpoint()`), so opening replays only the events after it.
        The returned program is durable: each command is committed when it returns (see
        `loyaltykit.durable`). Close it with `close()` or use it as a context manager.
        """
        from loyaltykit.durable import open_program

        return open_program(url, name=name, clock=clock, snapshot_every=snapshot_every, **settings)

    def close(self) -> None:
        """Release the program's store connection (nothing to release in memory)."""

    def checkpoint(self) -> int:
        """Write a state snapshot to the program's store, so the next `Program.open`
        replays nothing before it; returns how many events it covers (in memory there is
        no store: nothing is written)."""
        with self._lock:
            return len(self._journal)

    def stale(self) -> AbstractContextManager[None]:
        """Reads inside the block skip looking for commands other processes committed
        (see `Program.open`; in memory there are no other processes: it changes nothing)."""
        return nullcontext()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def raw_state(self) -> State:
        """The internal state, for audits and the testing kit (read-only by convention)."""
        return self._state


def _lookup(table: Mapping[int, T], ident: object) -> T | None:
    """Find by id; True and 1.0 compare equal to 1 but are not ids."""
    if isinstance(ident, bool) or not isinstance(ident, int):
        return None
    return table.get(ident)


def _is_id(value: object) -> bool:
    """Ids are ints; True and 1.0 compare equal to 1 but are not ids."""
    return isinstance(value, int) and not isinstance(value, bool)


_TRUSTED_CLOCKS = (ManualClock, SystemClock)
"""Clocks (these exact types, not subclasses) whose answers need no check."""


class _CheckedClock:
    """A foreign clock, read through a check: its answer is refused unless it is an aware
    datetime within the clock range, and normalised to UTC."""

    __slots__ = ("clock",)

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def now(self) -> datetime:
        moment = self.clock.now()
        # the usual answer, checked inline (a served fake reads its clock several times
        # per request); anything else goes through the full check and its messages
        if type(moment) is datetime and moment.tzinfo is UTC and EARLIEST <= moment <= LATEST:
            return moment
        return _checked(moment)


def _checked(moment: object) -> datetime:
    if not isinstance(moment, datetime):
        raise InvalidArgument("clock", f"clock.now() must return a datetime, got {v.shown(moment)}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidArgument(
            "clock",
            f"clock.now() returned the naive datetime {moment.isoformat()}; a clock must "
            "answer timezone-aware instants",
        )
    return within_range(moment, "clock")


_OWNERS: dict[type, str] = {
    RuleDefined: "rule",
    OfferDefined: "offer",
    TierDefined: "tier",
    MemberRecorded: "profile",
}
"""The events that carry an object with metadata, and the attribute holding it."""


def _with_frozen_metadata(event: object) -> object:
    owner_field = _OWNERS.get(type(event))
    if owner_field is None:
        return event
    owner = getattr(event, owner_field)
    frozen = checked_metadata(owner.metadata)
    if frozen is owner.metadata:
        return event
    return attrs.evolve(event, **{owner_field: attrs.evolve(owner, metadata=frozen)})  # type: ignore[misc]


def _enum(kind: type[Any], value: object, field: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in kind)
        raise InvalidArgument(
            field, f"{field} must be one of {allowed}; got {v.shown(value)}"
        ) from None


def _evolve(obj: T, changes: Mapping[str, Any], what: str) -> T:
    fields = attrs.fields_dict(type(obj))  # type: ignore[arg-type]
    for name in changes:
        if name not in fields or name == "id":
            raise InvalidArgument(name, f"{what} has no changeable field {name!r}")
    return attrs.evolve(obj, **changes)  # type: ignore[misc]
