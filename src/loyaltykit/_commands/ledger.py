"""Commands on the points ledger: earn, spend, adjust, rule awards and their approval,
expiry, and the reads of transactions and lots.

Each function is a method of `Program` (bound there by name, see `loyaltykit.program`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from loyaltykit import _validate as v
from loyaltykit._kernel import ProgramKernel
from loyaltykit.errors import (
    AlreadyResolved,
    CapReached,
    InsufficientPoints,
    InvalidArgument,
    NotPending,
    RuleInactive,
    TransactionNotFound,
)
from loyaltykit.events import OrderRecorded
from loyaltykit.ledger import (
    CREATED_AT,
    EXPIRES_AT,
    POINTS,
    RESOLVED_AT,
    STATUS,
    Account,
    AwardUsage,
    Lot,
    Row,
    Transaction,
    TxnKind,
    TxnStatus,
    from_row,
)
from loyaltykit.limits import MAX_POINTS, MAX_TOTAL_POINTS
from loyaltykit.orders import Order, OrderStatus
from loyaltykit.rules import Approval, EarningRule, RuleKind, award_basis, points_for, window_start

_POSTED = TxnStatus.POSTED
_EARN, _SPEND, _ADJUST = TxnKind.EARN, TxnKind.SPEND, TxnKind.ADJUST
_tuple_new = tuple.__new__

# What rows hold for kinds and statuses (plain str, see `ledger.Row`), read once.
_ROW_EARN, _ROW_SPEND, _ROW_ADJUST = _EARN.value, _SPEND.value, _ADJUST.value
_ROW_AWARD = TxnKind.AWARD.value
_ROW_POSTED, _ROW_PENDING = _POSTED.value, TxnStatus.PENDING.value

_FAST = 2**30 - 1
"""The hot paths' range checks compare with this, not with the limits: CPython compares
two ints of one 30-bit digit on a fast path, and an int with more digits (the limits have
two) on a generic one, about 150 instructions more, 1% of an earn. Points above it, or a
member who earned more, take the exact checks (`v.points`, `check_room`), which refuse
only what passes the limits."""
assert _FAST < MAX_POINTS and _FAST + MAX_POINTS <= MAX_TOTAL_POINTS


def earn(
    self: ProgramKernel,
    member_id: int,
    points: int,
    *,
    description: str = "",
    lifetime: timedelta | None = None,
    note: str | None = None,
    idempotency_key: str | None = None,
) -> Transaction:
    """Credit points by hand (no rule); `lifetime` makes them expire; `note` is internal."""
    with self._lock:
        now = self._begin()
        if idempotency_key is None:
            return _earn(self, member_id, points, description, lifetime, now, note)
        return self._idempotent(
            idempotency_key,
            (member_id, points, description, lifetime, note),
            "earn",
            lambda: _earn(self, member_id, points, description, lifetime, now, note),
            self._txn_ref,
            self._txn_lookup,
        )


def _earn(
    self: ProgramKernel,
    member_id: int,
    points: int,
    description: str,
    lifetime: timedelta | None,
    now: datetime,
    note: str | None = None,
) -> Transaction:
    # The hot path: checks inlined, the row stored and the Transaction returned built
    # as plain tuples, the row dispatched straight to the fold. Both tuples are written
    # out (here and in `_spend`): deriving one from the other (`from_row`, slicing)
    # costs about 0.1 us, 7% of an earn.
    st = self._state
    account = st.accounts.get(member_id) if type(member_id) is int else None
    if account is None or account.disabled:
        account = self._account(member_id)
    if type(points) is not int or points <= 0 or points > _FAST:
        v.points(points)
    if account.earned > _FAST or account.pending:
        check_room(account, points)
    if type(description) is not str:
        v.text(description, "description")
    expires_at = None
    if lifetime is not None:
        v.duration(lifetime, "lifetime")
        expires_at = now + lifetime
    if note is not None:
        v.text(note, "note")
    txn_id = len(st.txns) + 1
    row = (
        txn_id,
        member_id,
        _ROW_EARN,
        points,
        _ROW_POSTED,
        now,
        expires_at,
        None,
        None,
        None,
        description,
        None,
        None,
        None,
        None,
        note,
    )
    self._journal.append(row)
    if expires_at is None and not account.debt and not st.tracks:
        st.post_plain_credit(account, row, txn_id, points)
    else:
        st.on_transaction(row)
        if account.debt:
            self._settle(member_id, now)
    txn: Transaction = _tuple_new(
        Transaction,
        (
            txn_id,
            member_id,
            _EARN,
            points,
            _POSTED,
            now,
            expires_at,
            None,
            None,
            None,
            description,
            None,
            None,
            None,
            None,
            note,
        ),
    )
    return txn


def spend(
    self: ProgramKernel,
    member_id: int,
    points: int,
    *,
    description: str = "",
    kind: TxnKind = TxnKind.SPEND,
    note: str | None = None,
    idempotency_key: str | None = None,
) -> Transaction:
    """Debit points, soonest-expiring first; refused if the balance does not cover it."""
    with self._lock:
        now = self._begin()
        if idempotency_key is None:
            return _spend(self, member_id, points, description, kind, now, note)
        return self._idempotent(
            idempotency_key,
            (member_id, points, description, str(kind), note),
            "spend",
            lambda: _spend(self, member_id, points, description, kind, now, note),
            self._txn_ref,
            self._txn_lookup,
        )


def _spend(
    self: ProgramKernel,
    member_id: int,
    points: int,
    description: str,
    kind: TxnKind,
    now: datetime,
    note: str | None = None,
) -> Transaction:
    account = self._state.accounts.get(member_id) if type(member_id) is int else None
    if account is None or account.disabled:
        account = self._account(member_id)
    if type(points) is not int or points <= 0 or points > _FAST:
        v.points(points)
    if type(description) is not str:
        v.text(description, "description")
    if kind is not _SPEND and kind is not _ADJUST:
        raise InvalidArgument("kind", f"spend kind must be spend or adjust, got {kind!r}")
    if note is not None:
        v.text(note, "note")
    if points > account.available:
        raise InsufficientPoints(member_id, points, account.available)
    st = self._state
    txn_id = len(st.txns) + 1
    row = (
        txn_id,
        member_id,
        _ROW_SPEND if kind is _SPEND else _ROW_ADJUST,
        -points,
        _ROW_POSTED,
        now,
        None,
        None,
        None,
        None,
        description,
        None,
        None,
        None,
        None,
        note,
    )
    self._journal.append(row)
    st.post_plain_debit(account, row, txn_id, points)
    txn: Transaction = _tuple_new(
        Transaction,
        (
            txn_id,
            member_id,
            kind,
            -points,
            _POSTED,
            now,
            None,
            None,
            None,
            None,
            description,
            None,
            None,
            None,
            None,
            note,
        ),
    )
    return txn


def adjust(
    self: ProgramKernel,
    member_id: int,
    points_change: int,
    *,
    description: str = "",
    lifetime: timedelta | None = None,
    note: str | None = None,
    idempotency_key: str | None = None,
) -> Transaction:
    """A manual correction: positive credits, negative debits (never below zero)."""
    with self._lock:
        now = self._begin()

        def run() -> Transaction:
            account = self._account(member_id)
            v.points(points_change, "points_change", allow_negative=True)
            v.text(description, "description")
            v.duration(lifetime, "lifetime")
            if note is not None:
                v.text(note, "note")
            if points_change < 0 and -points_change > account.available:
                raise InsufficientPoints(member_id, -points_change, account.available)
            if points_change > 0:
                check_room(account, points_change, "points_change")
            expires = now + lifetime if lifetime and points_change > 0 else None
            txn = Transaction(
                self._next_txn(),
                member_id,
                TxnKind.ADJUST,
                points_change,
                _POSTED,
                now,
                expires,
                description=description,
                note=note,
            )
            self._emit(txn)
            if points_change > 0 and account.debt:
                self._settle(member_id, now)
            return txn

        if idempotency_key is None:
            return run()
        return self._idempotent(
            idempotency_key,
            (member_id, points_change, description, lifetime, note),
            "adjust",
            run,
            self._txn_ref,
            self._txn_lookup,
        )


def award(
    self: ProgramKernel,
    member_id: int,
    rule_id: int,
    *,
    amount: Decimal | int | None = None,
    points: int | None = None,
    order_id: str | None = None,
    description: str = "",
    auto_approve_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> Transaction:
    """Award points through an earning rule: active flag, cap, tier multiplier, approval.

    `points` overrides a FIXED rule's points; a MULTIPLIER rule needs `amount`. With
    `order_id` the award happens at most once per (order, rule): a repeat returns the
    first transaction unchanged, and the order is recorded (paid, for `amount`) so that
    it can later be returned. The award of 0 points is refused.
    """
    with self._lock:
        now = self._begin()

        def run() -> Transaction:
            return _award(
                self,
                member_id,
                rule_id,
                amount,
                points,
                order_id,
                description,
                auto_approve_at,
                now,
            )

        if idempotency_key is None:
            return run()
        return self._idempotent(
            idempotency_key,
            (member_id, rule_id, str(amount), points, order_id, description, auto_approve_at),
            "award",
            run,
            self._txn_ref,
            self._txn_lookup,
        )


def _award(
    self: ProgramKernel,
    member_id: int,
    rule_id: int,
    amount: Decimal | int | None,
    points: int | None,
    order_id: str | None,
    description: str,
    auto_approve_at: datetime | None,
    now: datetime,
) -> Transaction:
    account = self._account(member_id)
    rule = self._rule(rule_id)
    if not rule.active:
        raise RuleInactive(f"rule {rule.id} ({rule.name}) is inactive")
    money = v.money(amount, "amount") if amount is not None else None
    if points is not None:
        v.points(points)
        if rule.kind is RuleKind.MULTIPLIER:
            raise InvalidArgument("points", f"rule {rule.id} computes points from an amount")
    if rule.kind is RuleKind.MULTIPLIER and money is None:
        raise InvalidArgument("amount", f"rule {rule.id} needs an amount to multiply")
    v.text(description, "description")
    due = v.optional_moment(auto_approve_at, "auto_approve_at")
    if order_id is not None:
        v.code(order_id, "order_id")
        existing = self._state.order_awards.get((order_id, rule.id))
        if existing is not None:
            return from_row(self._state.txns[existing - 1])
        order = self._state.orders.get(order_id)
        if order is not None and order.member_id != member_id:
            raise InvalidArgument("order_id", f"order {order_id!r} belongs to another member")
        if order is not None and order.status in (OrderStatus.REFUNDED, OrderStatus.DELETED):
            raise InvalidArgument("order_id", f"order {order_id!r} is {order.status}")
    check_cap(self, account, rule, now)
    value = points_for(rule, money, points, self._state.tier_multiplier(account))
    if value <= 0:
        raise InvalidArgument("points", f"rule {rule.id} would award {value} points")
    if value > _FAST or account.earned > _FAST or account.pending:
        field = "points" if rule.kind is RuleKind.FIXED else "amount"
        if value > MAX_POINTS:
            raise InvalidArgument(
                field, f"rule {rule.id} would award {value:,} points, more than {MAX_POINTS:,}"
            )
        check_room(account, value, field)
    if order_id is not None and order_id not in self._state.orders:
        self._emit(
            OrderRecorded(
                Order(
                    order_id,
                    member_id,
                    money or Decimal(0),
                    OrderStatus.PAID,
                    now,
                    now,
                    now,
                    paid_at=now,
                )
            )
        )
    basis = award_basis(rule, money, points)
    return post_award(self, account, rule, value, now, order_id, description, due, basis)


def check_room(account: Account, points: int, field: str = "points") -> None:
    """Refuse a credit that would take the member's points earned (pending included, which
    bounds every other running total) past `MAX_TOTAL_POINTS`."""
    v.total(
        account.earned + account.pending,
        points,
        field,
        f"member {account.member_id}'s points earned",
    )


def check_cap(self: ProgramKernel, account: Account, rule: EarningRule, now: datetime) -> None:
    cap = rule.cap
    if cap is None:
        return
    times = account.award_times.get(rule.id, [])
    start = window_start(cap.window, now, self.timezone)
    count = len(times) if start is None else sum(1 for t in times if t >= start)
    if count >= cap.max_awards:
        raise CapReached(
            f"member {account.member_id} reached the cap of {cap.max_awards} awards per "
            f"{cap.window} for rule {rule.id}"
        )


def post_award(
    self: ProgramKernel,
    account: Account,
    rule: EarningRule,
    value: int,
    now: datetime,
    order_id: str | None,
    description: str,
    due: datetime | None,
    basis: str,
) -> Transaction:
    """Post one award of `value` points; `basis` (see `rules.award_basis`) goes in its
    reference so the journal shows what the points were computed from."""
    if value > _FAST or account.earned > _FAST or account.pending:
        if value > MAX_POINTS:
            raise InvalidArgument("amount", f"rule {rule.id} would award {value:,} points")
        check_room(account, value)
    if rule.approval is Approval.IMMEDIATE and due is None:
        lifetime = rule.points_lifetime
        # the common award: its row built directly (see `ledger.Row`), one Transaction
        row = (
            self._next_txn(),
            account.member_id,
            _ROW_AWARD,
            value,
            _ROW_POSTED,
            now,
            now + lifetime if lifetime else None,
            rule.id,
            order_id,
            basis,
            description,
            None,
            None,
            None,
            None,
            None,
        )
        self._journal.append(row)
        self._state.on_transaction(row)
        if account.debt:
            self._settle(account.member_id, now)
        return from_row(row)
    if due is None and rule.approval is Approval.DELAYED:
        due = now + (rule.approval_delay or timedelta(days=30))
    txn = Transaction(
        self._next_txn(),
        account.member_id,
        TxnKind.AWARD,
        value,
        TxnStatus.PENDING,
        now,
        None,
        rule.id,
        order_id,
        basis,
        description=description,
        auto_approve_at=due,
    )
    self._emit(txn)
    if due is not None and due <= now:
        self._catch_up(now)
    return from_row(self._state.txns[txn.id - 1])


def approve(self: ProgramKernel, txn_id: int, *, by: str = "") -> Transaction:
    """Approve a pending award: its points become spendable and their lifetime starts."""
    return _resolve(self, txn_id, True, by)


def reject(self: ProgramKernel, txn_id: int, *, by: str = "") -> Transaction:
    """Reject a pending award: its points are never credited."""
    return _resolve(self, txn_id, False, by)


def _resolve(self: ProgramKernel, txn_id: int, approved: bool, by: str) -> Transaction:
    with self._lock:
        now = self._begin()
        row = _txn(self, txn_id)
        v.text(by, "by")
        if row[STATUS] != _ROW_PENDING:
            if row[RESOLVED_AT] is not None:
                raise AlreadyResolved(f"transaction {txn_id} was already {row[STATUS]}")
            raise NotPending(f"transaction {txn_id} is not a pending award")
        self._emit_resolution(row, approved, now, by)
        return from_row(self._state.txns[txn_id - 1])


def _txn(self: ProgramKernel, txn_id: object) -> Row:
    """The stored row of a transaction (`from_row` makes the public `Transaction`)."""
    if isinstance(txn_id, bool) or not isinstance(txn_id, int):
        raise InvalidArgument("txn_id", f"transaction id must be an integer, got {txn_id!r}")
    if not 1 <= txn_id <= len(self._state.txns):
        raise TransactionNotFound(txn_id)
    return self._state.txns[txn_id - 1]


def expire_due(self: ProgramKernel, now: datetime | None = None) -> list[Transaction]:
    """Expire every lot due at `now` (default: the clock); idempotent at one instant.

    Also applies the auto-approvals and period rollovers due by then, in time order.
    """
    with self._lock:
        self._write()
        at = self._now() if now is None else v.moment(now, "now")
        return self._catch_up(at)


def transaction(self: ProgramKernel, txn_id: int) -> Transaction:
    with self._lock:
        self._begin_read()
        return from_row(_txn(self, txn_id))


def transactions(self: ProgramKernel, member_id: int | None = None) -> list[Transaction]:
    """Transactions in id order, of one member or of the whole program."""
    with self._lock:
        self._begin_read()
        txns = self._state.txns
        if member_id is None:
            return [from_row(row) for row in txns]
        account = self._account(member_id, active=False)
        return [from_row(txns[i - 1]) for i in account.txn_ids]


def lots(self: ProgramKernel, member_id: int) -> list[Lot]:
    """Live lots in consumption order (soonest expiry first, never-expiring last)."""
    with self._lock:
        self._begin_read()
        account = self._account(member_id, active=False)
        st = self._state
        lots = []
        for lot_id in account.lot_ids():
            row = st.txns[lot_id - 1]
            lots.append(
                Lot(
                    lot_id,
                    row[POINTS],
                    st.remaining[lot_id],
                    row[CREATED_AT],
                    row[EXPIRES_AT],
                )
            )
        return lots


def expiry_schedule(self: ProgramKernel, member_id: int) -> list[tuple[datetime, int]]:
    """(expiry instant, points) for every future expiry of the member, soonest first
    (read from the member's expiring lots only: never-expiring ones cost nothing here)."""
    with self._lock:
        self._begin_read()
        account = self._account(member_id, active=False)
        remaining = self._state.remaining
        schedule: dict[datetime, int] = {}
        for expires_at, lot_id in account.expiring:  # already in expiry order
            schedule[expires_at] = schedule.get(expires_at, 0) + remaining[lot_id]
        return list(schedule.items())


def award_usage(self: ProgramKernel, txn_id: int) -> AwardUsage:
    """What became of a credit: points used, expired, still available."""
    with self._lock:
        self._begin_read()
        row = _txn(self, txn_id)
        points = row[POINTS]
        if points <= 0 or row[STATUS] != _ROW_POSTED:
            return AwardUsage(0, 0, 0)
        st = self._state
        left = st.remaining.get(txn_id, 0)
        expired = st.expired_of.get(txn_id, 0)
        return AwardUsage(points - left - expired, expired, left)
