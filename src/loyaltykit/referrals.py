"""Referrals: a member invites someone; both sides may be rewarded."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

__all__ = ["Referral", "ReferralRewards", "ReferralStatus"]


class ReferralStatus(enum.StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"


@attrs.frozen
class ReferralRewards:
    """What each side gets: points, an offer granted for free, or both."""

    sender_points: int = 0
    receiver_points: int = 0
    sender_offer_id: int | None = None
    receiver_offer_id: int | None = None


@attrs.frozen
class Referral:
    """The receiver is rewarded on creation; the sender when the receiver's first paid
    order carries the sender's referral code."""

    id: int
    sender_id: int
    receiver_email: str | None
    receiver_id: int | None
    code: str
    created_at: datetime
    status: ReferralStatus = ReferralStatus.PENDING
    completed_at: datetime | None = None
    order_id: str | None = None
