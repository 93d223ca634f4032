"""Reward offers (what points buy) and fulfillments (what a member received)."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from loyaltykit._validate import shown
from loyaltykit.errors import InvalidArgument
from loyaltykit.limits import MAX_POINTS

__all__ = [
    "REDEMPTION",
    "Fulfillment",
    "FulfillmentStatus",
    "PriceKind",
    "RewardOffer",
    "UsageStatus",
    "price_and_value",
]


REDEMPTION = "redemption"
"""The `Fulfillment.source` of a reward bought with points; every other source is free."""


class PriceKind(enum.StrEnum):
    FIXED = "fixed"
    """Costs `points_price` points and is worth `value`."""
    VARIABLE = "variable"
    """The member chooses how many points to spend: min..max in multiples of `step`."""


class FulfillmentStatus(enum.StrEnum):
    PENDING = "pending"
    ISSUED = "issued"
    CANCELLED = "cancelled"
    FAILED = "failed"


class UsageStatus(enum.StrEnum):
    UNUSED = "unused"
    USED = "used"
    UNTRACKED = "untracked"
    """The reward has no code, so its use cannot be observed."""


@attrs.frozen
class RewardOffer:
    id: int
    name: str
    price_kind: PriceKind = PriceKind.FIXED
    points_price: int = 0
    step: int = 1
    value_per_step: Decimal = Decimal(0)
    min_points: int | None = None
    max_points: int | None = None
    value: Decimal = Decimal(0)
    pool_id: int | None = None
    active: bool = True
    eligible_tiers: tuple[int, ...] = ()
    reward_lifetime: timedelta | None = None
    metadata: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Fulfillment:
    """One reward handed to a member; usage changes produce a new record, never an edit."""

    id: int
    member_id: int
    offer_id: int
    points: int
    value: Decimal
    code: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = None
    status: FulfillmentStatus = FulfillmentStatus.ISSUED
    usage: UsageStatus = UsageStatus.UNUSED
    used_at: datetime | None = None
    txn_id: int | None = None
    source: str = "redemption"


def price_and_value(offer: RewardOffer, points: int | None) -> tuple[int, Decimal]:
    """Points to charge and the reward's value, validating a variable offer's amount.

    A variable offer's value is (points // step) * value_per_step, so 500 points at a step
    of 100 worth $1 each is a $5 reward.
    """
    if offer.price_kind is PriceKind.FIXED:
        if points is not None and points != offer.points_price:
            raise InvalidArgument(
                "points", f"offer {offer.id} has a fixed price of {offer.points_price} points"
            )
        return offer.points_price, offer.value
    if points is None:
        raise InvalidArgument("points", f"offer {offer.id} has a variable price: points required")
    if isinstance(points, bool) or not isinstance(points, int) or not 0 < points <= MAX_POINTS:
        raise InvalidArgument(
            "points",
            f"points must be a positive integer up to {MAX_POINTS:,}, got {shown(points)}",
        )
    if offer.min_points is not None and points < offer.min_points:
        raise InvalidArgument("points", f"points {points} is below the minimum {offer.min_points}")
    if offer.max_points is not None and points > offer.max_points:
        raise InvalidArgument("points", f"points {points} is above the maximum {offer.max_points}")
    if points % offer.step:
        raise InvalidArgument("points", f"points {points} is not a multiple of {offer.step}")
    return points, offer.value_per_step * (points // offer.step)
