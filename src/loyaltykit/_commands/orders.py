"""Commands on shop orders: recording their latest state, returns, and the points
they earn or give back.

Each function is a method of `Program` (bound there by name, see `loyaltykit.program`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from loyaltykit import _validate as v
from loyaltykit._commands.ledger import check_cap, check_room, post_award
from loyaltykit._commands.referrals import complete_referral
from loyaltykit._kernel import ProgramKernel, _enum
from loyaltykit.errors import CapReached, InvalidArgument, OrderNotFound, OverReturn
from loyaltykit.events import FulfillmentUpdated, OrderRecorded
from loyaltykit.ledger import STATUS, TxnStatus
from loyaltykit.limits import MAX_POINTS, MAX_TOTAL_POINTS
from loyaltykit.orders import Order, OrderStatus
from loyaltykit.rewards import UsageStatus
from loyaltykit.rules import EarningRule, RuleKind, award_basis, points_for

ORDER_TRIGGER = "order"
"""Rules with this trigger are the ones `record_order` applies to paid orders."""

_ROW_PENDING = TxnStatus.PENDING.value

MAX_COUPONS = 100
"""Coupon codes one order update may carry."""


def record_order(
    self: ProgramKernel,
    external_id: str,
    *,
    member_id: int | None,
    amount: Decimal | int,
    status: OrderStatus,
    updated_at: datetime,
    created_at: datetime | None = None,
    coupons: Sequence[str] = (),
    subtotal: Decimal | int | None = None,
    grand_total: Decimal | int | None = None,
) -> Order:
    """Apply the latest state of an order from the shop.

    Semantics: an update whose `updated_at` is older than the last one seen is ignored;
    the same update twice changes nothing. A negative `amount` counts as 0. The first
    paid update of a member's order earns through the active rules whose trigger is
    "order"; a paid order whose amount later drops is a partial return of the
    difference, one whose amount grows earns on the difference. Refunded, deleted or
    unpaid-again orders claw back everything they still hold. A guest order (no
    member) earns nothing. Coupons mark matching reward codes used (an expired code
    stays unused, as `use_fulfillment` would refuse it) and may complete a referral (the
    member's first paid order). A refunded or deleted order is final.
    """
    with self._lock:
        now = self._begin()
        v.code(external_id, "external_id")
        status = _enum(OrderStatus, status, "status")
        money = max(v.money(amount, "amount", allow_negative=True), Decimal(0))
        updated = v.moment(updated_at, "updated_at")
        created = v.optional_moment(created_at, "created_at") or updated
        sub = v.money(subtotal, "subtotal", allow_negative=True) if subtotal is not None else None
        grand = (
            v.money(grand_total, "grand_total", allow_negative=True)
            if grand_total is not None
            else None
        )
        if isinstance(coupons, str):
            raise InvalidArgument("coupons", "coupons must be a list of codes")
        if not isinstance(coupons, Sequence):
            raise InvalidArgument("coupons", "coupons must be a list of codes")
        if len(coupons) > MAX_COUPONS:
            raise InvalidArgument("coupons", f"an order carries at most {MAX_COUPONS} coupons")
        codes = tuple(v.code(c, "coupons") for c in coupons)
        if member_id is not None:
            self._account(member_id)
        previous = self._state.orders.get(external_id)
        if previous is not None:
            if updated < previous.updated_at:
                return previous
            if previous.status in (OrderStatus.REFUNDED, OrderStatus.DELETED):
                return previous
            if previous.member_id != member_id and (previous.awarded or previous.txn_ids):
                raise InvalidArgument(
                    "member_id",
                    f"order {external_id!r} already earned for member {previous.member_id}",
                )
        base = previous or Order(
            external_id, member_id, money, OrderStatus.UNPAID, created, updated, now
        )
        order = attrs.evolve(
            base,
            member_id=member_id,
            amount=money,
            status=status,
            updated_at=updated,
            recorded_at=now,
            coupons=codes,
            subtotal=sub,
            grand_total=grand,
        )
        was_paid = previous is not None and previous.status is OrderStatus.PAID
        increase = Decimal(0)
        if was_paid and status is OrderStatus.PAID:
            assert previous is not None
            held = previous.remaining_amount
            if money < held:  # the shop lowered the order: a return of the difference
                order = attrs.evolve(
                    order,
                    amount=previous.amount,
                    returned_amount=previous.returned_amount + held - money,
                )
            else:
                increase = money - held
                order = attrs.evolve(order, amount=previous.amount + increase)
        if status is OrderStatus.PAID and order.paid_at is None:
            order = attrs.evolve(order, paid_at=now)
        v.money(order.amount, "amount")  # an increase must keep the order within range
        if order.member_id is not None and status is OrderStatus.PAID:
            earning = increase if was_paid else order.amount
            _check_order_range(self, order.member_id, earning, first=not was_paid)
        if previous is not None and attrs.evolve(order, recorded_at=previous.recorded_at) == (
            previous
        ):
            return previous
        self._emit(OrderRecorded(order))
        if was_paid and status is OrderStatus.PAID:
            assert previous is not None
            if order.returned_amount > previous.returned_amount:
                self._claw_to_target(order, now)
            elif increase and order.member_id is not None:
                _earn_for_order(self, order, increase, now, first=False)
        elif status is OrderStatus.PAID and order.member_id is not None:
            _earn_for_order(self, order, order.amount, now, first=True)
            _use_coupons(self, order, now)
            complete_referral(self, order, now)
        elif was_paid:
            _revoke(self, external_id, now)
        return self._state.orders[external_id]


def _order_rules(self: ProgramKernel, *, first: bool) -> list[EarningRule]:
    """The rules a paid order earns through: the active ones triggered by orders; a later
    increase of the order only feeds the per-amount (multiplier) ones."""
    return [
        rule
        for rule in self._state.rules.values()
        if rule.trigger == ORDER_TRIGGER
        and rule.active
        and (first or rule.kind is not RuleKind.FIXED)
    ]


def _check_order_range(
    self: ProgramKernel, member_id: int, amount: Decimal, *, first: bool
) -> None:
    """Refuse, before anything is written, a paid order whose awards would move more than
    `MAX_POINTS` or take the member's totals past `MAX_TOTAL_POINTS` at the member's tier
    multiplier now. (Should the order's first award lift the tier so that a later one
    passes the limit, `post_award` refuses it and the lock undoes the whole order.)"""
    account = self._state.accounts[member_id]
    if account.amount_spent + amount > MAX_TOTAL_POINTS:
        raise InvalidArgument(
            "amount",
            f"amount: {amount} more would take member {member_id}'s amount spent past "
            f"{MAX_TOTAL_POINTS:,}",
        )
    best = self._state.tier_multiplier(account)
    most = 0
    for rule in _order_rules(self, first=first):
        value = points_for(rule, amount, None, best)
        if value > MAX_POINTS:
            raise InvalidArgument(
                "amount",
                f"rule {rule.id} could award {value:,} points for this order, more than "
                f"{MAX_POINTS:,}",
            )
        most += value
    check_room(account, most, "amount")


def _earn_for_order(
    self: ProgramKernel, order: Order, amount: Decimal, now: datetime, first: bool
) -> None:
    """Award the order rules; a later increase only feeds the per-amount rules."""
    assert order.member_id is not None
    account = self._state.accounts[order.member_id]
    for rule in _order_rules(self, first=first):
        try:
            check_cap(self, account, rule, now)
        except CapReached:
            continue
        value = points_for(rule, amount, None, self._state.tier_multiplier(account))
        if value > 0:
            post_award(
                self,
                account,
                rule,
                value,
                now,
                order.external_id,
                f"order {order.external_id}",
                None,
                award_basis(rule, amount, None),
            )


def _use_coupons(self: ProgramKernel, order: Order, now: datetime) -> None:
    for code in order.coupons:
        fulfillment_id = self._state.by_code.get(code)
        if fulfillment_id is None:
            continue
        fulfillment = self._state.fulfillments[fulfillment_id]
        expired = fulfillment.expires_at is not None and fulfillment.expires_at <= now
        if fulfillment.usage is not UsageStatus.USED and not expired:
            self._emit(
                FulfillmentUpdated(
                    attrs.evolve(fulfillment, usage=UsageStatus.USED, used_at=now, updated_at=now)
                )
            )


def _revoke(self: ProgramKernel, external_id: str, now: datetime) -> None:
    """Reject the order's pending awards and claw back all it still holds."""
    for txn_id in self._state.orders[external_id].txn_ids:
        row = self._state.txns[txn_id - 1]
        if row[STATUS] == _ROW_PENDING:
            self._emit_resolution(row, False, now, "order revoked")
    order = self._state.orders[external_id]
    self._claw(order, order.outstanding, now)


def return_order(
    self: ProgramKernel,
    external_id: str,
    *,
    amount: Decimal | int | None = None,
    points: int | None = None,
) -> Order:
    """Return an order in full (no argument), in part by `amount` (clawback proportional
    to the points it earned) or by exactly `points`.

    OverReturn if the amount exceeds what is left of the order or the points exceed
    what it still holds. The clawback never exceeds what the order earned.
    """
    with self._lock:
        now = self._begin()
        v.code(external_id, "external_id")
        order = self._state.orders.get(external_id)
        if order is None:
            raise OrderNotFound(external_id)
        if amount is not None and points is not None:
            raise InvalidArgument("amount", "give either amount or points, not both")
        if order.status is not OrderStatus.PAID:
            raise OverReturn(f"order {external_id!r} is {order.status}; nothing to return")
        if amount is not None:
            money = v.money(amount, "amount")
            if money <= 0:
                raise InvalidArgument("amount", "returned amount must be positive")
            if money > order.remaining_amount:
                raise OverReturn(
                    f"returned amount {money} exceeds the {order.remaining_amount} left "
                    f"of order {external_id!r}"
                )
            if order.amount <= 0:
                raise InvalidArgument("amount", f"order {external_id!r} has no amount")
            updated = attrs.evolve(
                order, returned_amount=order.returned_amount + money, recorded_at=now
            )
            if updated.returned_amount >= order.amount:
                updated = attrs.evolve(updated, status=OrderStatus.REFUNDED)
            self._emit(OrderRecorded(updated))
            if updated.status is OrderStatus.REFUNDED:
                _revoke(self, external_id, now)
            else:
                self._claw_to_target(updated, now)
        elif points is not None:
            v.points(points)
            if points > order.outstanding:
                raise OverReturn(
                    f"{points} points is more than the {order.outstanding} order "
                    f"{external_id!r} still holds"
                )
            self._claw(order, points, now)
        else:
            self._emit(
                OrderRecorded(
                    attrs.evolve(
                        order,
                        status=OrderStatus.REFUNDED,
                        returned_amount=order.amount,
                        recorded_at=now,
                    )
                )
            )
            _revoke(self, external_id, now)
        return self._state.orders[external_id]


def order(self: ProgramKernel, external_id: str) -> Order:
    with self._lock:
        self._begin_read()
        found = self._state.orders.get(external_id)
        if found is None:
            raise OrderNotFound(external_id)
        return found


def orders(self: ProgramKernel, member_id: int | None = None) -> list[Order]:
    with self._lock:
        self._begin_read()
        return [
            o for o in self._state.orders.values() if member_id is None or o.member_id == member_id
        ]
