"""Tier tracks (VIP levels): thresholds on a metric, evaluated into a member's tier."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from loyaltykit.rules import Window

__all__ = ["Metric", "Tier", "TierChange", "TierProgress", "TierTrack", "tier_for"]


class Metric(enum.StrEnum):
    POINTS_EARNED = "points_earned"
    """Points credited (awards, earns, positive adjustments) less order clawbacks."""
    AMOUNT_SPENT = "amount_spent"
    """Money of paid orders less returns and refunds."""


@attrs.frozen
class TierTrack:
    """One independent ladder of tiers; a program may run several (period and lifetime)."""

    id: int
    name: str
    metric: Metric = Metric.POINTS_EARNED
    window: Window = Window.LIFETIME


@attrs.frozen
class Tier:
    id: int
    track_id: int
    name: str
    threshold: Decimal
    multiplier: Decimal = Decimal(1)
    metadata: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class TierChange:
    """The record written every time a member's tier on a track changes."""

    member_id: int
    track_id: int
    from_tier: int | None
    to_tier: int | None
    at: datetime
    reason: str


@attrs.frozen
class TierProgress:
    """Where a member stands on one track: the metric so far in the current window."""

    track_id: int
    value: Decimal
    tier_id: int | None
    next_tier_id: int | None
    to_next_tier: Decimal | None
    period_start: datetime | None
    period_end: datetime | None
    """First instant after the current window (None for a lifetime track)."""


def tier_for(tiers: Sequence[Tier], value: Decimal, floor: Tier | None) -> Tier | None:
    """The highest tier whose threshold `value` reaches, never below a manual floor.

    `tiers` must be sorted by threshold (then id).
    """
    reached: Tier | None = None
    for tier in tiers:
        if value >= tier.threshold:
            reached = tier
        else:
            break
    if floor is not None and (reached is None or _rank(floor) > _rank(reached)):
        return floor
    return reached


def _rank(tier: Tier) -> tuple[Decimal, int]:
    return (tier.threshold, tier.id)
