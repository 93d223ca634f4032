"""Orders: a paid order earns, a refund revokes, a partial return claws back in proportion."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import attrs

__all__ = ["ClawbackPolicy", "Order", "OrderStatus", "clawback_target"]


class OrderStatus(enum.StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    REFUNDED = "refunded"
    DELETED = "deleted"


class ClawbackPolicy(enum.StrEnum):
    """What to do when points to claw back were already spent."""

    NEGATIVE_BALANCE = "negative_balance"
    """The balance goes below zero; later earnings pay it back first."""
    PENDING_DEDUCTION = "pending_deduction"
    """The balance stops at zero; the rest is a pending deduction settled by later earnings."""
    WRITE_OFF = "write_off"
    """The balance stops at zero; the rest is written off and forgotten."""


@attrs.frozen
class Order:
    """The latest known state of an order, as a new record at every change."""

    external_id: str
    member_id: int | None
    amount: Decimal
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    recorded_at: datetime
    subtotal: Decimal | None = None
    grand_total: Decimal | None = None
    coupons: tuple[str, ...] = ()
    awarded: int = 0
    """Points credited (or pending) for this order."""
    clawed_back: int = 0
    """Points revoked for this order: taken, owed or written off."""
    returned_amount: Decimal = Decimal(0)
    pending_deduction: int = 0
    """Part of the clawback that could not be taken because the points were spent."""
    txn_ids: tuple[int, ...] = ()
    paid_at: datetime | None = None
    """When the order was first seen paid: the period its amount and points count in."""

    @property
    def remaining_amount(self) -> Decimal:
        return self.amount - self.returned_amount

    @property
    def outstanding(self) -> int:
        """Points of this order that can still be clawed back."""
        return self.awarded - self.clawed_back


def clawback_target(awarded: int, amount: Decimal, returned_total: Decimal) -> int:
    """Total points to have clawed back once `returned_total` of `amount` came back.

    Computed on the cumulative return so that rounding never adds up across several
    partial returns, and a return of the whole amount claws back exactly what was awarded.
    """
    if amount <= 0 or returned_total >= amount:
        return awarded
    share = Decimal(awarded) * returned_total / amount
    return min(awarded, int(share.to_integral_value(rounding=ROUND_HALF_UP)))
