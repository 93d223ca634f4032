"""The points ledger: immutable transactions, per-member accounts and points lots.

`Transaction` is the public record: a NamedTuple with enum `kind` and `status`. A program
does not store Transactions, though: it stores *rows*, exact tuples of the same field
values in the same order with `kind` and `status` as their plain str values. CPython's
cyclic garbage collector untracks an exact tuple whose items are all untracked atoms (int,
str, None, datetime) the first time a collection sees it, but never a tuple subclass, nor a
tuple holding an enum member (an object with a `__dict__`). Stored as rows, a million
transactions cost a full collection nothing; as Transactions they were a million tracked
objects to walk every time. Rows become Transactions (`from_row`) only when handed out, and
Transactions become rows (`to_row`) when they enter the journal.

Lots: every posted credit opens a lot keyed by its transaction id. A member's live lots
are kept in consumption order: soonest expiry first, then oldest, never-expiring last
(expiring lots as (expires_at, id) pairs, never-expiring ones as bare ids).
"""

from __future__ import annotations

import enum
from bisect import insort
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import attrs

__all__ = [
    "Account",
    "AwardUsage",
    "Lot",
    "Row",
    "Transaction",
    "TxnKind",
    "TxnStatus",
    "from_row",
    "to_row",
]

NEVER = datetime.max.replace(tzinfo=UTC)
"""Sort key of a lot that never expires."""


class TxnKind(enum.StrEnum):
    EARN = "earn"
    """A manual credit."""
    AWARD = "award"
    """A credit from an earning rule (activity, order, referral)."""
    ADJUST = "adjust"
    """A manual correction, either sign."""
    SPEND = "spend"
    """A manual debit (a deduction)."""
    REDEEM = "redeem"
    """Points exchanged for a reward."""
    EXPIRE = "expire"
    """The remainder of one lot reaching its expiry instant."""
    CLAWBACK = "clawback"
    """Points taken back for a refunded or returned order."""
    SETTLE = "settle"
    """Later earnings paying off a pending deduction."""


class TxnStatus(enum.StrEnum):
    POSTED = "posted"
    PENDING = "pending"
    REJECTED = "rejected"


CREDIT_KINDS = frozenset({TxnKind.EARN, TxnKind.AWARD, TxnKind.ADJUST})
SPENDING_KINDS = frozenset({TxnKind.SPEND, TxnKind.REDEEM, TxnKind.ADJUST})


class Transaction(NamedTuple):
    """One immutable ledger entry; `points` is the signed change to the balance."""

    id: int
    member_id: int
    kind: TxnKind
    points: int
    status: TxnStatus
    created_at: datetime
    expires_at: datetime | None = None
    rule_id: int | None = None
    order_id: str | None = None
    reference: str | None = None
    description: str = ""
    source_id: int | None = None
    auto_approve_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    note: str | None = None
    """An internal note (never shown to the member)."""

    @property
    def is_credit(self) -> bool:
        return self.points > 0


Row = tuple[Any, ...]
"""A stored transaction: `Transaction`'s field values as an exact tuple, kind and status as
plain str (so the cyclic GC can untrack it; see the module docstring)."""

(
    ID,
    MEMBER_ID,
    KIND,
    POINTS,
    STATUS,
    CREATED_AT,
    EXPIRES_AT,
    RULE_ID,
    ORDER_ID,
    REFERENCE,
    DESCRIPTION,
    SOURCE_ID,
    AUTO_APPROVE_AT,
    RESOLVED_AT,
    RESOLVED_BY,
    NOTE,
) = range(16)
"""Positions of the fields in a row (and in a `Transaction`)."""
assert Transaction._fields[KIND] == "kind" and Transaction._fields[NOTE] == "note"
assert len(Transaction._fields) == NOTE + 1

_KIND_VALUE: dict[str, str] = {kind: kind.value for kind in TxnKind}
_STATUS_VALUE: dict[str, str] = {status: status.value for status in TxnStatus}
_KIND_OF: dict[str, TxnKind] = {kind.value: kind for kind in TxnKind}
_STATUS_OF: dict[str, TxnStatus] = {status.value: status for status in TxnStatus}
_tuple_new = tuple.__new__


def to_row(txn: Transaction) -> Row:
    """The row to store for `txn` (kind and status as their plain str values)."""
    row = list(txn)
    row[KIND] = _KIND_VALUE[txn.kind]
    row[STATUS] = _STATUS_VALUE[txn.status]
    return tuple(row)


def from_row(row: Row) -> Transaction:
    """The public `Transaction` of a stored row."""
    fields = list(row)
    fields[KIND] = _KIND_OF[row[KIND]]
    fields[STATUS] = _STATUS_OF[row[STATUS]]
    txn: Transaction = _tuple_new(Transaction, fields)
    return txn


class Lot(NamedTuple):
    """A read-only view of a live lot."""

    txn_id: int
    amount: int
    remaining: int
    created_at: datetime
    expires_at: datetime | None


class AwardUsage(NamedTuple):
    """What became of one credit: spent (or clawed back), expired, still available."""

    points_used: int
    points_expired: int
    available: int


@attrs.define(slots=True)
class Account:
    """A member's running totals; always equal to a fold of that member's transactions."""

    member_id: int
    disabled: bool = False
    available: int = 0
    pending: int = 0
    earned: int = 0
    spent: int = 0
    expired: int = 0
    clawed_back: int = 0
    debt: int = 0
    written_off: int = 0
    amount_spent: Decimal = Decimal(0)
    points_metric: int = 0
    """Credits less order clawbacks: the lifetime points-earned tier metric."""
    txn_ids: list[int] = attrs.field(factory=list)
    expiring: list[tuple[datetime, int]] = attrs.field(factory=list)
    """Live lots that expire, as (expires_at, txn id), soonest first then oldest."""
    perpetual: list[int] = attrs.field(factory=list)
    """Live lots that never expire, as txn ids, oldest first: consumed after `expiring`."""
    award_times: dict[int, list[datetime]] = attrs.field(factory=dict)
    tiers: dict[int, int | None] = attrs.field(factory=dict)
    tier_floors: dict[int, int] = attrs.field(factory=dict)
    metrics: dict[int, tuple[datetime | None, Decimal]] = attrs.field(factory=dict)
    last_credit_id: int | None = None
    """The latest posted credit other than a plain earn still live as a lot: read
    `newest_credit()` for the member's latest credit."""
    redeemed: int = 0
    """Points exchanged for rewards (part of `spent`)."""
    recovered: int = 0
    """Points taken by clawback and settlement transactions."""

    def open_lot(self, txn_id: int, expires_at: datetime | None) -> None:
        if expires_at is None:
            perpetual = self.perpetual
            if not perpetual or perpetual[-1] < txn_id:
                perpetual.append(txn_id)
            else:
                insort(perpetual, txn_id)
            return
        key = (expires_at, txn_id)
        lots = self.expiring
        if not lots or lots[-1] < key:
            lots.append(key)
        else:
            insort(lots, key)

    def newest_credit(self) -> int | None:
        """The member's latest posted credit (earn, award, positive adjust): the newer of
        `last_credit_id` and the newest live never-expiring lot. Plain earns are known
        only by their lot (see `State.post_plain_credit`), and a lot that is used up
        records itself in `last_credit_id` as it goes (`consume`)."""
        last = self.last_credit_id
        perpetual = self.perpetual
        if perpetual and (last is None or perpetual[-1] > last):
            return perpetual[-1]
        return last

    def lot_ids(self) -> list[int]:
        """Live lot ids in consumption order."""
        return [lot_id for _, lot_id in self.expiring] + self.perpetual

    def consume(self, points: int, remaining: dict[int, int]) -> int:
        """Take up to `points` from live lots in consumption order; return what was taken."""
        taken = 0
        for lots, keyed in ((self.expiring, True), (self.perpetual, False)):
            emptied = 0
            for entry in lots:
                if taken == points:
                    break
                lot_id: int = entry[1] if keyed else entry  # type: ignore[index,assignment]
                left = remaining[lot_id]
                part = min(left, points - taken)
                taken += part
                if part == left:
                    remaining[lot_id] = 0
                    emptied += 1
                else:
                    remaining[lot_id] = left - part
            if emptied:
                if not keyed:  # a used-up lot may be the newest credit: remember it
                    newest: int = lots[emptied - 1]  # type: ignore[assignment]
                    last = self.last_credit_id
                    if last is None or newest > last:
                        self.last_credit_id = newest
                del lots[:emptied]
            if taken == points:
                break
        self.available -= taken
        return taken

    def drop_lot(self, txn_id: int, expires_at: datetime) -> None:
        """Remove an expiring lot (at expiry)."""
        key = (expires_at, txn_id)
        lots = self.expiring
        if lots and lots[0] == key:
            del lots[0]
        else:
            lots.remove(key)
