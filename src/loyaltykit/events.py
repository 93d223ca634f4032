"""The journal's vocabulary: every change to a program is one of these immutable events.

Ledger entries (`Transaction`) are events too; the rest are frozen attrs classes. State is
a fold of the journal (see `state.py`), so replaying these gives back the same program.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from loyaltykit.coupons import CouponPool
from loyaltykit.ledger import Transaction
from loyaltykit.members import MemberProfile
from loyaltykit.orders import Order
from loyaltykit.referrals import Referral, ReferralRewards
from loyaltykit.rewards import Fulfillment, RewardOffer
from loyaltykit.rules import EarningRule
from loyaltykit.tiers import Tier, TierTrack

__all__ = [
    "AwardResolved",
    "CodesAdded",
    "Event",
    "FulfillmentUpdated",
    "KeyRecorded",
    "MemberRecorded",
    "OfferDefined",
    "OrderRecorded",
    "PeriodRolled",
    "PoolDefined",
    "ReferralRecorded",
    "ReferralRewardsSet",
    "RewardIssued",
    "RuleDefined",
    "Shortfall",
    "TierDefined",
    "TierFloorSet",
    "TrackDefined",
]


@attrs.frozen
class RuleDefined:
    rule: EarningRule
    at: datetime


@attrs.frozen
class PoolDefined:
    pool: CouponPool
    at: datetime


@attrs.frozen
class CodesAdded:
    pool_id: int
    codes: tuple[str, ...]
    at: datetime


@attrs.frozen
class OfferDefined:
    offer: RewardOffer
    at: datetime


@attrs.frozen
class TrackDefined:
    track: TierTrack
    at: datetime


@attrs.frozen
class TierDefined:
    tier: Tier
    at: datetime


@attrs.frozen
class ReferralRewardsSet:
    rewards: ReferralRewards
    at: datetime


@attrs.frozen
class MemberRecorded:
    """A member was added or its profile changed (the whole new profile)."""

    profile: MemberProfile


@attrs.frozen
class TierFloorSet:
    """A manual tier assignment: the member never falls below it on that track."""

    member_id: int
    track_id: int
    tier_id: int | None
    at: datetime


@attrs.frozen
class AwardResolved:
    """A pending award approved (opening its lot) or rejected; at most once per award."""

    txn_id: int
    approved: bool
    at: datetime
    by: str
    expires_at: datetime | None


@attrs.frozen
class Shortfall:
    """Clawback that could not be taken because the points were already spent."""

    member_id: int
    order_id: str | None
    points: int
    at: datetime


@attrs.frozen
class RewardIssued:
    fulfillment: Fulfillment
    pool_id: int | None


@attrs.frozen
class FulfillmentUpdated:
    fulfillment: Fulfillment


@attrs.frozen
class OrderRecorded:
    order: Order


@attrs.frozen
class ReferralRecorded:
    referral: Referral


@attrs.frozen
class PeriodRolled:
    """A period tier track's window ended for a member: its metric starts again at zero."""

    member_id: int
    track_id: int
    at: datetime


@attrs.frozen
class KeyRecorded:
    """An idempotency key and what it produced, so a retry returns the first result."""

    key: str
    fingerprint: str
    ref: str


Event = (
    Transaction
    | RuleDefined
    | PoolDefined
    | CodesAdded
    | OfferDefined
    | TrackDefined
    | TierDefined
    | ReferralRewardsSet
    | MemberRecorded
    | TierFloorSet
    | AwardResolved
    | Shortfall
    | RewardIssued
    | FulfillmentUpdated
    | OrderRecorded
    | ReferralRecorded
    | PeriodRolled
    | KeyRecorded
)
EVENT_TYPES: tuple[type, ...] = Event.__args__
