"""Smile wire shapes: core objects -> dicts exactly as the vendor docs print them.

Display-only attributes the core does not model (images, reward texts, a product's own
timestamps) come from the `metadata` of the core object; the keys are listed in
`OFFER_METADATA_KEYS` and docs/smile.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fakeservers.smile.backend import Activity, Identity
from loyaltykit import (
    EarningRule,
    Fulfillment,
    Member,
    PriceKind,
    Program,
    Referral,
    RewardOffer,
    RuleKind,
    Tier,
    TierChange,
    TierTrack,
    Transaction,
    TxnKind,
    Window,
)
from loyaltykit.rules import window_end, window_start

__all__ = [
    "OFFER_METADATA_KEYS",
    "activity",
    "customer",
    "customer_identity",
    "date_text",
    "earning_rule",
    "listed_reward_fulfillment",
    "points_product",
    "points_purchase",
    "points_settings",
    "points_transaction",
    "referral",
    "reward_fulfillment",
    "timestamp",
    "vip_tier",
    "vip_tier_change",
    "vip_tier_details",
]

JSON = dict[str, Any]
REFERRAL_URL = "http://i.refs.cc/{code}"
OFFER_METADATA_KEYS = (
    "exchange_description",
    "reward_id",
    "reward_description",
    "image_url",
    "reward_created_at",
    "reward_updated_at",
    "created_at",
    "updated_at",
    "action_text",
    "action_url",
    "usage_instructions",
    "terms_and_conditions",
)
"""Offer metadata read by this module (timestamps as datetimes or ISO strings)."""

ROLLING_DAYS = {Window.DAY: 1, Window.WEEK: 7, Window.MONTH: 30, Window.YEAR: 365}

DEFAULT_RULE_IMAGE = "https://platform-images.smilecdn.co/earning-rule.png"
DEFAULT_REWARD_IMAGE = "https://platform-images.smilecdn.co/reward.png"
DEFAULT_TIER_IMAGE = "https://platform-images.smilecdn.co/vip-tier.png"
"""What `image_url` reads when a rule, reward or VIP tier was created without one: the
schema says string (never null), as Smile always shows an image (A23)."""


def timestamp(moment: datetime | None) -> str | None:
    """`2017-04-04T15:10:42.030Z`: UTC, milliseconds, a `Z`."""
    if moment is None:
        return None
    # isoformat truncates to milliseconds as `microsecond // 1000` does; faster than strftime
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def date_text(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _meta_time(value: object) -> str | None:
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, str):
        try:
            return timestamp(datetime.fromisoformat(value))
        except ValueError:
            return None  # metadata is free-form; an unreadable time is shown as unknown
    return None


def _number(value: Decimal) -> int | float:
    """A JSON number: an integer when the Decimal is integral."""
    return int(value) if value == value.to_integral_value() else float(value)


# -- VIP -----------------------------------------------------------------------------


def vip_track(program: Program) -> TierTrack | None:
    """Smile has one VIP program: the tenant's first tier track."""
    tracks = program.tracks()
    return min(tracks, key=lambda t: t.id) if tracks else None


def vip_tier_id(program: Program, member: Member) -> int | None:
    track = vip_track(program)
    return member.tiers.get(track.id) if track is not None else None


def vip_tier(tier: Tier) -> JSON:
    return {
        "id": tier.id,
        "name": tier.name,
        "image_url": tier.metadata.get("image_url") or DEFAULT_TIER_IMAGE,
    }


def vip_tier_details(tier: Tier, offers: Mapping[int, RewardOffer], include: set[str]) -> JSON:
    """The schema's VipTier: id, name, image_url, milestone (+ perks, entry_rewards)."""
    body = vip_tier(tier)
    body["milestone"] = float(tier.threshold)
    if "perks" in include:
        body["perks"] = [{"name": str(name)} for name in tier.metadata.get("perks", ())]
    if "entry_rewards" in include:
        ids = tier.metadata.get("entry_reward_offer_ids", ())
        body["entry_rewards"] = [reward(offers[i]) for i in ids if i in offers]
    return body


def vip_status(program: Program, member: Member, include: set[str]) -> JSON:
    """The schema's vip_status block, computed from the core's tier state."""
    track = vip_track(program)
    if track is None:
        current = next_tier = None
        progress: Decimal | None = None
        period_end = None
    else:
        ladder = program.tiers(track.id)
        current_id = member.tiers.get(track.id)
        progress = program.tier_progress(member.id, track.id).value
        current = next((t for t in ladder if t.id == current_id), None)
        next_tier = next((t for t in ladder if t.threshold > (progress or Decimal(0))), None)
        if (
            next_tier is not None
            and current is not None
            and next_tier.threshold <= current.threshold
        ):
            next_tier = None
        period_end = _period_end(program, track)
    body: JSON = {
        "vip_tier_id": current.id if current else None,
        "vip_tier_expires_at": timestamp(period_end) if current else None,
        "progress_value": float(progress) if progress is not None else None,
        "current_vip_period_end": timestamp(period_end),
        "delta_to_retain_vip_tier": None,
        "next_vip_tier_id": next_tier.id if next_tier else None,
        "delta_to_next_vip_tier": float(next_tier.threshold - (progress or Decimal(0)))
        if next_tier
        else None,
    }
    if "vip_status.vip_tier" in include:
        body["vip_tier"] = vip_tier(current) if current else None
    if "vip_status.next_vip_tier" in include:
        body["next_vip_tier"] = vip_tier(next_tier) if next_tier else None
    return body


def _period_end(program: Program, track: TierTrack) -> datetime | None:
    """The last millisecond of the track's current calendar window (None for lifetime)."""
    if track.window is Window.LIFETIME:
        return None
    start = window_start(track.window, program.clock.now(), program.timezone)
    end = window_end(track.window, start) if start is not None else None
    return end - _MILLISECOND if end is not None else None


_MILLISECOND = timedelta(milliseconds=1)


# -- customers -------------------------------------------------------------------------


def referral_url(member: Member) -> str:
    """A seeded customer may carry the docs' URL in metadata; others derive it from the code."""
    override = member.profile.metadata.get("referral_url")
    if isinstance(override, str):
        return override
    return REFERRAL_URL.format(code=member.profile.referral_code)


def customer(program: Program, member: Member, include: Iterable[str] = ()) -> JSON:
    """The customer object (field order as in the reference)."""
    profile = member.profile
    wanted = set(include)
    body: JSON = {
        "id": member.id,
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "email": profile.email,
        "state": str(profile.state),
        "date_of_birth": date_text(profile.birthday),
        "points_balance": member.balance,
        "referral_url": referral_url(member),
        "vip_tier_id": vip_tier_id(program, member),
        "created_at": timestamp(profile.created_at),
        "updated_at": timestamp(profile.updated_at),
    }
    if "vip_tier" in wanted:
        tier_id = body["vip_tier_id"]
        body["vip_tier"] = vip_tier(program.tier(tier_id)) if tier_id is not None else None
    if wanted & {"vip_status", "vip_status.vip_tier", "vip_status.next_vip_tier"}:
        body["vip_status"] = vip_status(program, member, wanted)
    return body


def customer_identity(identity: Identity) -> JSON:
    return {
        "id": identity.id,
        "first_name": identity.first_name,
        "last_name": identity.last_name,
        "email": identity.email,
        "distinct_id": identity.distinct_id,
        "properties": identity.properties,
        "customer_id": identity.customer_id,
    }


# -- points products, rewards, fulfillments, purchases --------------------------------


def reward(offer: RewardOffer) -> JSON:
    """The reward a points product gives (the core's offer seen from the reward side)."""
    meta = offer.metadata
    return {
        "id": meta.get("reward_id", offer.id),
        "name": offer.name,
        "description": meta.get("reward_description"),
        "image_url": meta.get("image_url") or DEFAULT_REWARD_IMAGE,
        "created_at": _meta_time(meta.get("reward_created_at", meta.get("created_at"))),
        "updated_at": _meta_time(meta.get("reward_updated_at", meta.get("updated_at"))),
    }


def points_product(offer: RewardOffer, label: tuple[str, str]) -> JSON:
    meta = offer.metadata
    fixed = offer.price_kind is PriceKind.FIXED
    if fixed:
        described = f"{offer.points_price} {label[0] if offer.points_price == 1 else label[1]}"
    else:
        described = f"{offer.step} {label[1]} = ${_number(offer.value_per_step)} off"
    return {
        "id": offer.id,
        "exchange_type": str(offer.price_kind),
        "exchange_description": meta.get("exchange_description", described),
        "points_price": offer.points_price if fixed else None,
        "variable_points_step": None if fixed else offer.step,
        "variable_points_step_reward_value": None if fixed else _number(offer.value_per_step),
        "variable_points_min": None if fixed else offer.min_points,
        "variable_points_max": None if fixed else offer.max_points,
        "reward": reward(offer),
        "created_at": _meta_time(meta.get("created_at")),
        "updated_at": _meta_time(meta.get("updated_at", meta.get("created_at"))),
    }


def reward_fulfillment(fulfillment: Fulfillment, offer: RewardOffer) -> JSON:
    """The schema's RewardFulfillment (embedded in purchases and referrals): the reference's
    12 keys plus `customer_id`, `fulfillment_status` and `usage_status` (A15), in the
    order of the list-reward-fulfillments document."""
    meta = offer.metadata
    return {
        "id": fulfillment.id,
        "name": offer.name,
        "code": fulfillment.code,
        "customer_id": fulfillment.member_id,
        "fulfillment_status": str(fulfillment.status),
        "image_url": meta.get("image_url") or DEFAULT_REWARD_IMAGE,
        "action_text": meta.get("action_text"),
        "action_url": meta.get("action_url"),
        "usage_instructions": meta.get("usage_instructions"),
        "terms_and_conditions": meta.get("terms_and_conditions"),
        "expires_at": timestamp(fulfillment.expires_at),
        "usage_status": str(fulfillment.usage),
        "used_at": timestamp(fulfillment.used_at),
        "created_at": timestamp(fulfillment.created_at),
        "updated_at": timestamp(fulfillment.updated_at),
    }


def listed_reward_fulfillment(fulfillment: Fulfillment, offer: RewardOffer) -> JSON:
    """An item of `GET /v1/reward_fulfillments`: the same object with `customer_id` a
    string, as the primary list document has it (A6)."""
    body = reward_fulfillment(fulfillment, offer)
    body["customer_id"] = str(fulfillment.member_id)
    return body


def points_purchase(fulfillment: Fulfillment, offer: RewardOffer) -> JSON:
    """A purchase is the fulfillment a redemption produced, seen from the points side."""
    return {
        "id": fulfillment.id,
        "customer_id": fulfillment.member_id,
        "points_product_id": offer.id,
        "points_spent": fulfillment.points,
        "reward_fulfillment": reward_fulfillment(fulfillment, offer),
        "created_at": timestamp(fulfillment.created_at),
        "updated_at": timestamp(fulfillment.updated_at),
    }


# -- points transactions, settings, rules, activities ----------------------------------


def transaction_description(txn: Transaction, offers: Mapping[int, RewardOffer]) -> str:
    """Redemptions read as in the reference ("Spent points on reward - $5 off")."""
    if txn.kind is TxnKind.REDEEM and txn.reference and txn.reference.startswith("offer:"):
        offer = offers.get(int(txn.reference.split(":", 1)[1]))
        if offer is not None:
            return f"Spent points on reward - {offer.name}"
    return txn.description


def points_transaction(txn: Transaction, offers: Mapping[int, RewardOffer]) -> JSON:
    created = timestamp(txn.created_at)
    return {
        "id": txn.id,
        "customer_id": txn.member_id,
        "points_change": txn.points,
        "description": transaction_description(txn, offers),
        "internal_note": txn.note,
        "created_at": created,
        "updated_at": created if txn.resolved_at is None else timestamp(txn.resolved_at),
    }


def points_settings(label: tuple[str, str]) -> JSON:
    return {"points_label": {"one": label[0], "other": label[1]}}


def earning_rule(rule: EarningRule) -> JSON:
    meta = rule.metadata
    if rule.kind is RuleKind.MULTIPLIER:
        value: JSON = {
            "type": "variable",
            "variable": {"value": float(rule.multiplier), "per_amount": 1.0},
        }
    else:
        value = {"type": "fixed", "fixed": {"value": float(rule.points)}}
    limit: JSON | None = None
    if rule.cap is not None:
        if rule.cap.window is Window.LIFETIME:
            limit = {"max": rule.cap.max_awards, "type": "lifetime"}
        else:
            days = ROLLING_DAYS[rule.cap.window]
            limit = {
                "max": rule.cap.max_awards,
                "type": "rolling",
                "rolling": {"unit": "day", "unit_count": days},
            }
    return {
        "id": rule.id,
        "name": rule.name,
        "image_url": meta.get("image_url") or DEFAULT_RULE_IMAGE,
        "action_text": meta.get("action_text"),
        "action_url": meta.get("action_url"),
        "restricted_to_vip_tier_ids": list(meta.get("restricted_to_vip_tier_ids", ())),
        "reward": {"type": "points"},
        "reward_value": value,
        "earning_limit": limit,
    }


def activity(record: Activity) -> JSON:
    return {
        "id": record.id,
        "customer_id": record.customer_id,
        "token": record.token,
        "properties": record.properties,
        "distinct_id": record.distinct_id,
        "created_on_origin_at": timestamp(record.created_on_origin_at),
        "updated_on_origin_at": timestamp(record.updated_on_origin_at),
        "created_at": timestamp(record.created_at),
        "updated_at": timestamp(record.updated_at),
    }


# -- referrals and tier changes (embedded objects) -------------------------------------


def referral(program: Program, record: Referral) -> JSON:
    """The referral object; rewards are the fulfillments granted for it, when any."""
    receiver = program.member(record.receiver_id) if record.receiver_id is not None else None
    offers = {o.id: o for o in program.offers()}

    def side(member_id: int | None, source: str) -> JSON | None:
        for f in program.fulfillments(member_id):
            if member_id is not None and f.source == source and f.offer_id in offers:
                return reward_fulfillment(f, offers[f.offer_id])
        return None

    completed = record.completed_at is not None
    return {
        "id": record.id,
        "receiver_customer": customer(program, receiver) if receiver and completed else None,
        "receiver_customer_email": record.receiver_email,
        "receiver_reward_fulfillment": side(record.receiver_id, "referral receiver"),
        "sender_customer": customer(program, program.member(record.sender_id)),
        "sender_reward_fulfillment": side(record.sender_id, "referral sender")
        if completed
        else None,
        "created_at": timestamp(record.created_at),
        "updated_at": timestamp(record.completed_at or record.created_at),
    }


def vip_tier_change(program: Program, change_id: int, change: TierChange) -> JSON:
    def tier_or_none(tier_id: int | None) -> JSON | None:
        return vip_tier(program.tier(tier_id)) if tier_id is not None else None

    current = tier_or_none(change.to_tier)
    return {
        "id": change_id,
        "previous_vip_tier": tier_or_none(change.from_tier),
        "current_vip_tier": current,
        "description": f"Achieved {current['name']}" if current else "Left the VIP program",
    }
