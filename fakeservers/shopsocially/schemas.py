"""Core objects -> ShopSocially wire dicts, with the keys the docs show for each function.

Keys are written out per shape (not generated) so a reader can hold them against the
docs. Ids go out as strings (the vendor's are 24-hex ObjectIds; ours are the core's
numbers in decimal), points as ints, money as JSON numbers, times as `14-Jan-2016 06:33:22`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from fakeservers.shopsocially import mapping, wire
from loyaltykit import (
    EarningRule,
    Fulfillment,
    Member,
    MemberState,
    Order,
    Program,
    RewardOffer,
    RuleKind,
    Tier,
    Transaction,
    TxnKind,
    TxnStatus,
)
from loyaltykit.errors import FulfillmentNotFound, RuleNotFound

__all__ = ["Render"]

_IMG = "https://fake.shopsocially.invalid/img/{}.png"
_DASHBOARD = "https://fake.shopsocially.invalid/loyalty/{}/user/{}/dashboard"


class Render:
    """Renders one tenant's objects; caches lookups for the length of one response."""

    def __init__(self, program: Program, partner_id: str) -> None:
        self.program = program
        self.partner_id = partner_id
        self._rules: dict[int, EarningRule | None] = {}
        self._fulfillments: dict[int, Fulfillment | None] = {}
        self._members: dict[int, Member] = {}

    def remember(self, member: Member, rule: EarningRule) -> None:
        """Objects the operation already looked up (an award's member and rule), so the
        response does not look them up again. Only profiles and rules are read from them,
        which no award changes."""
        self._members[member.id] = member
        self._rules[rule.id] = rule

    # --- lookups -------------------------------------------------------------------------
    def _rule(self, rule_id: int | None) -> EarningRule | None:
        if rule_id is None:
            return None
        if rule_id not in self._rules:
            self._rules[rule_id] = _rule_or_none(self.program, rule_id)
        return self._rules[rule_id]

    def _fulfillment(self, txn_id: int) -> Fulfillment | None:
        if txn_id not in self._fulfillments:
            try:
                found: Fulfillment | None = self.program.fulfillment_by_transaction(txn_id)
            except FulfillmentNotFound:
                found = None
            self._fulfillments[txn_id] = found
        return self._fulfillments[txn_id]

    def _member(self, member_id: int) -> Member:
        member = self._members.get(member_id)
        if member is None:
            member = self._members[member_id] = self.program.member(member_id)
        return member

    def _level_ids(self, member: Member) -> tuple[Tier | None, Tier | None]:
        found: list[Tier | None] = []
        tracks = self.program.tracks()
        for level_type in ("period", "lifetime"):
            track = mapping.track_named(tracks, level_type)
            tier_id = member.tiers.get(track.id) if track is not None else None
            found.append(self.program.tier(tier_id) if tier_id is not None else None)
        return found[0], found[1]

    # --- activities, redemptions, levels --------------------------------------------------
    def activity(self, rule: EarningRule) -> dict[str, Any]:
        meta = rule.metadata
        lifetime = rule.points_lifetime
        return {
            "id": str(rule.id),
            "merchant_id": self.partner_id,
            "activity_id": meta.get(mapping.ACTIVITY_KEY),
            "activity_name": rule.name,
            "activity_description": meta.get("activity_description", ""),
            "activity_type": "bonus_multiplier" if rule.kind is RuleKind.MULTIPLIER else "fixed",
            "approval_method": mapping.approval_method(rule),
            "bonus_multiplier": wire.decimal_to_wire(rule.multiplier),
            "points_per_activity": rule.points,
            "max_award_frequency": rule.cap.max_awards if rule.cap is not None else 0,
            "max_award_frequency_interval": (
                rule.cap.window.value if rule.cap is not None
                else meta.get("max_award_frequency_interval", "lifetime")
            ),
            "points_expiration_period": lifetime.days if lifetime is not None else 0,
            "is_active": rule.active,
            "is_sale_activity": bool(meta.get("is_sale_activity", False)),
            "qualified_points": bool(meta.get("qualified_points", True)),
            "show_activity_in_user_dashboard": bool(
                meta.get("show_activity_in_user_dashboard", True)
            ),
            "ss_internal": False,
            "terms_and_conditions": meta.get("terms_and_conditions", ""),
            "points_earning_url": meta.get("points_earning_url"),
            "loyalty_activity_img": _IMG.format(meta.get(mapping.ACTIVITY_KEY)),
            "created_time": _meta_time(meta, "created_at"),
            "updated_time": _meta_time(meta, "updated_at"),
        }

    def redemption(self, offer: RewardOffer) -> dict[str, Any]:
        meta = offer.metadata
        pool = self.program.pool(offer.pool_id) if offer.pool_id is not None else None
        expiry = pool.expires_at if pool is not None else None
        levels = [
            str(self.program.tier(tier_id).metadata.get(mapping.LEVEL_KEY))
            for tier_id in offer.eligible_tiers
        ]
        return {
            "id": str(offer.id),
            "merchant_id": self.partner_id,
            "redemption_id": meta.get(mapping.REDEMPTION_KEY),
            "redemption_name": offer.name,
            "redemption_value": meta.get("redemption_value", str(offer.value)),
            "allowed_redeem_points": offer.points_price,
            "giftcard_description": meta.get("giftcard_description", ""),
            "terms_and_conds_text": meta.get("terms_and_conds_text", ""),
            "redemption_instructions": meta.get("redemption_instructions"),
            "giftcard_coupon_codes": ",".join(meta.get("giftcard_coupon_codes", ())),
            "remaining_coupon_codes": (
                self.program.pool_remaining(pool.id) if pool is not None else None
            ),
            "coupon_expiry": (
                wire.format_day(wire.day_of_end(expiry)) if expiry is not None else None
            ),
            "is_active": offer.active,
            "associated_levels": levels or ["all"],
            "enable_coupon_based_incentive": True,
            "send_redemption_email": False,
            "redemption_email_subject": None,
            "redemption_email_html": None,
            "after_redemption_html": None,
            "loyalty_redemption_card_img": _IMG.format(meta.get(mapping.REDEMPTION_KEY)),
            "created_time": _meta_time(meta, "created_at"),
            "updated_time": _meta_time(meta, "updated_at"),
        }

    def level(self, tier: Tier) -> dict[str, Any]:
        meta = tier.metadata
        return {
            "id": str(tier.id),
            "merchant_id": self.partner_id,
            "level_id": meta.get(mapping.LEVEL_KEY),
            "level_name": tier.name,
            "level_description": meta.get("level_description", ""),
            "level_type": mapping.level_type_of(self.program, tier),
            "level_position": meta.get("level_position", 0),
            "level_minimum_points": wire.decimal_to_wire(tier.threshold),
            "level_bonus_multiplier": wire.decimal_to_wire(tier.multiplier),
            "is_active": bool(meta.get("is_active", False)),
            "is_default": bool(meta.get("is_default", False)),
            "created_time": _meta_time(meta, "created_at"),
            "updated_time": _meta_time(meta, "updated_at"),
        }

    # --- users -----------------------------------------------------------------------------
    @staticmethod
    def _deducted(member: Member) -> int:
        """Points that left by deduction: manual debits (the core's `spent` less
        redemptions), clawbacks and settlements; the core keeps each as a running total."""
        return member.spent - member.redeemed + member.recovered

    def _last_award(self, member: Member) -> Transaction | None:
        """The latest posted award (an award, earn or positive adjustment: a credit)."""
        last = member.last_credit_id
        return self.program.transaction(last) if last is not None else None

    def user(self, member: Member) -> dict[str, Any]:
        profile = member.profile
        meta = profile.metadata
        period, lifetime = self._level_ids(member)
        last = self._last_award(member)
        last_rule = self._rule(last.rule_id) if last is not None else None
        return {
            "user_id": str(member.id),
            "user_email": profile.email,
            "first_name": profile.first_name or "",
            "last_name": profile.last_name or "",
            "gender": meta.get("gender", "unknown"),
            "profile_image_url": meta.get("profile_image_url", ""),
            "merchant_uid": profile.external_id or "",
            "redeemed_points": member.redeemed,
            "available_points": member.balance,
            "pending_points": member.pending,
            "loyalty_level_id": _level_field(period, mapping.LEVEL_KEY),
            "loyalty_level_name": period.name if period is not None else "",
            "loyalty_lifetime_level_id": _level_field(lifetime, mapping.LEVEL_KEY),
            "loyalty_life_time_level_name": lifetime.name if lifetime is not None else "",
            "user_language": meta.get("user_language", "English"),
            "user_status": "active" if member.state is MemberState.MEMBER else str(member.state),
            "expiration_schedule": [
                {"expiration_date": wire.format_time(when), "points": points}
                for when, points in self.program.expiry_schedule(member.id)
            ],
            "last_award_transaction": (
                {
                    "date": wire.format_time(last.created_at),
                    "points": last.points,
                    "name": last_rule.name if last_rule is not None else last.description,
                }
                if last is not None
                else {}
            ),
            "enrollment_date": wire.format_time(profile.created_at),
            "dashboard_url": _DASHBOARD.format(self.partner_id, member.id),
        }

    def user_points(self, member: Member) -> dict[str, Any]:
        return {
            "available": member.balance,
            "redeemed": member.redeemed,
            "deducted_points": self._deducted(member),
            "expired_points": member.expired,
            "pending_points": member.pending,
            "qualified_points": member.earned,
            "next_level_data": self._next_level(member),
        }

    def _next_level(self, member: Member) -> dict[str, Any]:
        period, _ = self._level_ids(member)
        track = mapping.level_track(self.program, "period")
        if track is None:
            return {}
        for tier in self.program.tiers(track.id):
            if period is None or (tier.threshold, tier.id) > (period.threshold, period.id):
                return {
                    "level_id": tier.metadata.get(mapping.LEVEL_KEY),
                    "level_name": tier.name,
                    "level_minimum_points": wire.decimal_to_wire(tier.threshold),
                }
        return {}

    # --- transactions ----------------------------------------------------------------------
    def points_status(self, txn: Transaction) -> str:
        """The wire status; awards whose points are all gone read `exhausted` / `expired`."""
        kind = mapping.transaction_type(txn)
        if kind == "redeem":
            return "redeemed"
        if kind == "deduct":
            return "pending_deduction" if txn.status is TxnStatus.PENDING else "deducted"
        base = mapping.award_base_status(txn)
        if base not in ("approved", "auto_approved"):
            return base
        usage = self.program.award_usage(txn.id)
        if usage.available == 0 and txn.points > 0:
            return "expired" if usage.points_expired > 0 else "exhausted"
        return base

    def _people(self, txn: Transaction) -> dict[str, Any]:
        profile = self._member(txn.member_id).profile
        return {
            "user_id": str(profile.id),
            "user_email": profile.email,
            "user_first_name": profile.first_name or "",
            "user_last_name": profile.last_name or "",
        }

    def transaction(self, txn: Transaction) -> dict[str, Any]:
        """The full record of Get (All) Transactions: the union of the docs' examples."""
        kind = mapping.transaction_type(txn)
        rule = self._rule(txn.rule_id)
        fulfillment = self._fulfillment(txn.id) if kind == "redeem" else None
        offer = self.program.offer(fulfillment.offer_id) if fulfillment is not None else None
        is_award = kind == "award"
        usage = self.program.award_usage(txn.id) if is_award else None
        status = self.points_status(txn)
        approved = status not in ("pending", "rejected", "auto_rejected", "redeemed")
        return {
            "id": str(txn.id),
            **self._people(txn),
            "transaction_type": kind,
            "points": abs(txn.points),
            "points_status": status,
            "activity_id": rule.metadata.get(mapping.ACTIVITY_KEY) if rule is not None else None,
            "activity_name": rule.name if rule is not None else None,
            "redemption_id": offer.metadata.get(mapping.REDEMPTION_KEY) if offer else None,
            "redemption_name": offer.name if offer is not None else None,
            "redemption_value": offer.metadata.get("redemption_value") if offer else None,
            "redemptions_list": None,
            "coupon_code": fulfillment.code if fulfillment is not None else None,
            "order_id": txn.order_id,
            "reason": (txn.description or None) if kind == "deduct" else None,
            "points_used": usage.points_used if usage is not None else 0,
            "points_expired": usage.points_expired if usage is not None else 0,
            "available_points": usage.available if usage is not None else 0,
            "points_deducted": abs(txn.points) if kind == "deduct" else 0,
            "points_expiration_date": wire.format_time(txn.expires_at) or "",
            "qualified_points": (
                bool(rule.metadata.get("qualified_points", True)) if rule is not None
                else is_award or None
            ),
            "auto_approval_date": wire.format_time(txn.auto_approve_at) or "",
            "approved_by": txn.resolved_by or None,
            "approved_time": (
                wire.format_time(txn.resolved_at or txn.created_at) if approved else ""
            ),
            "created_time": wire.format_time(txn.created_at),
            "updated_time": wire.format_time(txn.resolved_at or txn.created_at),
            "merchant_id": self.partner_id,
            "partner_id": self.partner_id,
        }

    def award_result(self, txn: Transaction) -> dict[str, Any]:
        rule = self._rule(txn.rule_id)
        return {
            **self._people(txn),
            "activity_id": rule.metadata.get(mapping.ACTIVITY_KEY) if rule is not None else None,
            "activity_name": rule.name if rule is not None else None,
            "id": str(txn.id),
            "transaction_type": "award",
            "points": txn.points,
            "points_status": mapping.award_base_status(txn),
            "auto_approval_date": wire.format_time(txn.auto_approve_at) or "",
            "order_id": txn.order_id,
            "partner_id": self.partner_id,
            "created_time": wire.format_time(txn.created_at),
        }

    def redeem_result(self, fulfillment: Fulfillment) -> dict[str, Any]:
        offer = self.program.offer(fulfillment.offer_id)
        txn_id = fulfillment.txn_id
        txn = self.program.transaction(txn_id) if txn_id is not None else None
        people = self._people(txn) if txn is not None else {}
        return {
            **people,
            "redemption_id": offer.metadata.get(mapping.REDEMPTION_KEY),
            "redemption_name": offer.name,
            "redemption_value": offer.metadata.get("redemption_value"),
            "id": str(txn_id),
            "transaction_type": "redeem",
            "points": fulfillment.points,
            "points_status": "redeemed",
            "coupon_code": fulfillment.code,
            "coupon_expiry": (
                wire.format_day(wire.day_of_end(fulfillment.expires_at))
                if fulfillment.expires_at is not None else None
            ),
            "partner_id": self.partner_id,
            "created_time": wire.format_time(fulfillment.created_at),
        }

    def deduct_result(self, txn: Transaction) -> dict[str, Any]:
        return {
            **self._people(txn),
            "id": str(txn.id),
            "transaction_type": "deduct",
            "points": -txn.points,
            "points_status": "deducted",
            "reason": txn.description,
            "available_points": self.program.member(txn.member_id).balance,
            "partner_id": self.partner_id,
            "created_time": wire.format_time(txn.created_at),
        }

    def return_result(
        self, order: Order, txns: Iterable[Transaction], *, owed: int, partial: bool,
        now: datetime,
    ) -> dict[str, Any]:
        """One deduct record for what this return took now plus what it left owing."""
        taken = [txn for txn in txns if txn.kind is TxnKind.CLAWBACK]
        points = owed - sum(txn.points for txn in taken)
        member_id = order.member_id if order.member_id is not None else taken[0].member_id
        profile = self._member(member_id).profile
        stamp = wire.format_time(taken[0].created_at if taken else now)
        return {
            "user_id": str(profile.id),
            "user_email": profile.email,
            "user_first_name": profile.first_name or "",
            "user_last_name": profile.last_name or "",
            "id": str(taken[-1].id) if taken else None,
            "transaction_type": "deduct",
            "points": points,
            "points_status": "pending_deduction" if owed > 0 else "deducted",
            "pending_deduction_points": owed,
            "returned_for_order_id": order.external_id,
            "reason": "Order Partially Returned" if partial else "Order Returned",
            "auto_approval_date": "",
            "partner_id": self.partner_id,
            "created_time": stamp,
            "updated_time": stamp,
            "approved_time": stamp,
        }


def _rule_or_none(program: Program, rule_id: int) -> EarningRule | None:
    try:
        return program.rule(rule_id)
    except RuleNotFound:
        return None


def _level_field(tier: Tier | None, key: str) -> str:
    return str(tier.metadata.get(key, "")) if tier is not None else ""


def _meta_time(meta: dict[str, Any], key: str) -> str | None:
    """Config objects keep their vendor timestamps in metadata as ISO text."""
    value = meta.get(key)
    return wire.format_time(datetime.fromisoformat(value)) if isinstance(value, str) else None
