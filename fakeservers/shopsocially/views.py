"""Request handlers: authenticate, parse, call the core, render. No loyalty rules here.

Each operation reads the wire parameters, translates vendor ids into core objects (failing
with the vendor's reason before anything changes), calls the core and renders the result;
`Views` wraps each one as `on_<endpoint>` behind the credentials check. Caps, approval,
multipliers, pools, tiers, clawback, expiry: all the core's.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from werkzeug.wrappers import Request, Response

from fakeservers._http.app import json_response
from fakeservers._http.bounds import metadata_problem
from fakeservers._http.tenants import Tenant, TenantRegistry
from fakeservers.shopsocially import errors, mapping, wire
from fakeservers.shopsocially.params import Params, read_params
from fakeservers.shopsocially.schemas import Render
from fakeservers.shopsocially.urls import ENDPOINTS
from loyaltykit import (
    Approval,
    Cap,
    Member,
    Program,
    RewardOffer,
    RuleKind,
    Tier,
    Transaction,
)
from loyaltykit.clock import MAX_LIFETIME
from loyaltykit.limits import MAX_TOTAL_POINTS
from loyaltykit.queries import MAX_OFFSET, MAX_PAGE

__all__ = ["Call", "Operations", "Views", "call_for", "page"]

PAGE_SIZE = 10
"""Transactions per page: "The response will return only 10 records for each request"."""
USERS_COUNT = 100
USER_REDEMPTIONS_COUNT = 12
MAX_EXPIRATION_DAYS = MAX_LIFETIME.days
"""`points_expiration_period` above the core's century is refused: the expiry instant would
leave the calendar (see docs/shopsocially.md)."""
ID_DIGITS = len(str(MAX_TOTAL_POINTS))
"""Digits of the largest id a wire id can name."""
T = TypeVar("T")


class Call(NamedTuple):
    """Everything an operation needs about one authenticated request."""

    program: Program
    params: Params
    render: Render
    now: datetime


def page(items: Sequence[T], start: int, size: int) -> tuple[list[T], int, bool]:
    """`start_index` paging: the slice, `next_start_index` (start + size) and `more`."""
    chunk = list(items[start : start + size])
    following = start + size
    return chunk, following, following < len(items)


def call_for(tenant: Tenant[Program], partner_id: str, params: Params) -> Call:
    """The context of one request (or one seeding step) against `tenant`."""
    program = tenant.program
    return Call(program, params, Render(program, partner_id), tenant.clock.now())


class Operations:
    """One method per endpoint: wire parameters in, `data` of the success body out.

    Shared by the HTTP views and the demo seed, so seeded objects are made exactly as
    API-created ones are.
    """

    def __init__(self) -> None:
        self._config_lock = threading.Lock()

    # --- 1-3, 24: points -------------------------------------------------------------------
    def award(self, call: Call) -> Any:
        p, program = call.params, call.program
        email, activity_id = p.required("user_email", "activity_id")
        member = program.member_by_email(email)
        rule = mapping.find_rule(program, activity_id)
        passed = p.text("points_passed")
        amount: Decimal | None = None
        points: int | None = None
        if rule.kind is RuleKind.MULTIPLIER:
            if passed is None:
                raise errors.ApiError(400, errors.MISSING_PARAMETERS)
            amount = wire.parse_decimal(passed, minimum=Decimal(0))
        elif passed is not None:
            points = wire.parse_int(passed, minimum=1)
        due = mapping.auto_approval_at(call.now) if rule.approval is Approval.DELAYED else None
        txn = program.award(
            member.id, rule.id, amount=amount, points=points,
            order_id=p.text("order_id"), auto_approve_at=due,
            description=rule.name,
        )
        call.render.remember(member, rule)
        return call.render.award_result(txn)

    def redeem(self, call: Call) -> Any:
        email, redemption_id = call.params.required("user_email", "redemption_id")
        member = call.program.member_by_email(email)
        offer = mapping.find_offer(call.program, redemption_id)
        fulfillment = call.program.redeem(member.id, offer.id)
        return call.render.redeem_result(fulfillment)

    def deduct(self, call: Call) -> Any:
        email, reason, passed = call.params.required("user_email", "reason", "points_passed")
        member = call.program.member_by_email(email)
        points = wire.parse_int(passed, minimum=1)
        txn = call.program.spend(member.id, points, description=reason)
        return call.render.deduct_result(txn)

    def return_order(self, call: Call) -> Any:
        (order_id,) = call.params.required("order_id")
        returned = call.params.text("returned_amount")
        amount = wire.parse_decimal(returned) if returned is not None else None
        if amount is not None and amount <= 0:
            raise errors.ApiError(400, errors.INVALID_PARAMETERS)
        before = call.program.order(order_id)
        order = call.program.return_order(before.external_id, amount=amount)
        known = set(before.txn_ids)
        new = [call.program.transaction(i) for i in order.txn_ids if i not in known]
        owed = order.pending_deduction - before.pending_deduction
        return call.render.return_result(
            order, new, owed=owed, partial=amount is not None, now=call.now)

    # --- 4-6, 11: transactions -------------------------------------------------------------
    def _transactions(self, call: Call, member: Member | None) -> dict[str, Any]:
        p = call.params
        from_text, to_text = p.required("from_date", "to_date")
        start = wire.day_start(wire.parse_query_date(from_text))
        end = wire.day_end_exclusive(wire.parse_query_date(to_text))
        # an empty list filters nothing, like an absent one
        wanted = set(wire.parse_status_list(p.raw("points_status"))) if p.present(
            "points_status") else None
        wanted = wanted or None
        start_index = self._index(p, "start_index", 0, minimum=0)
        # newest first by (created_at, id), the listed kinds only, read from the indexes
        listing = functools.partial(
            call.program.transactions_page,
            member.id if member is not None else None,
            since=start,
            until=end,
            kinds=mapping.LISTED_KINDS,
            by_time=True,
        )
        if wanted is None:
            total = call.program.count_transactions(
                member.id if member is not None else None,
                since=start,
                until=end,
                kinds=mapping.LISTED_KINDS,
            )
            chunk = _slice(listing, start_index, PAGE_SIZE, total)
        else:  # a status depends on what became of the points: each one in range is read
            rows = [txn for txn in _every(listing)
                    if call.render.points_status(txn) in wanted]
            total = len(rows)
            chunk = rows[start_index : start_index + PAGE_SIZE]
        following = start_index + PAGE_SIZE
        return {
            "total": total,
            "next_start_index": following,
            "transactions": [call.render.transaction(txn) for txn in chunk],
            "more": following < total,
        }

    def list_transactions(self, call: Call) -> Any:
        return self._transactions(call, None)

    def user_transactions(self, call: Call, user_email: str) -> Any:
        return self._transactions(call, call.program.member_by_email(user_email.strip()))

    def _visible(self, call: Call, txn_id: str) -> Transaction:
        number = _decimal_id(txn_id)
        if number is None:
            raise errors.ApiError(404, errors.INVALID_TRANSACTION_ID)
        txn = call.program.transaction(number)
        if mapping.transaction_type(txn) is None:
            raise errors.ApiError(404, errors.INVALID_TRANSACTION_ID)
        return txn

    def get_transaction(self, call: Call, txn_id: str) -> Any:
        return call.render.transaction(self._visible(call, txn_id))

    def update_transaction(self, call: Call, txn_id: str) -> Any:
        txn = self._visible(call, txn_id)
        (status_text,) = call.params.required("points_status")
        status = status_text.lower()
        by = call.params.text("approved_by") or "api"
        if status == "approved":
            txn = call.program.approve(txn.id, by=by)
        elif status == "rejected":
            txn = call.program.reject(txn.id, by=by)
        else:
            raise errors.ApiError(400, errors.INVALID_PARAMETERS)
        return call.render.transaction(txn)

    # --- 7-10: users -----------------------------------------------------------------------
    def list_users(self, call: Call) -> Any:
        p = call.params
        from_text, to_text = p.required("from_date", "to_date")
        start = wire.day_start(wire.parse_query_date(from_text))
        end = wire.day_end_exclusive(wire.parse_query_date(to_text))
        filter_by = mapping.parse_choice(
            p.text("filter_by") or "enrollment_date",
            {"enrollment_date": None, "last_activity_date": None},
        )
        start_index = self._index(p, "start_index", 0, minimum=0)
        count = self._index(p, "count", USERS_COUNT, minimum=1)
        program = call.program
        if filter_by == "enrollment_date":  # enrolment order, read from the indexes
            total = program.count_members(since=start, until=end)
            listing = functools.partial(
                program.members_page, since=start, until=end, newest_first=False
            )
            chunk: list[Member] = _slice(listing, start_index, count, total)
        else:  # each member's last listed transaction: one indexed read per member
            everyone = functools.partial(program.members_page, newest_first=False)
            matched = [
                member for member in _every(everyone)
                if _active_in(program, member.id, start, end)
            ]
            total = len(matched)
            chunk = matched[start_index : start_index + count]
        following = start_index + count
        return {
            "total_loyalty_users": total,
            "next_start_index": following,
            "loyalty_users": [call.render.user(member) for member in chunk],
            "more": following < total,
        }

    def get_user(self, call: Call, user_email: str) -> Any:
        return call.render.user(call.program.member_by_email(user_email.strip()))

    def create_user(self, call: Call) -> Any:
        p = call.params
        p.alias("email", "user_email")
        p.alias("loyalty_level_id", "loyalty_level")
        first, last, email, uid = p.required("first_name", "last_name", "email", "uid")
        level = self._level_param(call)
        metadata = _checked(self._profile_metadata(p, {}))
        program = call.program
        with program.atomic():  # a refused level assignment leaves no user behind
            member = program.add_member(
                email=email, external_id=uid,
                first_name=first, last_name=last, metadata=metadata,
            )
            if level is not None:
                program.set_tier(member.id, level.track_id, level.id)
        return call.render.user(program.member(member.id))

    def update_user(self, call: Call, uid: str) -> Any:
        p = call.params
        p.alias("loyalty_level_id", "loyalty_level")
        program = call.program
        member = program.member_by_external_id(uid.strip())
        level = self._level_param(call)
        changes: dict[str, Any] = {
            key: p.text(key) for key in ("first_name", "last_name") if p.present(key)
        }
        metadata = _checked(self._profile_metadata(p, member.profile.metadata))
        if metadata != member.profile.metadata:
            changes["metadata"] = metadata
        with program.atomic():
            if changes:
                program.update_member(member.id, **changes)
            if level is not None:
                program.set_tier(member.id, level.track_id, level.id)
        return call.render.user(program.member(member.id))

    def _level_param(self, call: Call) -> Tier | None:
        level_id = call.params.text("loyalty_level_id")
        return mapping.find_level(call.program, level_id) if level_id is not None else None

    @staticmethod
    def _profile_metadata(p: Params, old: dict[str, Any]) -> dict[str, Any]:
        metadata = dict(old)
        for key in ("gender", "profile_image_url", "user_language"):
            value = p.text(key)
            if value is not None:
                metadata[key] = value
        return metadata

    # --- 2017 page: user redemptions and user points ------------------------------------------
    def user_redemptions(self, call: Call, user_email: str) -> Any:
        p = call.params
        member = call.program.member_by_email(user_email.strip())
        still_valid = wire.parse_bool(p.raw("is_still_valid")) if p.present(
            "is_still_valid") else False
        order_by = mapping.parse_choice(
            p.text("order_by") or "updated_time",
            dict.fromkeys(("updated_time", "created_time", "allowed_redeem_points",
                           "redemption_name", "redemption_id")),
        )
        count = self._index(p, "count", USER_REDEMPTIONS_COUNT, minimum=1)
        start_index = self._index(p, "start_index", 0, minimum=0)
        offers = [offer for offer in call.program.offers()
                  if mapping.REDEMPTION_KEY in offer.metadata]
        tiers = {tier for tier in member.tiers.values() if tier is not None}
        if still_valid:
            offers = [offer for offer in offers
                      if mapping.offer_open_to(call.program, offer, tiers, call.now)]
        offers.sort(key=_offer_order(order_by))
        chunk, _following, more = page(offers, start_index, count)
        return {
            "total": len(offers),
            "redemptions": [call.render.redemption(offer) for offer in chunk],
            "more": more,
        }

    def user_points(self, call: Call) -> Any:
        (user_id,) = call.params.required("user_id")
        number = _decimal_id(user_id)
        if number is None:
            raise errors.ApiError(404, errors.INVALID_USER)
        return call.render.user_points(call.program.member(number))

    # --- 12-15: activities -----------------------------------------------------------------
    def list_activities(self, call: Call) -> Any:
        rules = [rule for rule in call.program.rules() if mapping.ACTIVITY_KEY in rule.metadata]
        return [call.render.activity(rule) for rule in rules]

    def get_activity(self, call: Call, activity_id: str) -> Any:
        return call.render.activity(mapping.find_rule(call.program, activity_id))

    def create_activity(self, call: Call) -> Any:
        p = call.params
        p.alias("bonus_multiplier", "bonus_mutliplier", "bonus_multiper")
        (activity_id, name, description, activity_type, method, frequency,
         interval) = p.required(
            "activity_id", "activity_name", "activity_description", "activity_type",
            "approval_method", "max_award_frequency", "max_award_frequency_interval")
        kind = _activity_kind(activity_type)
        approval = mapping.APPROVAL_METHODS[
            mapping.parse_choice(method, dict(mapping.APPROVAL_METHODS))]
        interval_name = mapping.parse_choice(interval, dict(mapping.INTERVALS))
        cap = _cap(wire.parse_int(frequency, minimum=0), interval_name)
        points = wire.parse_int(p.raw("points_per_activity"), minimum=0) if p.present(
            "points_per_activity") else 0
        multiplier = wire.parse_multiplier(p.raw("bonus_multiplier")) if (
            p.present("bonus_multiplier")) else Decimal(1)
        lifetime = _lifetime(p)
        active = _is_active(p)
        stamp = call.now.isoformat()
        metadata = {
            mapping.ACTIVITY_KEY: activity_id,
            "activity_description": description,
            "max_award_frequency_interval": interval_name,
            "created_at": stamp, "updated_at": stamp,
            **_activity_flags(p),
        }
        _checked(metadata)
        with self._config_lock:
            if _exists(lambda: mapping.find_rule(call.program, metadata[mapping.ACTIVITY_KEY])):
                raise errors.ApiError(400, errors.ACTIVITY_EXISTS)
            rule = call.program.add_rule(
                name=name, kind=kind, points=points, multiplier=multiplier,
                active=active,
                cap=cap, points_lifetime=lifetime, approval=approval,
                approval_delay=timedelta(days=31) if approval is Approval.DELAYED else None,
                metadata=metadata,
            )
        return call.render.activity(rule)

    def update_activity(self, call: Call, activity_id: str) -> Any:
        p = call.params
        p.alias("bonus_multiplier", "bonus_mutliplier", "bonus_multiper")
        rule = mapping.find_rule(call.program, activity_id)
        changes: dict[str, Any] = {}
        metadata = dict(rule.metadata)
        if p.present("activity_name"):
            changes["name"] = p.text("activity_name")
        if p.present("activity_description"):
            metadata["activity_description"] = p.text("activity_description")
        if p.present("activity_type"):
            changes["kind"] = _activity_kind(str(p.text("activity_type")))
        if p.present("approval_method"):
            approval = mapping.APPROVAL_METHODS[mapping.parse_choice(
                p.text("approval_method"), dict(mapping.APPROVAL_METHODS))]
            changes["approval"] = approval
            changes["approval_delay"] = (
                timedelta(days=31) if approval is Approval.DELAYED else None)
        if p.present("max_award_frequency") or p.present("max_award_frequency_interval"):
            frequency = wire.parse_int(p.raw("max_award_frequency"), minimum=0) if p.present(
                "max_award_frequency") else (rule.cap.max_awards if rule.cap else 0)
            interval_name = mapping.parse_choice(
                p.text("max_award_frequency_interval")
                or str(metadata.get("max_award_frequency_interval", "lifetime")),
                dict(mapping.INTERVALS))
            metadata["max_award_frequency_interval"] = interval_name
            changes["cap"] = _cap(frequency, interval_name)
        if p.present("points_per_activity"):
            changes["points"] = wire.parse_int(p.raw("points_per_activity"), minimum=0)
        if p.present("bonus_multiplier"):
            changes["multiplier"] = wire.parse_multiplier(p.raw("bonus_multiplier"))
        if p.present("is_active"):
            changes["active"] = wire.parse_bool(p.raw("is_active"))
        if p.present("points_expiration_period"):
            changes["points_lifetime"] = _lifetime(p)
        metadata.update(_activity_flags(p))
        metadata["updated_at"] = call.now.isoformat()
        changes["metadata"] = _checked(metadata)
        rule = call.program.update_rule(rule.id, **changes)
        return call.render.activity(rule)

    # --- 16-19: redemptions ------------------------------------------------------------------
    def list_redemptions(self, call: Call) -> Any:
        offers = [o for o in call.program.offers() if mapping.REDEMPTION_KEY in o.metadata]
        return [call.render.redemption(offer) for offer in offers]

    def get_redemption(self, call: Call, redemption_id: str) -> Any:
        return call.render.redemption(mapping.find_offer(call.program, redemption_id))

    def create_redemption(self, call: Call) -> Any:
        p = call.params
        p.alias("allowed_redeem_points", "allowed_redeemp_points")
        (redemption_id, name, points, value, description, terms, expiry_text) = p.required(
            "redemption_id", "redemption_name", "allowed_redeem_points", "redemption_value",
            "giftcard_description", "terms_and_conds_text", "coupon_expiry")
        if not p.present("giftcard_coupon_codes"):
            raise errors.ApiError(400, errors.MISSING_PARAMETERS)
        price = wire.parse_int(points, minimum=1)
        codes = _codes(p.raw("giftcard_coupon_codes"))
        expires_at = wire.day_end_exclusive(wire.parse_coupon_expiry(expiry_text))
        tiers = self._associated_levels(call)
        active = _is_active(p)  # every parameter is read before the first core command
        money = _money(value)
        stamp = call.now.isoformat()
        vendor_id = redemption_id
        metadata = {
            mapping.REDEMPTION_KEY: vendor_id,
            "redemption_value": value,
            "giftcard_description": description,
            "terms_and_conds_text": terms,
            "redemption_instructions": p.text("redemption_instructions"),
            "giftcard_coupon_codes": codes,
            "created_at": stamp, "updated_at": stamp,
        }
        _checked(metadata)
        with self._config_lock, call.program.atomic():
            if _exists(lambda: mapping.find_offer(call.program, vendor_id)):
                raise errors.ApiError(400, errors.REDEMPTION_EXISTS)
            pool = call.program.add_pool(
                name=f"redemption {vendor_id}", codes=codes, expires_at=expires_at)
            offer = call.program.add_offer(
                name=name, points_price=price, value=money,
                pool_id=pool.id,
                active=active,
                eligible_tiers=tiers or (), metadata=metadata,
            )
        return call.render.redemption(offer)

    def update_redemption(self, call: Call, redemption_id: str) -> Any:
        p = call.params
        p.alias("allowed_redeem_points", "allowed_redeemp_points")
        program = call.program
        offer = mapping.find_offer(program, redemption_id)
        changes: dict[str, Any] = {}
        metadata = dict(offer.metadata)
        if p.present("redemption_name"):
            changes["name"] = p.text("redemption_name")
        if p.present("allowed_redeem_points"):
            changes["points_price"] = wire.parse_int(p.raw("allowed_redeem_points"), minimum=1)
        if p.present("redemption_value"):
            metadata["redemption_value"] = p.text("redemption_value")
            changes["value"] = _money(str(p.text("redemption_value")))
        if p.present("is_active"):
            changes["active"] = wire.parse_bool(p.raw("is_active"))
        for key in ("giftcard_description", "terms_and_conds_text", "redemption_instructions"):
            if p.present(key):
                metadata[key] = p.text(key)
        tiers = self._associated_levels(call)
        if tiers is not None:
            changes["eligible_tiers"] = tiers
        new_codes = _codes(p.raw("giftcard_coupon_codes")) if p.present(
            "giftcard_coupon_codes") else []
        expires_at = (
            wire.day_end_exclusive(wire.parse_coupon_expiry(str(p.text("coupon_expiry"))))
            if p.present("coupon_expiry") else None
        )
        fresh: list[str] = []
        if offer.pool_id is not None:
            uploaded = list(metadata.get("giftcard_coupon_codes", ()))
            fresh = [code for code in dict.fromkeys(new_codes) if code not in uploaded]
            metadata["giftcard_coupon_codes"] = uploaded + fresh
        metadata["updated_at"] = call.now.isoformat()
        changes["metadata"] = _checked(metadata)
        with program.atomic():  # the core may still refuse a code used elsewhere
            if offer.pool_id is not None and fresh:
                program.add_codes(offer.pool_id, fresh)
            if offer.pool_id is not None and expires_at is not None:
                program.update_pool(offer.pool_id, expires_at=expires_at)
            offer = program.update_offer(offer.id, **changes)
        return call.render.redemption(offer)

    def _associated_levels(self, call: Call) -> tuple[int, ...] | None:
        """`associated_levels`: level ids (JSON list or comma-separated); `all` = everyone."""
        if not call.params.present("associated_levels"):
            return None
        names = wire.parse_status_list(call.params.raw("associated_levels"))
        if not names or "all" in (name.lower() for name in names):
            return ()
        return tuple(mapping.find_level(call.program, name).id for name in names)

    # --- 20-23: levels ---------------------------------------------------------------------
    def list_levels(self, call: Call) -> Any:
        return [call.render.level(tier) for tier in mapping.levels(call.program)]

    def get_level(self, call: Call, level_id: str) -> Any:
        return call.render.level(mapping.find_level(call.program, level_id))

    def create_level(self, call: Call) -> Any:
        p = call.params
        p.alias("level_minimum_points", "minimum_points")
        p.alias("level_bonus_multiplier", "bonus_multiplier")
        (level_id, name, description, level_type, position, minimum,
         multiplier) = p.required(
            "level_id", "level_name", "level_description", "level_type", "level_position",
            "level_minimum_points", "level_bonus_multiplier")
        type_name = mapping.parse_choice(level_type, dict(mapping.LEVEL_TYPES))
        threshold = wire.parse_int(minimum, minimum=0, maximum=MAX_TOTAL_POINTS)
        factor = wire.parse_multiplier(multiplier)
        stamp = call.now.isoformat()
        vendor_id = level_id
        metadata = {
            mapping.LEVEL_KEY: vendor_id,
            "level_description": description,
            "level_position": wire.parse_int(position),
            "is_active": _is_active(p),
            "is_default": wire.parse_bool(p.raw("is_default")) if p.present(
                "is_default") else False,
            "created_at": stamp, "updated_at": stamp,
        }
        _checked(metadata)
        with self._config_lock, call.program.atomic():  # no track left by a refused level
            if _exists(lambda: mapping.find_level(call.program, vendor_id)):
                raise errors.ApiError(400, errors.LEVEL_EXISTS)
            track = mapping.level_track(call.program, type_name, create=True)
            assert track is not None
            tier = call.program.add_tier(
                track.id, name=name, threshold=Decimal(threshold),
                multiplier=factor, metadata=metadata)
        return call.render.level(tier)

    def update_level(self, call: Call, level_id: str) -> Any:
        p = call.params
        p.alias("level_minimum_points", "minimum_points")
        p.alias("level_bonus_multiplier", "bonus_multiplier")
        tier = mapping.find_level(call.program, level_id)
        changes: dict[str, Any] = {}
        metadata = dict(tier.metadata)
        if p.present("level_name"):
            changes["name"] = p.text("level_name")
        if p.present("level_minimum_points"):
            changes["threshold"] = Decimal(wire.parse_int(
                p.raw("level_minimum_points"), minimum=0, maximum=MAX_TOTAL_POINTS))
        if p.present("level_bonus_multiplier"):
            changes["multiplier"] = wire.parse_multiplier(p.raw("level_bonus_multiplier"))
        if p.present("level_description"):
            metadata["level_description"] = p.text("level_description")
        if p.present("level_position"):
            metadata["level_position"] = wire.parse_int(p.raw("level_position"))
        for flag in ("is_active", "is_default"):
            if p.present(flag):
                metadata[flag] = wire.parse_bool(p.raw(flag))
        if p.present("level_type"):
            type_name = mapping.parse_choice(p.text("level_type"), dict(mapping.LEVEL_TYPES))
            if type_name != mapping.level_type_of(call.program, tier):
                raise errors.ApiError(400, errors.INVALID_PARAMETERS)
        metadata["updated_at"] = call.now.isoformat()
        changes["metadata"] = _checked(metadata)
        tier = call.program.update_tier(tier.id, **changes)
        return call.render.level(tier)

    # --- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _index(p: Params, key: str, default: int, *, minimum: int) -> int:
        return wire.parse_int(p.raw(key), minimum=minimum) if p.present(key) else default


def _slice(listing: Callable[..., list[T]], start: int, count: int, total: int) -> list[T]:
    """Records `start` to `start + count` of a paged core read, a core page at a time."""
    found: list[T] = []
    end = min(start + count, total)
    while start < end:
        step = min(end - start, MAX_PAGE)
        got = listing(offset=start, limit=step)
        found += got
        if len(got) < step:
            break
        start += step
    return found


def _every(listing: Callable[..., list[T]]) -> list[T]:
    """Every record of a paged core read, a core page at a time."""
    found: list[T] = []
    while True:
        got = listing(offset=len(found), limit=MAX_PAGE)
        found += got
        if len(got) < MAX_PAGE or len(found) > MAX_OFFSET:
            return found


def _active_in(program: Program, member_id: int, start: datetime, end: datetime) -> bool:
    """Whether the member's last listed transaction was made in [start, end)."""
    last = program.transactions_page(member_id, kinds=mapping.LISTED_KINDS, limit=1)
    return bool(last) and start <= last[0].created_at < end


def _decimal_id(text: str) -> int | None:
    """The core id inside a wire id: ASCII digits only ("²".isdigit() is true, too), and
    few enough of them to be an id at all (a 5,000-digit one is no int to convert)."""
    text = text.strip()
    if len(text) > ID_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def _activity_kind(text: str) -> RuleKind:
    name = mapping.parse_choice(text, {"fixed": None, "bonus_multiplier": None})
    return RuleKind.MULTIPLIER if name == "bonus_multiplier" else RuleKind.FIXED


def _is_active(p: Params) -> bool:
    """`is_active` defaults to false for activities, redemptions and levels (primary docs)."""
    return wire.parse_bool(p.raw("is_active")) if p.present("is_active") else False


def _cap(frequency: int, interval: str) -> Cap | None:
    """`max_award_frequency` 0 means "no limit" (the docs never say; see docs/shopsocially.md)."""
    return Cap(frequency, mapping.INTERVALS[interval]) if frequency > 0 else None


def _lifetime(p: Params) -> timedelta | None:
    """`points_expiration_period` in days (shown in the docs' responses); 0 = never expire."""
    if not p.present("points_expiration_period"):
        return None
    days = wire.parse_int(p.raw("points_expiration_period"), minimum=0)
    if days > MAX_EXPIRATION_DAYS:
        raise errors.ApiError(400, errors.INVALID_PARAMETERS)
    return timedelta(days=days) if days else None


def _activity_flags(p: Params) -> dict[str, Any]:
    flags: dict[str, Any] = {}
    for key in ("is_sale_activity", "qualified_points", "show_activity_in_user_dashboard"):
        if p.present(key):
            flags[key] = wire.parse_bool(p.raw(key))
    for key in ("points_earning_url", "terms_and_conditions"):
        if p.present(key):
            flags[key] = p.text(key)
    return flags


def _codes(value: Any) -> list[str]:
    """`giftcard_coupon_codes`: comma-separated (or a JSON list), blanks dropped."""
    if isinstance(value, (dict, bool)):
        raise errors.ApiError(400, errors.INVALID_PARAMETERS)
    items = value if isinstance(value, list) else str(value).split(",")
    # JSON nulls are dropped like blanks; text and whole numbers are codes; the rest
    # (true, 1.5, nested lists or objects) is refused rather than turned into "True"
    items = [item for item in items if item is not None]
    if any(isinstance(item, bool) or not isinstance(item, (str, int)) for item in items):
        raise errors.ApiError(400, errors.INVALID_PARAMETERS)
    codes = [str(item).strip() for item in items if str(item).strip()]
    if not codes:
        raise errors.ApiError(400, errors.MISSING_PARAMETERS)
    return codes


def _money(text: str) -> Decimal:
    """The core's value of a redemption; the docs also show non-numbers ("YES"), kept as 0."""
    try:
        return wire.parse_decimal(text, minimum=Decimal(0))
    except errors.ApiError:
        return Decimal(0)


def _checked(metadata: dict[str, Any]) -> dict[str, Any]:
    """Metadata the core will keep: `invalid parameters` past `MAX_METADATA_BYTES`
    (thousands of coupon codes, say) before any command runs."""
    if metadata_problem(metadata) is not None:
        raise errors.ApiError(400, errors.INVALID_PARAMETERS)
    return metadata


def _exists(find: Callable[[], object]) -> bool:
    from loyaltykit.errors import NotFound

    try:
        find()
    except NotFound:
        return False
    return True


def _offer_order(order_by: str) -> Callable[[RewardOffer], Any]:
    """Sort keys of the 2017 `order_by`: times and names ascending, ties by creation."""
    if order_by == "allowed_redeem_points":
        return lambda offer: (offer.points_price, offer.id)
    if order_by == "redemption_name":
        return lambda offer: (offer.name, offer.id)
    if order_by == "redemption_id":
        return lambda offer: (str(offer.metadata.get(mapping.REDEMPTION_KEY)), offer.id)
    key = "updated_at" if order_by == "updated_time" else "created_at"
    return lambda offer: (str(offer.metadata.get(key, "")), offer.id)


class Views(Operations):
    """The HTTP side: credentials from the `partner-id` / `api-key` headers, then one
    operation, its result wrapped as `{"data": ..., "success": true}`."""

    def __init__(self, registry: TenantRegistry[Program]) -> None:
        super().__init__()
        self.registry = registry

    def open(self, request: Request) -> Call:
        # request.headers.get("partner-id") without its failed lookups' KeyErrors
        environ = request.environ
        partner_id = (environ.get("HTTP_PARTNER_ID") or "").strip()
        api_key = (environ.get("HTTP_API_KEY") or "").strip()
        if not partner_id or not api_key:
            raise errors.ApiError(401, errors.AUTHENTICATION_MISSING)
        found = self.registry.authenticate((partner_id, api_key))
        if found is None:
            raise errors.ApiError(401, errors.AUTHENTICATION_FAILURE)
        tenant = found[0]
        self.registry.throttle(tenant, (partner_id, api_key))
        return call_for(tenant, partner_id, read_params(request))


def _handler(operation: Callable[..., Any]) -> Callable[..., Response]:
    def handle(self: Views, request: Request, **values: str) -> Response:
        data = operation(self, self.open(request), **values)
        return json_response({"data": data, "success": True})

    handle.__name__ = f"on_{operation.__name__}"
    handle.__doc__ = operation.__doc__
    return handle


for _path, _method, _endpoint in ENDPOINTS:
    setattr(Views, f"on_{_endpoint}", _handler(getattr(Operations, _endpoint)))
