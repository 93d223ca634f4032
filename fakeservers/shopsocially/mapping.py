"""Vendor vocabulary <-> core objects: string ids, enums, and derived statuses.

ShopSocially names activities, redemptions and levels by merchant-chosen strings; the core
numbers everything. The vendor string lives in the core object's `metadata`, so snapshots
and replays of a program carry it, and lookups scan the (few) configured objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from fakeservers.shopsocially import errors, wire
from loyaltykit import (
    Approval,
    EarningRule,
    Program,
    RewardOffer,
    Tier,
    TierTrack,
    Transaction,
    TxnKind,
    TxnStatus,
    Window,
)
from loyaltykit.errors import OfferNotFound, RuleNotFound, TierNotFound

__all__ = [
    "APPROVAL_METHODS",
    "INTERVALS",
    "LEVEL_TYPES",
    "LISTED_KINDS",
    "approval_method",
    "auto_approval_at",
    "find_level",
    "find_offer",
    "find_rule",
    "level_track",
    "levels",
    "track_named",
    "transaction_type",
]

ACTIVITY_KEY = "activity_id"
REDEMPTION_KEY = "redemption_id"
LEVEL_KEY = "level_id"

APPROVAL_METHODS: dict[str, Approval] = {
    "immediate": Approval.IMMEDIATE,
    "manual": Approval.MANUAL,
    "monthly": Approval.DELAYED,
}
_APPROVAL_NAMES = {value: key for key, value in APPROVAL_METHODS.items()}

INTERVALS: dict[str, Window] = {window.value: window for window in Window}

# level_type -> (track name, window of the points-earned metric)
LEVEL_TYPES: dict[str, Window] = {"period": Window.YEAR, "lifetime": Window.LIFETIME}
_TRACK_NAMES = {"period": "ShopSocially period levels", "lifetime": "ShopSocially lifetime levels"}


def parse_choice(value: str | None, choices: dict[str, object]) -> str:
    """One of `choices` (case-insensitive; the docs' examples also say `immediately`)."""
    if value is None:
        raise errors.ApiError(400, errors.MISSING_PARAMETERS)
    text = value.strip().lower()
    if text == "immediately":
        text = "immediate"
    elif text == "manually":
        text = "manual"
    if text not in choices:
        raise errors.ApiError(400, errors.INVALID_PARAMETERS)
    return text


def approval_method(rule: EarningRule) -> str:
    return _APPROVAL_NAMES[rule.approval]


def auto_approval_at(created: datetime) -> datetime:
    """`monthly` approval: due one calendar month after the award (the 2017 return example
    shows approval on 15-Apr and auto_approval_date 15-May)."""
    return wire.next_month(created)


def find_rule(program: Program, activity_id: str) -> EarningRule:
    for rule in program.rules():
        if rule.metadata.get(ACTIVITY_KEY) == activity_id:
            return rule
    raise RuleNotFound(activity_id)


def find_offer(program: Program, redemption_id: str) -> RewardOffer:
    for offer in program.offers():
        if offer.metadata.get(REDEMPTION_KEY) == redemption_id:
            return offer
    raise OfferNotFound(redemption_id)


def level_track(program: Program, level_type: str, *, create: bool = False) -> TierTrack | None:
    """The core track holding levels of `level_type`, made on first use when `create`."""
    track = track_named(program.tracks(), level_type)
    if track is not None or not create:
        return track
    return program.add_track(name=_TRACK_NAMES[level_type], window=LEVEL_TYPES[level_type])


def track_named(tracks: Iterable[TierTrack], level_type: str) -> TierTrack | None:
    """The first of `tracks` holding levels of `level_type` (one read of the tracks can
    serve both level types)."""
    name = _TRACK_NAMES[level_type]
    return next((track for track in tracks if track.name == name), None)


def level_type_of(program: Program, tier: Tier) -> str:
    track = program.track(tier.track_id)
    for level_type, name in _TRACK_NAMES.items():
        if track.name == name:
            return level_type
    return "period"


def levels(program: Program) -> list[Tier]:
    """Every level of both tracks, period first, each by ascending threshold."""
    found: list[Tier] = []
    for level_type in LEVEL_TYPES:
        track = level_track(program, level_type)
        if track is not None:
            found.extend(program.tiers(track.id))
    return found


def find_level(program: Program, level_id: str) -> Tier:
    for tier in levels(program):
        if tier.metadata.get(LEVEL_KEY) == level_id:
            return tier
    raise TierNotFound(level_id)


LISTED_KINDS = frozenset(set(TxnKind) - {TxnKind.EXPIRE, TxnKind.SETTLE})
"""Kinds with a `transaction_type`: the ones the transaction lists show."""


def transaction_type(txn: Transaction) -> str | None:
    """award / redeem / deduct; None for bookkeeping entries the vendor never lists
    (expiry shows as an award's `points_expired`, settlement as a finished deduction)."""
    kind = txn.kind
    if kind in (TxnKind.AWARD, TxnKind.EARN) or (kind is TxnKind.ADJUST and txn.points > 0):
        return "award"
    if kind is TxnKind.REDEEM:
        return "redeem"
    if kind in (TxnKind.SPEND, TxnKind.CLAWBACK) or kind is TxnKind.ADJUST:
        return "deduct"
    return None


SYSTEM_RESOLVERS = frozenset({"auto", "order revoked"})
"""`resolved_by` values the core writes itself (delayed approval; a returned order's
pending awards): those read as auto_approved / auto_rejected."""


def award_base_status(txn: Transaction) -> str:
    """The stored status of an award, before usage (exhausted / expired) is considered."""
    if txn.status is TxnStatus.PENDING:
        return "pending"
    automatic = txn.resolved_at is None or (txn.resolved_by or "") in SYSTEM_RESOLVERS
    if txn.status is TxnStatus.REJECTED:
        return "auto_rejected" if automatic else "rejected"
    return "auto_approved" if automatic else "approved"


def offer_open_to(program: Program, offer: RewardOffer, member_tiers: set[int],
                  now: datetime) -> bool:
    """The 2017 page's `is_still_valid`: active, open to the member's levels, codes left and
    not expired. (A read-side mirror of the core's redeem checks; see docs/shopsocially.md.)"""
    if not offer.active:
        return False
    if offer.eligible_tiers and not set(offer.eligible_tiers) & member_tiers:
        return False
    if offer.pool_id is None:
        return True
    pool = program.pool(offer.pool_id)
    if pool.expires_at is not None and now >= pool.expires_at:
        return False
    return program.pool_remaining(offer.pool_id) != 0
