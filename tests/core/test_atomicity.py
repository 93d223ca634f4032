"""Every public command of `Program`: bad input raises the specific `LoyaltyError`, names
the offending value or field, and leaves the program exactly as it was.

Also: several threads earning and spending on shared members keep exact balances.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from loyaltykit import (
    AlreadyResolved,
    Approval,
    Cap,
    CapReached,
    DuplicateMember,
    FulfillmentExpired,
    FulfillmentNotFound,
    InsufficientPoints,
    InvalidArgument,
    LoyaltyError,
    ManualClock,
    MemberDisabled,
    MemberNotFound,
    MemberState,
    NotPending,
    OfferInactive,
    OfferNotFound,
    OrderNotFound,
    OrderStatus,
    OverReturn,
    PoolExhausted,
    PoolExpired,
    PoolNotFound,
    PriceKind,
    Program,
    ReferralNotFound,
    RuleInactive,
    RuleKind,
    RuleNotFound,
    SelfReferral,
    TierNotEligible,
    TierNotFound,
    TrackNotFound,
    Transaction,
    TransactionNotFound,
    TxnKind,
    Window,
    audit,
)
from loyaltykit.ledger import from_row

START = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
NOW = START + timedelta(hours=2)
NAIVE = datetime(2024, 1, 1, 12, 0)
HOUR = timedelta(hours=1)

# members
ALICE, BOB, CAROL, DAVE, ERIN = 1, 2, 3, 4, 5  # carol is disabled; bob referred dave
# rules
FIXED, INACTIVE, CAPPED, MULT, MANUAL, ORDER = 1, 2, 3, 4, 5, 6
# pools
EXHAUSTED_POOL, LIST_POOL, GEN_POOL, EXPIRED_POOL = 1, 2, 3, 4
# offers
OFFER, INACTIVE_OFFER, EXHAUSTED_OFFER, DEAR_OFFER, VAR_OFFER, GOLD_OFFER = 1, 2, 3, 4, 5, 6
EXPIRED_POOL_OFFER, SHORT_LIVED_OFFER = 7, 8
# tiers
VIP, OTHER_TRACK = 1, 2
GOLD, PLAIN = 1, 2


def build_world() -> tuple[Program, dict[str, int]]:
    clock = ManualClock(START)
    p = Program(clock, name="world", seed=99)
    assert p.add_member(email="alice@example.com", external_id="alice").id == ALICE
    assert p.add_member(email="bob@example.com", external_id="bob").id == BOB
    assert p.add_member(email="carol@example.com").id == CAROL
    assert p.add_member(email="dave@example.com").id == DAVE
    assert p.add_member(email="erin@example.com").id == ERIN
    p.remove_member(CAROL)
    p.earn(ALICE, 1000)
    p.earn(BOB, 50)

    assert p.add_rule(name="fixed", points=10).id == FIXED
    assert p.add_rule(name="inactive", points=10, active=False).id == INACTIVE
    assert p.add_rule(name="capped", points=10, cap=Cap(1, Window.LIFETIME)).id == CAPPED
    mult = p.add_rule(name="mult", kind=RuleKind.MULTIPLIER, multiplier=Decimal(1))
    assert mult.id == MULT
    assert p.add_rule(name="manual", points=20, approval=Approval.MANUAL).id == MANUAL
    order_rule = p.add_rule(
        name="order", kind=RuleKind.MULTIPLIER, multiplier=Decimal(1), trigger="order"
    )
    assert order_rule.id == ORDER
    p.award(ALICE, CAPPED)
    pending = p.award(ALICE, MANUAL)
    approved = p.award(ALICE, MANUAL)
    p.approve(approved.id)

    assert p.add_pool(name="exhausted", codes=["X1"]).id == EXHAUSTED_POOL
    assert p.add_pool(name="list", codes=["L1", "L2", "L3"]).id == LIST_POOL
    assert p.add_pool(name="gen", prefix="gen").id == GEN_POOL
    assert p.add_pool(name="expired", codes=["E1"], expires_at=START + HOUR).id == EXPIRED_POOL

    assert p.add_track(name="vip").id == VIP
    assert p.add_track(name="other").id == OTHER_TRACK
    assert p.add_tier(VIP, name="gold", threshold=10**6).id == GOLD
    assert p.add_tier(OTHER_TRACK, name="plain", threshold=10**6).id == PLAIN

    assert p.add_offer(name="offer", points_price=100, pool_id=LIST_POOL).id == OFFER
    assert p.add_offer(name="inactive", points_price=1, active=False).id == INACTIVE_OFFER
    exhausted = p.add_offer(name="exhausted", points_price=1, pool_id=EXHAUSTED_POOL)
    assert exhausted.id == EXHAUSTED_OFFER
    assert p.add_offer(name="dear", points_price=10**6).id == DEAR_OFFER
    var = p.add_offer(
        name="var", price_kind=PriceKind.VARIABLE, step=10, value_per_step=Decimal(1),
        min_points=10, max_points=500,
    )  # fmt: skip
    assert var.id == VAR_OFFER
    assert p.add_offer(name="gold", points_price=1, eligible_tiers=[GOLD]).id == GOLD_OFFER
    expired = p.add_offer(name="expired", points_price=1, pool_id=EXPIRED_POOL)
    assert expired.id == EXPIRED_POOL_OFFER
    short = p.add_offer(name="short", pool_id=LIST_POOL, reward_lifetime=HOUR)
    assert short.id == SHORT_LIVED_OFFER
    assert p.grant(BOB, EXHAUSTED_OFFER).code == "X1"
    assert p.grant(ALICE, SHORT_LIVED_OFFER).code == "L1"  # expires at START + 1h

    p.record_order(
        "O-1", member_id=ALICE, amount=Decimal(100), status=OrderStatus.PAID, updated_at=START
    )
    p.record_order(
        "O-U", member_id=ALICE, amount=Decimal(100), status=OrderStatus.UNPAID, updated_at=START
    )
    p.record_order(
        "O-R", member_id=ALICE, amount=Decimal(50), status=OrderStatus.PAID, updated_at=START
    )
    p.return_order("O-R")
    p.refer(BOB, receiver_id=DAVE)
    clock.set(NOW)
    return p, {"pending": pending.id, "approved": approved.id, "posted": 1}


def C(
    name: str,
    call: Callable[[Program, dict[str, int]], Any],
    exc: type[LoyaltyError],
    needle: str,
    field: str | None = None,
    bug: str | None = None,
) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=f"BUG: {bug}")] if bug else []
    return pytest.param(call, exc, needle, field, id=name, marks=marks)


IA = InvalidArgument

CASES = [
    # ---------------------------------------------------------------- add_rule
    C("add_rule-name-int", lambda p, x: p.add_rule(name=5), IA, "5", "name"),
    C("add_rule-kind-unknown", lambda p, x: p.add_rule(name="r", kind="bogus"), IA, "bogus",
      "kind"),
    C("add_rule-points-negative", lambda p, x: p.add_rule(name="r", points=-1), IA, "-1", "points"),
    C("add_rule-points-bool", lambda p, x: p.add_rule(name="r", points=True), IA, "True", "points"),
    C("add_rule-points-float", lambda p, x: p.add_rule(name="r", points=1.5), IA, "1.5", "points"),
    C("add_rule-multiplier-float", lambda p, x: p.add_rule(
        name="r", kind=RuleKind.MULTIPLIER, multiplier=0.5), IA, "0.5", "multiplier"),
    C("add_rule-multiplier-zero", lambda p, x: p.add_rule(
        name="r", kind=RuleKind.MULTIPLIER), IA, "multiplier", "multiplier"),
    C("add_rule-multiplier-nan", lambda p, x: p.add_rule(
        name="r", kind=RuleKind.MULTIPLIER, multiplier=Decimal("NaN")), IA, "NaN", "multiplier"),
    C("add_rule-multiplier-text", lambda p, x: p.add_rule(
        name="r", multiplier="abc"), IA, "abc", "multiplier"),
    C("add_rule-multiplier-negative", lambda p, x: p.add_rule(
        name="r", kind=RuleKind.MULTIPLIER, multiplier=Decimal(-2)), IA, "-2", "multiplier"),
    C("add_rule-trigger-empty", lambda p, x: p.add_rule(name="r", trigger=""), IA, "trigger",
      "trigger"),
    C("add_rule-active-str", lambda p, x: p.add_rule(name="r", active="yes"), IA, "yes", "active"),
    C("add_rule-cap-tuple", lambda p, x: p.add_rule(name="r", cap=(1, "day")), IA, "(1, 'day')",
      "cap"),
    C("add_rule-cap-zero", lambda p, x: p.add_rule(name="r", cap=Cap(0, Window.DAY)), IA,
      "cap.max_awards", "cap.max_awards"),
    C("add_rule-cap-window", lambda p, x: p.add_rule(name="r", cap=Cap(1, "hour")), IA, "hour",
      "cap.window"),
    C("add_rule-lifetime-zero", lambda p, x: p.add_rule(
        name="r", points_lifetime=timedelta(0)), IA, "timedelta(0)", "points_lifetime"),
    C("add_rule-lifetime-int", lambda p, x: p.add_rule(name="r", points_lifetime=30), IA, "30",
      "points_lifetime"),
    C("add_rule-lifetime-beyond-a-century", lambda p, x: p.add_rule(
        name="r", points_lifetime=timedelta(days=36526)), IA, "36526 days", "points_lifetime"),
    C("add_rule-delay-beyond-a-century", lambda p, x: p.add_rule(
        name="r", approval=Approval.DELAYED, approval_delay=timedelta(days=40000)), IA,
      "40000 days", "approval_delay"),
    C("add_rule-approval-unknown", lambda p, x: p.add_rule(name="r", approval="later"), IA,
      "later", "approval"),
    C("add_rule-delay-negative", lambda p, x: p.add_rule(
        name="r", approval=Approval.DELAYED, approval_delay=-HOUR), IA, "days=-1",
      "approval_delay"),
    C("add_rule-metadata-list", lambda p, x: p.add_rule(name="r", metadata=[1, 2]), IA,
      "metadata", "metadata"),
    # ---------------------------------------------------------------- update_rule
    C("update_rule-unknown", lambda p, x: p.update_rule(99, points=1), RuleNotFound, "99"),
    C("update_rule-bad-field", lambda p, x: p.update_rule(FIXED, colour="red"), IA, "colour",
      "colour"),
    C("update_rule-id", lambda p, x: p.update_rule(FIXED, id=7), IA, "id", "id"),
    C("update_rule-points-negative", lambda p, x: p.update_rule(FIXED, points=-3), IA, "-3",
      "points"),
    C("update_rule-cap", lambda p, x: p.update_rule(FIXED, cap=Cap(-1, Window.DAY)), IA, "-1",
      "cap.max_awards"),
    # ---------------------------------------------------------------- add_pool
    C("add_pool-name-none", lambda p, x: p.add_pool(name=None), IA, "None", "name"),
    C("add_pool-codes-str", lambda p, x: p.add_pool(name="p", codes="ABC"), IA, "codes",
      "codes"),
    C("add_pool-codes-duplicate", lambda p, x: p.add_pool(name="p", codes=["Z", "Z"]), IA,
      "'Z'", "codes"),
    C("add_pool-codes-int", lambda p, x: p.add_pool(name="p", codes=["Z", 1]), IA, "1",
      "codes"),
    C("add_pool-codes-taken", lambda p, x: p.add_pool(name="p", codes=["L2"]), IA, "'L2'",
      "codes"),
    C("add_pool-codes-issued", lambda p, x: p.add_pool(name="p", codes=["X1"]), IA, "'X1'",
      "codes"),
    C("add_pool-prefix-empty", lambda p, x: p.add_pool(name="p", prefix=""), IA, "prefix",
      "prefix"),
    C("add_pool-both", lambda p, x: p.add_pool(name="p", prefix="a", codes=["Q"]), IA, "prefix",
      "codes"),
    C("add_pool-suffix-zero", lambda p, x: p.add_pool(name="p", prefix="a", suffix_length=0),
      IA, "suffix_length", "suffix_length"),
    C("add_pool-expiry-naive", lambda p, x: p.add_pool(name="p", expires_at=NAIVE), IA, "naive",
      "expires_at"),
    C("add_pool-expiry-str", lambda p, x: p.add_pool(name="p", expires_at="2024-01-01"), IA,
      "2024-01-01", "expires_at"),
    # ---------------------------------------------------------------- add_codes / update_pool
    C("add_codes-unknown", lambda p, x: p.add_codes(99, ["Q"]), PoolNotFound, "99"),
    C("add_codes-generator", lambda p, x: p.add_codes(GEN_POOL, ["Q"]), IA, "generates",
      "codes"),
    C("add_codes-duplicate", lambda p, x: p.add_codes(LIST_POOL, ["L3"]), IA, "'L3'", "codes"),
    C("add_codes-issued", lambda p, x: p.add_codes(LIST_POOL, ["L1"]), IA, "'L1'", "codes"),
    C("add_codes-empty", lambda p, x: p.add_codes(LIST_POOL, [""]), IA, "codes", "codes"),
    C("update_pool-unknown", lambda p, x: p.update_pool(99, name="q"), PoolNotFound, "99"),
    C("update_pool-codes", lambda p, x: p.update_pool(LIST_POOL, codes=("Q",)), IA, "codes",
      "codes"),
    C("update_pool-naive", lambda p, x: p.update_pool(LIST_POOL, expires_at=NAIVE), IA,
      "naive", "expires_at"),
    C("update_pool-name-int", lambda p, x: p.update_pool(LIST_POOL, name=3), IA, "3", "name"),
    # ---------------------------------------------------------------- add_offer / update_offer
    C("add_offer-name-none", lambda p, x: p.add_offer(name=None), IA, "None", "name"),
    C("add_offer-kind", lambda p, x: p.add_offer(name="o", price_kind="auction"), IA, "auction",
      "price_kind"),
    C("add_offer-price-negative", lambda p, x: p.add_offer(name="o", points_price=-1), IA, "-1",
      "points_price"),
    C("add_offer-price-bool", lambda p, x: p.add_offer(name="o", points_price=True), IA, "True",
      "points_price"),
    C("add_offer-price-float", lambda p, x: p.add_offer(name="o", points_price=10.0), IA, "10.0",
      "points_price"),
    C("add_offer-step-zero", lambda p, x: p.add_offer(name="o", step=0), IA, "step", "step"),
    C("add_offer-value-float", lambda p, x: p.add_offer(name="o", value=1.5), IA, "1.5", "value"),
    C("add_offer-value-text", lambda p, x: p.add_offer(name="o", value="five"), IA, "five",
      "value"),
    C("add_offer-step-value-float", lambda p, x: p.add_offer(name="o", value_per_step=0.1), IA,
      "0.1", "value_per_step"),
    C("add_offer-min-zero", lambda p, x: p.add_offer(name="o", min_points=0), IA, "min_points",
      "min_points"),
    C("add_offer-max-negative", lambda p, x: p.add_offer(name="o", max_points=-5), IA, "-5",
      "max_points"),
    C("add_offer-min-above-max", lambda p, x: p.add_offer(
        name="o", min_points=50, max_points=10), IA, "max_points", "min_points"),
    C("add_offer-pool-unknown", lambda p, x: p.add_offer(name="o", pool_id=99), PoolNotFound,
      "99"),
    C("add_offer-tier-unknown", lambda p, x: p.add_offer(name="o", eligible_tiers=[99]),
      TierNotFound, "99"),
    C("add_offer-active-int", lambda p, x: p.add_offer(name="o", active=1), IA, "1", "active"),
    C("add_offer-lifetime-zero", lambda p, x: p.add_offer(
        name="o", reward_lifetime=timedelta(0)), IA, "timedelta(0)", "reward_lifetime"),
    C("add_offer-lifetime-int", lambda p, x: p.add_offer(name="o", reward_lifetime=5), IA, "5",
      "reward_lifetime"),
    C("add_offer-lifetime-beyond-a-century", lambda p, x: p.add_offer(
        name="o", reward_lifetime=timedelta(days=3_000_000)), IA, "3000000 days",
      "reward_lifetime"),
    C("add_offer-pool-bool", lambda p, x: p.add_offer(name="o", pool_id=True), PoolNotFound,
      "True"),
    C("add_offer-tiers-int", lambda p, x: p.add_offer(name="o", eligible_tiers=5), IA,
      "eligible_tiers", "eligible_tiers"),
    C("update_offer-unknown", lambda p, x: p.update_offer(99, active=False), OfferNotFound,
      "99"),
    C("update_offer-bad-field", lambda p, x: p.update_offer(OFFER, colour="red"), IA, "colour",
      "colour"),
    C("update_offer-price", lambda p, x: p.update_offer(OFFER, points_price=-1), IA, "-1",
      "points_price"),
    C("update_offer-pool", lambda p, x: p.update_offer(OFFER, pool_id=99), PoolNotFound, "99"),
    C("update_offer-value-float", lambda p, x: p.update_offer(OFFER, value=2.5), IA, "2.5",
      "value"),
    # ---------------------------------------------------------------- tracks and tiers
    C("add_track-name", lambda p, x: p.add_track(name=1), IA, "1", "name"),
    C("add_track-metric", lambda p, x: p.add_track(name="t", metric="visits"), IA, "visits",
      "metric"),
    C("add_track-window", lambda p, x: p.add_track(name="t", window="decade"), IA, "decade",
      "window"),
    C("add_track-window-day", lambda p, x: p.add_track(name="t", window=Window.DAY), IA, "week",
      "window"),
    C("add_tier-track-unknown", lambda p, x: p.add_tier(99, name="t", threshold=1),
      TrackNotFound, "99"),
    C("add_tier-track-bool", lambda p, x: p.add_tier(True, name="t", threshold=1),
      TrackNotFound, "True"),
    C("add_tier-name", lambda p, x: p.add_tier(VIP, name=None, threshold=1), IA, "None", "name"),
    C("add_tier-threshold-float", lambda p, x: p.add_tier(VIP, name="t", threshold=1.5), IA,
      "1.5", "threshold"),
    C("add_tier-threshold-negative", lambda p, x: p.add_tier(VIP, name="t", threshold=-5), IA,
      "-5", "threshold"),
    C("add_tier-threshold-inf", lambda p, x: p.add_tier(
        VIP, name="t", threshold=Decimal("Infinity")), IA, "Infinity", "threshold"),
    C("add_tier-multiplier-float", lambda p, x: p.add_tier(
        VIP, name="t", threshold=1, multiplier=1.5), IA, "1.5", "multiplier"),
    C("update_tier-unknown", lambda p, x: p.update_tier(99, name="t"), TierNotFound, "99"),
    C("update_tier-move", lambda p, x: p.update_tier(GOLD, track_id=OTHER_TRACK), IA, "track",
      "track_id"),
    C("update_tier-threshold", lambda p, x: p.update_tier(GOLD, threshold="lots"), IA, "lots",
      "threshold"),
    C("update_tier-bad-field", lambda p, x: p.update_tier(GOLD, colour="red"), IA, "colour",
      "colour"),
    # ---------------------------------------------------------------- referral rewards
    C("set_referral_rewards-negative", lambda p, x: p.set_referral_rewards(sender_points=-1), IA,
      "-1", "sender_points"),
    C("set_referral_rewards-bool", lambda p, x: p.set_referral_rewards(receiver_points=True), IA,
      "True", "receiver_points"),
    C("set_referral_rewards-offer", lambda p, x: p.set_referral_rewards(sender_offer_id=99),
      OfferNotFound, "99"),
    # ---------------------------------------------------------------- add_member
    C("add_member-email-no-at", lambda p, x: p.add_member(email="nobody"), IA, "nobody",
      "email"),
    C("add_member-email-empty", lambda p, x: p.add_member(email=""), IA, "email", "email"),
    C("add_member-email-int", lambda p, x: p.add_member(email=5), IA, "5", "email"),
    C("add_member-email-dup", lambda p, x: p.add_member(email="alice@example.com"),
      DuplicateMember, "alice@example.com"),
    C("add_member-email-dup-case", lambda p, x: p.add_member(email="ALICE@example.com"),
      DuplicateMember, "ALICE@example.com"),
    C("add_member-xid-dup", lambda p, x: p.add_member(external_id="bob"), DuplicateMember,
      "'bob'"),
    C("add_member-xid-empty", lambda p, x: p.add_member(external_id=" "), IA, "external_id",
      "external_id"),
    C("add_member-first-name", lambda p, x: p.add_member(first_name=5), IA, "5", "first_name"),
    C("add_member-birthday-datetime", lambda p, x: p.add_member(birthday=START), IA, "2024",
      "birthday"),
    C("add_member-birthday-str", lambda p, x: p.add_member(birthday="1990-01-01"), IA,
      "1990-01-01", "birthday"),
    C("add_member-state", lambda p, x: p.add_member(state="vip"), IA, "vip", "state"),
    C("add_member-metadata-list", lambda p, x: p.add_member(metadata=[1, 2]), IA, "metadata",
      "metadata"),
    C("add_member-key-empty", lambda p, x: p.add_member(idempotency_key=""), IA,
      "idempotency_key", "idempotency_key"),
    # ---------------------------------------------------------------- update / remove member
    C("update_member-unknown", lambda p, x: p.update_member(99, first_name="x"), MemberNotFound,
      "99"),
    C("update_member-id-str", lambda p, x: p.update_member("1", first_name="x"), IA, "'1'",
      "member_id"),
    C("update_member-id", lambda p, x: p.update_member(ALICE, id=9), IA, "id", "id"),
    C("update_member-referral-code", lambda p, x: p.update_member(ALICE, referral_code="r"), IA,
      "referral_code", "referral_code"),
    C("update_member-email-dup", lambda p, x: p.update_member(ALICE, email="BOB@example.com"),
      DuplicateMember, "BOB@example.com"),
    C("update_member-xid-dup", lambda p, x: p.update_member(ALICE, external_id="bob"),
      DuplicateMember, "'bob'"),
    C("update_member-bad-field", lambda p, x: p.update_member(ALICE, colour="red"), IA, "colour",
      "colour"),
    C("update_member-state", lambda p, x: p.update_member(ALICE, state="gone"), IA, "gone",
      "state"),
    C("update_member-email", lambda p, x: p.update_member(ALICE, email="no-at"), IA, "no-at",
      "email"),
    C("remove_member-unknown", lambda p, x: p.remove_member(99), MemberNotFound, "99"),
    C("remove_member-bool", lambda p, x: p.remove_member(True), IA, "True", "member_id"),
    # ---------------------------------------------------------------- set_tier
    C("set_tier-member", lambda p, x: p.set_tier(99, VIP, GOLD), MemberNotFound, "99"),
    C("set_tier-member-str", lambda p, x: p.set_tier("1", VIP, GOLD), IA, "'1'", "member_id"),
    C("set_tier-track", lambda p, x: p.set_tier(ALICE, 99, GOLD), TrackNotFound, "99"),
    C("set_tier-tier", lambda p, x: p.set_tier(ALICE, VIP, 99), TierNotFound, "99"),
    C("set_tier-other-track", lambda p, x: p.set_tier(ALICE, VIP, PLAIN), TierNotFound,
      str(PLAIN)),
    # ---------------------------------------------------------------- earn
    C("earn-member-unknown", lambda p, x: p.earn(99, 10), MemberNotFound, "99"),
    C("earn-member-str", lambda p, x: p.earn("1", 10), IA, "'1'", "member_id"),
    C("earn-member-bool", lambda p, x: p.earn(True, 10), IA, "True", "member_id"),
    C("earn-member-float", lambda p, x: p.earn(1.0, 10), IA, "1.0", "member_id"),
    C("earn-member-disabled", lambda p, x: p.earn(CAROL, 10), MemberDisabled, str(CAROL)),
    C("earn-zero", lambda p, x: p.earn(ALICE, 0), IA, "zero", "points"),
    C("earn-negative", lambda p, x: p.earn(ALICE, -5), IA, "-5", "points"),
    C("earn-bool", lambda p, x: p.earn(ALICE, True), IA, "True", "points"),
    C("earn-float", lambda p, x: p.earn(ALICE, 1.5), IA, "1.5", "points"),
    C("earn-decimal", lambda p, x: p.earn(ALICE, Decimal(10)), IA, "10", "points"),
    C("earn-str", lambda p, x: p.earn(ALICE, "10"), IA, "'10'", "points"),
    C("earn-none", lambda p, x: p.earn(ALICE, None), IA, "None", "points"),
    C("earn-description", lambda p, x: p.earn(ALICE, 5, description=5), IA, "5", "description"),
    C("earn-lifetime-zero", lambda p, x: p.earn(ALICE, 5, lifetime=timedelta(0)), IA,
      "timedelta(0)", "lifetime"),
    C("earn-lifetime-negative", lambda p, x: p.earn(ALICE, 5, lifetime=-HOUR), IA, "days=-1",
      "lifetime"),
    C("earn-lifetime-int", lambda p, x: p.earn(ALICE, 5, lifetime=3600), IA, "3600", "lifetime"),
    C("earn-key-int", lambda p, x: p.earn(ALICE, 5, idempotency_key=5), IA, "5",
      "idempotency_key"),
    # ---------------------------------------------------------------- spend
    C("spend-too-much", lambda p, x: p.spend(ALICE, 5000), InsufficientPoints, "5000"),
    C("spend-pending-not-spendable", lambda p, x: p.spend(BOB, 51), InsufficientPoints, "51"),
    C("spend-zero", lambda p, x: p.spend(ALICE, 0), IA, "zero", "points"),
    C("spend-negative", lambda p, x: p.spend(ALICE, -5), IA, "-5", "points"),
    C("spend-bool", lambda p, x: p.spend(ALICE, True), IA, "True", "points"),
    C("spend-float", lambda p, x: p.spend(ALICE, 2.0), IA, "2.0", "points"),
    C("spend-unknown", lambda p, x: p.spend(99, 1), MemberNotFound, "99"),
    C("spend-disabled", lambda p, x: p.spend(CAROL, 1), MemberDisabled, str(CAROL)),
    C("spend-kind", lambda p, x: p.spend(ALICE, 1, kind=TxnKind.EARN), IA, "earn", "kind"),
    C("spend-description", lambda p, x: p.spend(ALICE, 1, description=None), IA, "None",
      "description"),
    # ---------------------------------------------------------------- adjust
    C("adjust-zero", lambda p, x: p.adjust(ALICE, 0), IA, "zero", "points_change"),
    C("adjust-float", lambda p, x: p.adjust(ALICE, -1.0), IA, "-1.0", "points_change"),
    C("adjust-bool", lambda p, x: p.adjust(ALICE, False), IA, "False", "points_change"),
    C("adjust-below-zero", lambda p, x: p.adjust(BOB, -51), InsufficientPoints, "51"),
    C("adjust-lifetime", lambda p, x: p.adjust(ALICE, 5, lifetime=timedelta(0)), IA, "timedelta(0)",
      "lifetime"),
    C("adjust-unknown", lambda p, x: p.adjust(99, 5), MemberNotFound, "99"),
    C("adjust-disabled", lambda p, x: p.adjust(CAROL, 5), MemberDisabled, str(CAROL)),
    # ---------------------------------------------------------------- award
    C("award-member-unknown", lambda p, x: p.award(99, FIXED), MemberNotFound, "99"),
    C("award-member-disabled", lambda p, x: p.award(CAROL, FIXED), MemberDisabled, str(CAROL)),
    C("award-rule-unknown", lambda p, x: p.award(ALICE, 99), RuleNotFound, "99"),
    C("award-rule-str", lambda p, x: p.award(ALICE, "1"), RuleNotFound, "'1'"),
    C("award-rule-bool", lambda p, x: p.award(ALICE, True), RuleNotFound, "True"),
    C("award-rule-float", lambda p, x: p.award(ALICE, 1.0), RuleNotFound, "1.0"),
    C("award-rule-list", lambda p, x: p.award(ALICE, [1]), RuleNotFound, "[1]"),
    C("award-inactive", lambda p, x: p.award(ALICE, INACTIVE), RuleInactive, "inactive"),
    C("award-capped", lambda p, x: p.award(ALICE, CAPPED), CapReached, "cap of 1"),
    C("award-mult-no-amount", lambda p, x: p.award(ALICE, MULT), IA, "amount", "amount"),
    C("award-mult-float", lambda p, x: p.award(ALICE, MULT, amount=9.99), IA, "9.99", "amount"),
    C("award-mult-negative", lambda p, x: p.award(ALICE, MULT, amount=Decimal(-5)), IA, "-5",
      "amount"),
    C("award-mult-zero-value", lambda p, x: p.award(ALICE, MULT, amount=Decimal("0.5")), IA,
      "0 points", "points"),
    C("award-mult-points", lambda p, x: p.award(ALICE, MULT, amount=Decimal(5), points=5), IA,
      "amount", "points"),
    C("award-points-zero", lambda p, x: p.award(ALICE, FIXED, points=0), IA, "zero", "points"),
    C("award-points-negative", lambda p, x: p.award(ALICE, FIXED, points=-1), IA, "-1",
      "points"),
    C("award-points-bool", lambda p, x: p.award(ALICE, FIXED, points=True), IA, "True",
      "points"),
    C("award-due-naive", lambda p, x: p.award(ALICE, FIXED, auto_approve_at=NAIVE), IA, "naive",
      "auto_approve_at"),
    C("award-description", lambda p, x: p.award(ALICE, FIXED, description=1), IA, "1",
      "description"),
    C("award-order-empty", lambda p, x: p.award(ALICE, FIXED, order_id=""), IA, "order_id",
      "order_id"),
    C("award-order-other-member", lambda p, x: p.award(BOB, FIXED, order_id="O-1"), IA, "O-1",
      "order_id"),
    # ---------------------------------------------------------------- approve / reject
    C("approve-unknown", lambda p, x: p.approve(999), TransactionNotFound, "999"),
    C("approve-zero", lambda p, x: p.approve(0), TransactionNotFound, "0"),
    C("approve-str", lambda p, x: p.approve("1"), IA, "'1'", "txn_id"),
    C("approve-bool", lambda p, x: p.approve(True), IA, "True", "txn_id"),
    C("approve-posted", lambda p, x: p.approve(x["posted"]), NotPending, "1"),
    C("approve-resolved", lambda p, x: p.approve(x["approved"]), AlreadyResolved, "posted"),
    C("approve-by-int", lambda p, x: p.approve(x["pending"], by=5), IA, "5", "by"),
    C("reject-unknown", lambda p, x: p.reject(999), TransactionNotFound, "999"),
    C("reject-resolved", lambda p, x: p.reject(x["approved"]), AlreadyResolved, "already"),
    C("reject-posted", lambda p, x: p.reject(x["posted"]), NotPending, "not a pending"),
    # ---------------------------------------------------------------- expire_due
    C("expire_due-naive", lambda p, x: p.expire_due(NAIVE), IA, "naive", "now"),
    C("expire_due-str", lambda p, x: p.expire_due("2024-01-01"), IA, "2024-01-01", "now"),
    # ---------------------------------------------------------------- redeem
    C("redeem-member-unknown", lambda p, x: p.redeem(99, OFFER), MemberNotFound, "99"),
    C("redeem-member-disabled", lambda p, x: p.redeem(CAROL, OFFER), MemberDisabled,
      str(CAROL)),
    C("redeem-offer-unknown", lambda p, x: p.redeem(ALICE, 99), OfferNotFound, "99"),
    C("redeem-offer-bool", lambda p, x: p.redeem(ALICE, True), OfferNotFound, "True"),
    C("redeem-inactive", lambda p, x: p.redeem(ALICE, INACTIVE_OFFER), OfferInactive,
      "inactive"),
    C("redeem-exhausted", lambda p, x: p.redeem(ALICE, EXHAUSTED_OFFER), PoolExhausted,
      f"pool {EXHAUSTED_POOL}"),
    C("redeem-pool-expired", lambda p, x: p.redeem(ALICE, EXPIRED_POOL_OFFER), PoolExpired,
      f"pool {EXPIRED_POOL}"),
    C("redeem-too-dear", lambda p, x: p.redeem(ALICE, DEAR_OFFER), InsufficientPoints,
      "1000000"),
    C("redeem-tier", lambda p, x: p.redeem(ALICE, GOLD_OFFER), TierNotEligible,
      f"offer {GOLD_OFFER}"),
    C("redeem-fixed-points", lambda p, x: p.redeem(ALICE, OFFER, points=50), IA, "100",
      "points"),
    C("redeem-var-missing", lambda p, x: p.redeem(ALICE, VAR_OFFER), IA, "required", "points"),
    C("redeem-var-float", lambda p, x: p.redeem(ALICE, VAR_OFFER, points=20.0), IA, "20.0",
      "points"),
    C("redeem-var-bool", lambda p, x: p.redeem(ALICE, VAR_OFFER, points=True), IA, "True",
      "points"),
    C("redeem-var-step", lambda p, x: p.redeem(ALICE, VAR_OFFER, points=25), IA, "25", "points"),
    C("redeem-var-min", lambda p, x: p.redeem(ALICE, VAR_OFFER, points=0), IA, "0", "points"),
    C("redeem-var-max", lambda p, x: p.redeem(ALICE, VAR_OFFER, points=510), IA, "510",
      "points"),
    C("redeem-var-short", lambda p, x: p.redeem(BOB, VAR_OFFER, points=60), InsufficientPoints,
      "60"),
    # ---------------------------------------------------------------- grant
    C("grant-offer-unknown", lambda p, x: p.grant(ALICE, 99), OfferNotFound, "99"),
    C("grant-member-disabled", lambda p, x: p.grant(CAROL, OFFER), MemberDisabled, str(CAROL)),
    C("grant-exhausted", lambda p, x: p.grant(ALICE, EXHAUSTED_OFFER), PoolExhausted,
      f"pool {EXHAUSTED_POOL}"),
    C("grant-source-empty", lambda p, x: p.grant(ALICE, OFFER, source=""), IA, "source",
      "source"),
    # ---------------------------------------------------------------- use_code
    C("use_code-unknown", lambda p, x: p.use_code("NOPE"), FulfillmentNotFound, "NOPE"),
    C("use_code-empty", lambda p, x: p.use_code(""), IA, "code", "code"),
    C("use_code-int", lambda p, x: p.use_code(5), IA, "5", "code"),
    C("use_code-expired", lambda p, x: p.use_code("L1"), FulfillmentExpired, "L1"),
    C("use_code-at-naive", lambda p, x: p.use_code("X1", at=NAIVE), IA, "naive", "at"),
    # ---------------------------------------------------------------- record_order
    C("record_order-id-empty", lambda p, x: _order(p, external_id=""), IA, "external_id",
      "external_id"),
    C("record_order-id-int", lambda p, x: _order(p, external_id=5), IA, "5", "external_id"),
    C("record_order-status", lambda p, x: _order(p, status="shipped"), IA, "shipped", "status"),
    C("record_order-amount-float", lambda p, x: _order(p, amount=19.99), IA, "19.99", "amount"),
    C("record_order-amount-bool", lambda p, x: _order(p, amount=True), IA, "True", "amount"),
    C("record_order-amount-text", lambda p, x: _order(p, amount="lots"), IA, "lots", "amount"),
    C("record_order-amount-nan", lambda p, x: _order(p, amount=Decimal("NaN")), IA, "NaN",
      "amount"),
    C("record_order-updated-naive", lambda p, x: _order(p, updated_at=NAIVE), IA, "naive",
      "updated_at"),
    C("record_order-updated-str", lambda p, x: _order(p, updated_at="2024-01-01"), IA,
      "2024-01-01", "updated_at"),
    C("record_order-created-naive", lambda p, x: _order(p, created_at=NAIVE), IA, "naive",
      "created_at"),
    C("record_order-coupons-str", lambda p, x: _order(p, coupons="SAVE"), IA, "coupons",
      "coupons"),
    C("record_order-coupons-int", lambda p, x: _order(p, coupons=[5]), IA, "5", "coupons"),
    C("record_order-subtotal-float", lambda p, x: _order(p, subtotal=1.5), IA, "1.5",
      "subtotal"),
    C("record_order-grand-total-float", lambda p, x: _order(p, grand_total=1.5), IA, "1.5",
      "grand_total"),
    C("record_order-member-unknown", lambda p, x: _order(p, member_id=99), MemberNotFound,
      "99"),
    C("record_order-member-str", lambda p, x: _order(p, member_id="1"), IA, "'1'", "member_id"),
    C("record_order-member-disabled", lambda p, x: _order(p, member_id=CAROL), MemberDisabled,
      str(CAROL)),
    C("record_order-other-member", lambda p, x: _order(p, external_id="O-1", member_id=BOB),
      IA, "O-1", "member_id"),
    # ---------------------------------------------------------------- return_order
    C("return_order-unknown", lambda p, x: p.return_order("NOPE"), OrderNotFound, "NOPE"),
    C("return_order-id-empty", lambda p, x: p.return_order(""), IA, "external_id",
      "external_id"),
    C("return_order-both", lambda p, x: p.return_order("O-1", amount=Decimal(1), points=1), IA,
      "amount", "amount"),
    C("return_order-amount-zero", lambda p, x: p.return_order("O-1", amount=Decimal(0)), IA,
      "amount", "amount"),
    C("return_order-amount-negative", lambda p, x: p.return_order("O-1", amount=Decimal(-1)),
      IA, "-1", "amount"),
    C("return_order-amount-float", lambda p, x: p.return_order("O-1", amount=1.5), IA, "1.5",
      "amount"),
    C("return_order-amount-over", lambda p, x: p.return_order("O-1", amount=Decimal("100.01")),
      OverReturn, "100.01"),
    C("return_order-points-over", lambda p, x: p.return_order("O-1", points=101), OverReturn,
      "101"),
    C("return_order-points-zero", lambda p, x: p.return_order("O-1", points=0), IA, "zero",
      "points"),
    C("return_order-points-bool", lambda p, x: p.return_order("O-1", points=True), IA, "True",
      "points"),
    C("return_order-unpaid", lambda p, x: p.return_order("O-U"), OverReturn, "O-U"),
    C("return_order-refunded", lambda p, x: p.return_order("O-R"), OverReturn, "refunded"),
    # ---------------------------------------------------------------- refer
    C("refer-sender-unknown", lambda p, x: p.refer(99, receiver_id=ERIN), MemberNotFound, "99"),
    C("refer-sender-disabled", lambda p, x: p.refer(CAROL, receiver_id=ERIN), MemberDisabled,
      str(CAROL)),
    C("refer-no-receiver", lambda p, x: p.refer(ALICE), IA, "receiver", "receiver_id"),
    C("refer-email-unknown", lambda p, x: p.refer(ALICE, receiver_email="ghost@example.com"),
      MemberNotFound, "ghost@example.com"),
    C("refer-email-int", lambda p, x: p.refer(ALICE, receiver_email=5), IA, "5",
      "receiver_email"),
    C("refer-receiver-unknown", lambda p, x: p.refer(ALICE, receiver_id=99), MemberNotFound,
      "99"),
    C("refer-receiver-disabled", lambda p, x: p.refer(ALICE, receiver_id=CAROL),
      MemberDisabled, str(CAROL)),
    C("refer-self", lambda p, x: p.refer(ERIN, receiver_id=ERIN), SelfReferral, str(ERIN)),
    C("refer-self-email", lambda p, x: p.refer(ERIN, receiver_email="Erin@Example.com"),
      SelfReferral, str(ERIN)),
    C("refer-already-referred", lambda p, x: p.refer(ALICE, receiver_id=DAVE), IA, str(DAVE),
      "receiver_id"),
    C("refer-already-ordered", lambda p, x: p.refer(BOB, receiver_id=ALICE), IA, str(ALICE),
      "receiver_id"),
    # ---------------------------------------------------------------- lookups
    C("member-unknown", lambda p, x: p.member(99), MemberNotFound, "99"),
    C("member_by_email-unknown", lambda p, x: p.member_by_email("x@y.z"), MemberNotFound,
      "x@y.z"),
    C("member_by_external_id-unknown", lambda p, x: p.member_by_external_id("zz"),
      MemberNotFound, "zz"),
    C("rule-unknown", lambda p, x: p.rule(99), RuleNotFound, "99"),
    C("offer-unknown", lambda p, x: p.offer(99), OfferNotFound, "99"),
    C("pool-unknown", lambda p, x: p.pool(99), PoolNotFound, "99"),
    C("pool_remaining-unknown", lambda p, x: p.pool_remaining(99), PoolNotFound, "99"),
    C("track-unknown", lambda p, x: p.track(99), TrackNotFound, "99"),
    C("tiers-unknown", lambda p, x: p.tiers(99), TrackNotFound, "99"),
    C("tier-unknown", lambda p, x: p.tier(99), TierNotFound, "99"),
    C("transaction-unknown", lambda p, x: p.transaction(999), TransactionNotFound, "999"),
    C("transactions-unknown", lambda p, x: p.transactions(99), MemberNotFound, "99"),
    C("lots-unknown", lambda p, x: p.lots(99), MemberNotFound, "99"),
    C("expiry_schedule-unknown", lambda p, x: p.expiry_schedule(99), MemberNotFound, "99"),
    C("award_usage-unknown", lambda p, x: p.award_usage(999), TransactionNotFound, "999"),
    C("fulfillment-unknown", lambda p, x: p.fulfillment(99), FulfillmentNotFound, "99"),
    C("fulfillment_by_code-unknown", lambda p, x: p.fulfillment_by_code("Q"),
      FulfillmentNotFound, "Q"),
    C("order-unknown", lambda p, x: p.order("Q-1"), OrderNotFound, "Q-1"),
    C("referral-unknown", lambda p, x: p.referral(99), ReferralNotFound, "99"),
]  # fmt: skip


def _order(p: Program, **changes: Any) -> Any:
    args: dict[str, Any] = {
        "external_id": "NEW",
        "member_id": ALICE,
        "amount": Decimal(10),
        "status": OrderStatus.PAID,
        "updated_at": NOW,
    }
    args.update(changes)
    external_id = args.pop("external_id")
    return p.record_order(external_id, **args)


@pytest.fixture(scope="module")
def world_document() -> dict[str, Any]:
    program, extra = build_world()
    return {"snapshot": program.snapshot(), "extra": extra}


@pytest.fixture
def world(world_document: dict[str, Any]) -> tuple[Program, dict[str, int]]:
    program = Program.restore(world_document["snapshot"], ManualClock(NOW))
    return program, world_document["extra"]


def test_world_is_as_described() -> None:
    p, extra = build_world()
    assert p.member(CAROL).state is MemberState.DISABLED
    assert p.member(ALICE).balance == 1000 + 10 + 20 + 100
    assert p.member(ALICE).pending == 20
    assert p.transaction(extra["pending"]).status.value == "pending"
    assert p.pool_remaining(EXHAUSTED_POOL) == 0
    assert p.fulfillment_by_code("L1").expires_at == START + HOUR
    assert p.order("O-R").status is OrderStatus.REFUNDED
    # nothing time-driven is due at NOW, so a failed command has nothing to catch up on
    assert p.expire_due() == []


@pytest.mark.parametrize(("call", "exc", "needle", "field"), CASES)
def test_bad_input_is_refused_and_changes_nothing(
    world: tuple[Program, dict[str, int]],
    call: Callable[[Program, dict[str, int]], Any],
    exc: type[LoyaltyError],
    needle: str,
    field: str | None,
) -> None:
    program, extra = world
    snapshot = program.snapshot()
    state = program.state()
    with pytest.raises(LoyaltyError) as info:
        call(program, extra)
    assert type(info.value) is exc, f"{type(info.value).__name__}: {info.value}"
    assert info.value.code == exc.code
    message = str(info.value)
    assert needle in message, message
    if field is not None:
        assert isinstance(info.value, InvalidArgument)
        assert info.value.field == field
    assert program.snapshot() == snapshot
    assert program.state() == state


def test_the_world_still_works_after_every_failure(
    world: tuple[Program, dict[str, int]],
) -> None:
    program, extra = world
    for param in CASES:
        call = param.values[0]
        with contextlib.suppress(LoyaltyError):
            call(program, extra)
    assert program.redeem(ALICE, OFFER).code == "L2"
    assert program.approve(extra["pending"]).status.value == "posted"


# ------------------------------------------------------------------------ thread safety


def test_threads_earning_and_spending_keep_exact_balances() -> None:
    clock = ManualClock(START)
    program = Program(clock, seed=1)
    members = [program.add_member(email=f"t{i}@example.com").id for i in range(4)]
    for m in members:
        program.earn(m, 1000)
    threads = 8
    rounds = 300
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(rounds):
                member_id = members[(worker + i) % len(members)]
                program.earn(member_id, 3 + worker)
                with contextlib.suppress(InsufficientPoints):
                    program.spend(member_id, 2 + (i % 5))
                if i % 50 == 0:
                    program.adjust(member_id, 1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    txns = program.transactions()
    assert [t.id for t in txns] == list(range(1, len(txns) + 1))
    for m in members:
        view = program.member(m)
        mine = [t for t in txns if t.member_id == m]
        assert view.balance == sum(t.points for t in mine)
        assert view.balance == sum(lot.remaining for lot in program.lots(m))
        assert view.earned == sum(t.points for t in mine if t.points > 0)
        assert view.spent == -sum(t.points for t in mine if t.points < 0)
    expected_total = 4 * 1000 + sum(
        (3 + w) * rounds + len(range(0, rounds, 50)) for w in range(threads)
    )
    assert sum(program.member(m).earned for m in members) == expected_total
    assert Program.replay(program.journal(), clock).state() == program.state()


def test_threads_redeeming_from_one_pool_never_share_a_code() -> None:
    clock = ManualClock(START)
    program = Program(clock, seed=1)
    codes = [f"C{i:03d}" for i in range(100)]
    pool = program.add_pool(name="p", codes=codes)
    offer = program.add_offer(name="o", points_price=1, pool_id=pool.id)
    members = [program.add_member(email=f"r{i}@example.com").id for i in range(6)]
    for m in members:
        program.earn(m, 1000)
    exhausted: list[int] = []

    def work(member_id: int) -> None:
        for _ in range(30):
            try:
                program.redeem(member_id, offer.id)
            except PoolExhausted:
                exhausted.append(member_id)

    threads = [threading.Thread(target=work, args=(m,)) for m in members]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    issued = [f.code for f in program.fulfillments()]
    assert sorted(issued) == codes  # type: ignore[type-var]
    assert len(exhausted) == 6 * 30 - 100
    assert sum(program.member(m).spent for m in members) == 100


def test_threads_with_a_moving_clock_keep_the_ledger_consistent() -> None:
    clock = ManualClock(START)
    program = Program(clock, seed=2)
    members = [program.add_member(email=f"c{i}@example.com").id for i in range(3)]
    rule = program.add_rule(
        name="delayed", points=5, approval=Approval.DELAYED, approval_delay=timedelta(minutes=30)
    )
    stop = threading.Event()
    errors: list[BaseException] = []

    def tick() -> None:
        while not stop.is_set():
            clock.advance(timedelta(minutes=7))

    def work(worker: int) -> None:
        try:
            for i in range(150):
                member_id = members[(worker + i) % len(members)]
                program.earn(member_id, 10, lifetime=timedelta(hours=1 + i % 3))
                program.award(member_id, rule.id)
                with contextlib.suppress(InsufficientPoints):
                    program.spend(member_id, 7)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    ticker = threading.Thread(target=tick)
    workers = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    ticker.start()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    stop.set()
    ticker.join()
    assert errors == []
    clock.advance(timedelta(days=1))
    program.expire_due()
    for m in members:
        view = program.member(m)
        txns = [t for t in program.transactions(m) if t.status.value == "posted"]
        assert view.pending == 0
        assert view.balance == sum(t.points for t in txns)
        assert view.earned == view.balance + view.spent + view.expired
        lots = program.lots(m)
        assert all(lot.expires_at is None for lot in lots)  # every expiring lot is gone
        assert sum(lot.remaining for lot in lots) == view.balance
    total_awards = sum(t.points for t in program.transactions() if t.kind is TxnKind.AWARD)
    assert total_awards == 4 * 150 * 5  # every delayed award approved itself
    replayed = Program.replay(program.journal(), clock)
    assert replayed.state() == program.state()


def test_a_command_that_fails_half_way_is_undone(
    world: tuple[Program, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The safety net behind validation: an unexpected error after a command has emitted
    events (here: folding the award of an order, after the order itself was journaled)
    cuts the journal back and rebuilds the state, so no half command survives."""
    p, _ = world
    before, length, balance = p.state(), len(p.journal()), p.member(ALICE).balance
    state = p._state
    journaled_before_failure: list[int] = []

    def failing_fold(row: object) -> None:
        journaled_before_failure.append(len(p._journal))
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(state, "on_transaction", failing_fold)
    with pytest.raises(RuntimeError, match="disk on fire"):
        _order(p, external_id="HALF")
    assert journaled_before_failure[0] >= length + 2, "the order and its award were journaled"
    assert len(p.journal()) == length
    assert p.state() == before
    assert p._state is not state  # rebuilt from the journal
    assert audit(p) == []
    placed = _order(p, external_id="HALF")  # and the program goes on
    assert placed.status is OrderStatus.PAID
    assert p.member(ALICE).balance > balance


def test_undoing_a_failed_command_keeps_the_time_driven_events_it_caught_up_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = ManualClock(START)
    p = Program(clock)
    alice = p.add_member(email="a@example.com")
    p.earn(alice.id, 50, lifetime=HOUR)
    clock.advance(2 * HOUR)
    real_apply = p._state.apply

    def failing_apply(event: object) -> None:
        # The fold gets a transaction as its stored row (an exact tuple, see ledger.Row).
        if not isinstance(event, tuple) or from_row(event).kind is not TxnKind.EXPIRE:
            raise RuntimeError("disk on fire")
        real_apply(event)

    monkeypatch.setattr(p._state, "apply", failing_apply)
    with pytest.raises(RuntimeError):
        p.add_member(email="b@example.com")
    last = p.journal()[-1]  # read before any call could catch up again
    assert isinstance(last, Transaction) and last.kind is TxnKind.EXPIRE
    assert [m.id for m in p.members()] == [alice.id]
    kinds = [t.kind for t in p.transactions(member_id=alice.id)]
    assert kinds == [TxnKind.EARN, TxnKind.EXPIRE]
    assert p.member(alice.id).balance == 0


def test_atomic_groups_commands_into_one_unit() -> None:
    p = Program(ManualClock(START))
    with pytest.raises(InvalidArgument), p.atomic():
        member = p.add_member(email="new@example.com")
        p.earn(member.id, 10)
        p.earn(member.id, -5)  # refused: the whole block is undone
    assert p.members() == [] and p.journal() == []
    with p.atomic():
        member = p.add_member(email="new@example.com")
        p.earn(member.id, 10)
    assert p.member(member.id).balance == 10
    assert audit(p) == []
