"""`POST /v1/events`: order and customer events from a custom platform, parsed into core calls.

Topics and payloads follow smile-order-object.txt and Smile's custom-platform guide; the
order rules (paid earns, refunded revokes, guest earns nothing, coupons, referrals,
ordering by `external_updated_at`) are all `Program.record_order`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from fakeservers._http import (
    ParseError,
    read_datetime,
    read_identifier,
    read_money,
    read_object,
    read_str,
)
from fakeservers.smile.backend import SmileBackend
from loyaltykit import Member, MemberNotFound, OrderStatus, Program
from loyaltykit.limits import MAX_CODE

__all__ = ["TOPICS", "apply_event"]

TOPICS = ("order/updated", "order/deleted", "customer/updated", "customer/deleted")
PAYMENT_STATUSES = {"paid": OrderStatus.PAID, "refunded": OrderStatus.REFUNDED}


def apply_event(backend: SmileBackend, topic: str, data: Mapping[str, Any]) -> None:
    """One event is one unit: an order that creates its customer and is then refused
    leaves no customer behind."""
    program = backend.program
    with program.atomic():
        _apply(program, topic, data)


def _apply(program: Program, topic: str, data: Mapping[str, Any]) -> None:
    if topic == "customer/updated":
        upsert_customer(program, data, "event.data")
    elif topic == "customer/deleted":
        xid = _external_id(data, "event.data")
        program.remove_member(program.member_by_external_id(xid).id)
    elif topic == "order/updated":
        order_updated(program, data)
    else:
        order_deleted(program, data)


def _external_id(data: Mapping[str, Any], where: str) -> str:
    text = read_identifier(data, "external_id", required=True, label=f"{where}.external_id")
    assert text is not None
    return text


def upsert_customer(program: Program, data: Mapping[str, Any], where: str) -> Member:
    """Find the customer by external id, then by email; update its profile or create it."""
    xid = _external_id(data, where)
    email = read_str(data, "email", label=f"{where}.email")
    names = {
        field: read_str(data, field, label=f"{where}.{field}")
        for field in ("first_name", "last_name")
    }
    read_datetime(data, "external_created_at", label=f"{where}.external_created_at")
    read_datetime(data, "external_updated_at", label=f"{where}.external_updated_at")
    changes: dict[str, Any]
    try:
        member_id = program.member_by_external_id(xid).id
        changes = {"email": email} if email is not None else {}
    except MemberNotFound:
        by_email = _by_email(program, email)
        if by_email is None:
            return program.add_member(
                email=email,
                external_id=xid,
                first_name=names["first_name"],
                last_name=names["last_name"],
            )
        member_id, changes = by_email.id, {"external_id": xid}
    changes.update({k: v for k, v in names.items() if v is not None})
    return program.update_member(member_id, **changes)


def _by_email(program: Program, email: str | None) -> Member | None:
    if email is None:
        return None
    try:
        return program.member_by_email(email)
    except MemberNotFound:
        return None


def order_updated(program: Program, data: Mapping[str, Any]) -> None:
    xid = _external_id(data, "event.data")
    where = "event.data"
    amounts = {
        name: read_money(data, name, label=f"{where}.{name}")
        for name in ("rewardable_total", "subtotal", "grand_total")
    }
    status_text = data.get("payment_status")
    if status_text is None:
        status = OrderStatus.UNPAID
    elif isinstance(status_text, str) and status_text in PAYMENT_STATUSES:
        status = PAYMENT_STATUSES[status_text]
    else:
        raise ParseError(
            f"{where}.payment_status",
            "invalid",
            f"{where}.payment_status must be paid, refunded or null",
        )
    created = read_datetime(data, "external_created_at", label=f"{where}.external_created_at")
    updated = read_datetime(data, "external_updated_at", label=f"{where}.external_updated_at")
    coupons = _coupons(data.get("coupons"), f"{where}.coupons")
    customer = read_object(data, "customer", label=f"{where}.customer")
    member_id = upsert_customer(program, customer, f"{where}.customer").id if customer else None
    amount = amounts["rewardable_total"]
    if amount is None:
        amount = amounts["grand_total"] if amounts["grand_total"] is not None else Decimal(0)
    program.record_order(
        xid,
        member_id=member_id,
        amount=amount,
        status=status,
        updated_at=updated or created or program.clock.now(),
        created_at=created,
        coupons=coupons,
        subtotal=amounts["subtotal"],
        grand_total=amounts["grand_total"],
    )


def order_deleted(program: Program, data: Mapping[str, Any]) -> None:
    """Deleting an order cancels what it earned (the core's DELETED status)."""
    xid = _external_id(data, "event.data")
    order = program.order(xid)
    program.record_order(
        xid,
        member_id=order.member_id,
        amount=order.amount,
        status=OrderStatus.DELETED,
        updated_at=max(order.updated_at, program.clock.now()),
        created_at=order.created_at,
        coupons=order.coupons,
    )


def _coupons(raw: object, label: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ParseError(label, "invalid", f'{label} must be a list of {{"code": ...}} objects')
    codes = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ParseError(f"{label}[{index}]", "invalid", f"{label}[{index}] must be an object")
        code = read_str(
            item, "code", required=True, label=f"{label}[{index}].code", max_length=MAX_CODE
        )
        assert code is not None
        codes.append(code)
    return tuple(codes)
