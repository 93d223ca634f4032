"""The business rules of DESIGN.md sections 2-3, checked on each fact as the audit folds it.

Every function receives the audit's reference model (`_audit_fold.Fold`) as it stands just
before the fact is applied, so "the member's tier when the award was made" or "the awards
already counted in this cap window" are known without trusting the program's state. Each
broken rule is reported through `fold.fail(code, member_id, details)`; nothing raises.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from loyaltykit.errors import InvalidArgument
from loyaltykit.events import AwardResolved, PeriodRolled, RewardIssued
from loyaltykit.ledger import Transaction, TxnKind, TxnStatus
from loyaltykit.limits import MAX_POINTS, MAX_TOTAL_POINTS
from loyaltykit.members import MemberProfile
from loyaltykit.orders import ClawbackPolicy, Order, OrderStatus
from loyaltykit.referrals import Referral, ReferralStatus
from loyaltykit.rewards import (
    REDEMPTION,
    Fulfillment,
    PriceKind,
    RewardOffer,
    UsageStatus,
    price_and_value,
)
from loyaltykit.rules import (
    Approval,
    RuleKind,
    award_basis_of,
    window_end,
    window_start,
)

if TYPE_CHECKING:
    from loyaltykit._audit_fold import Fold, RefAccount

__all__ = [
    "check_approval",
    "check_award",
    "check_clawback",
    "check_expiry",
    "check_fulfillment_update",
    "check_order",
    "check_order_totals",
    "check_profile",
    "check_referral",
    "check_reward",
    "check_rollover",
    "check_transaction",
    "check_uploaded",
    "finish",
]

_CREDITS = frozenset({TxnKind.EARN, TxnKind.AWARD})
_DEBITS = frozenset(
    {TxnKind.SPEND, TxnKind.REDEEM, TxnKind.EXPIRE, TxnKind.CLAWBACK, TxnKind.SETTLE}
)
_FINAL = (OrderStatus.REFUNDED, OrderStatus.DELETED)


# -- ledger ---------------------------------------------------------------------------


def check_transaction(fold: Fold, txn: Transaction) -> None:
    """Points within range and signed as the kind says; only awards wait for approval."""
    points = txn.points
    if points == 0 or abs(points) > MAX_POINTS:
        fold.fail("points_range", txn.member_id, f"transaction {txn.id} moves {points} points")
    if (txn.kind in _CREDITS and points < 0) or (txn.kind in _DEBITS and points > 0):
        fold.fail("points_sign", txn.member_id, f"{txn.kind} {txn.id} of {points} points")
    if txn.status is TxnStatus.REJECTED or (
        txn.status is TxnStatus.PENDING and txn.kind is not TxnKind.AWARD
    ):
        fold.fail("txn_status", txn.member_id, f"{txn.kind} {txn.id} recorded {txn.status}")


def check_award(fold: Fold, account: RefAccount, txn: Transaction) -> None:
    """An award obeys its rule as it stood: active, capped, multiplied, approved, dated."""
    assert txn.rule_id is not None
    rule = fold.rules.get(txn.rule_id)
    member_id = txn.member_id
    if rule is None:
        fold.fail("unknown_rule", member_id, f"award {txn.id} names rule {txn.rule_id}")
        return
    if not rule.active:
        fold.fail("inactive_rule", member_id, f"award {txn.id} by inactive rule {rule.id}")
    if rule.cap is not None:
        times = account.award_times.get(rule.id, [])
        start = window_start(rule.cap.window, txn.created_at, fold.zone)
        count = len(times) if start is None else sum(1 for t in times if t >= start)
        if count >= rule.cap.max_awards:
            fold.fail(
                "cap_exceeded",
                member_id,
                f"award {txn.id}: rule {rule.id} already awarded {count} times this "
                f"{rule.cap.window} (cap {rule.cap.max_awards})",
            )
    basis = award_basis_of(txn.reference)
    if basis is not None:
        best = fold.best_multiplier(account)
        expected = _points(rule.kind, rule.multiplier, basis, best)
        if expected != txn.points:
            fold.fail(
                "award_points",
                member_id,
                f"award {txn.id} of {txn.points} points; rule {rule.id} on {txn.reference} "
                f"with the best tier multiplier x{best} gives {expected}",
            )
    if rule.approval is not Approval.IMMEDIATE and txn.status is not TxnStatus.PENDING:
        fold.fail("approval_skipped", member_id, f"award {txn.id} of a {rule.approval} rule")
    if txn.status is TxnStatus.POSTED:
        lifetime = rule.points_lifetime
        expected_expiry = txn.created_at + lifetime if lifetime is not None else None
        if txn.expires_at != expected_expiry:
            fold.fail("award_expiry", member_id, f"award {txn.id} expires at {txn.expires_at}")
    elif txn.expires_at is not None:
        fold.fail("award_expiry", member_id, f"pending award {txn.id} already has an expiry")
    if txn.order_id is not None:
        order = fold.orders.get(txn.order_id)
        if rule.kind is RuleKind.FIXED and (txn.order_id, rule.id) in fold.order_awards:
            fold.fail(
                "order_awarded_twice",
                member_id,
                f"order {txn.order_id!r} earned fixed rule {rule.id} again (award {txn.id})",
            )
        if order is not None and order.status in _FINAL:
            fold.fail("award_on_final_order", member_id, f"order {txn.order_id!r} is final")
        if order is not None and order.member_id != member_id:
            fold.fail("order_member", member_id, f"award {txn.id} on another member's order")


def _points(
    kind: RuleKind,
    multiplier: Decimal,
    basis: tuple[Decimal | None, int | None],
    best: Decimal,
) -> int:
    """An award's points, computed apart from `rules.points_for`: the base (points, or
    amount times the rule's multiplier) times the tier multiplier, fractions dropped."""
    amount, points = basis
    fixed = kind is RuleKind.FIXED
    base = Decimal(points or 0) if fixed else (amount or Decimal(0)) * multiplier
    return int(base * best // 1)


def check_approval(fold: Fold, event: AwardResolved, txn: Transaction) -> None:
    """An approved award's lifetime starts at its approval."""
    rule = fold.rules.get(txn.rule_id) if txn.rule_id is not None else None
    lifetime = rule.points_lifetime if rule is not None else None
    expected = event.at + lifetime if lifetime is not None else None
    if event.expires_at != expected:
        fold.fail(
            "approval_expiry",
            txn.member_id,
            f"award {txn.id} approved at {event.at} expires at {event.expires_at}, not {expected}",
        )


def check_expiry(fold: Fold, account: RefAccount, txn: Transaction, lot: Transaction) -> None:
    """A lot expires once, at its expiry instant exactly, for all it still holds."""
    member_id = txn.member_id
    if lot.id in fold.expired_of:
        fold.fail("lot_expired_twice", member_id, f"lot {lot.id} expired again")
    if lot.expires_at is None or txn.created_at < lot.expires_at:
        fold.fail(
            "early_expiry",
            member_id,
            f"lot {lot.id} expired at {txn.created_at} before its expiry {lot.expires_at}",
        )
    elif txn.created_at > lot.expires_at:
        fold.fail(
            "late_expiry",
            member_id,
            f"lot {lot.id} expired at {txn.created_at}, after its expiry {lot.expires_at}",
        )
    left = account.remaining.get(lot.id, 0)
    if left != -txn.points:
        fold.fail(
            "expiry_amount",
            member_id,
            f"lot {lot.id} expired {-txn.points} points but had {left} left",
        )


def check_clawback(fold: Fold, order: Order, member_id: int) -> None:
    """An order never gives back more points than it earned."""
    if order.clawed_back > order.awarded:
        fold.fail(
            "over_clawback",
            member_id,
            f"order {order.external_id!r} clawed back {order.clawed_back} of the "
            f"{order.awarded} points it earned",
        )


# -- tiers, members, codes ------------------------------------------------------------


def check_rollover(fold: Fold, account: RefAccount, event: PeriodRolled) -> None:
    """A period ends for a member exactly when its calendar window does."""
    track = fold.tracks.get(event.track_id)
    period = account.metrics.get(event.track_id, (None, Decimal(0)))[0]
    if track is None or period is None or window_end(track.window, period) != event.at:
        fold.fail(
            "rollover_time",
            event.member_id,
            f"track {event.track_id} rolled over at {event.at} for a period begun {period}",
        )


def check_profile(fold: Fold, profile: MemberProfile) -> None:
    """Email (any case), external id and referral code each belong to one member."""
    for other in fold.profiles.values():
        if other.id == profile.id:
            continue
        for field, mine, theirs in (
            ("email", (profile.email or "").lower(), (other.email or "").lower()),
            ("external_id", profile.external_id, other.external_id),
            ("referral_code", profile.referral_code, other.referral_code),
        ):
            if mine and mine == theirs:
                fold.fail(
                    "duplicate_member",
                    profile.id,
                    f"{field} {mine!r} also belongs to member {other.id}",
                )


def check_uploaded(fold: Fold, codes: tuple[str, ...]) -> None:
    """An uploaded code is new to the whole program (so it is issued at most once)."""
    for code in codes:
        if code in fold.uploaded or code in fold.by_code:
            fold.fail("duplicate_code", None, f"coupon code {code!r} uploaded again")
        fold.uploaded.add(code)


# -- rewards --------------------------------------------------------------------------


def check_reward(fold: Fold, event: RewardIssued) -> None:
    """A reward comes from its offer's pool, once per code, before the pool expires, and a
    redemption is charged exactly the offer's price (a free reward charges nothing)."""
    reward = event.fulfillment
    member_id = reward.member_id
    offer = fold.offers.get(reward.offer_id)
    if offer is None:
        fold.fail("unknown_offer", member_id, f"reward {reward.id} of offer {reward.offer_id}")
        return
    if event.pool_id != offer.pool_id:
        fold.fail("reward_pool", member_id, f"reward {reward.id} drawn from pool {event.pool_id}")
    pool = fold.pools.get(event.pool_id) if event.pool_id is not None else None
    expires_at = reward.created_at + offer.reward_lifetime if offer.reward_lifetime else None
    if pool is not None:
        code = reward.code
        if code is None:
            fold.fail("reward_code", member_id, f"reward {reward.id} from a pool has no code")
        elif code in fold.by_code:
            fold.fail("code_issued_twice", None, f"coupon code {code!r} issued again")
        elif (pool.pool.generated and not code.startswith(f"{pool.pool.prefix}-")) or (
            not pool.pool.generated and code not in pool.available
        ):
            fold.fail("code_not_in_pool", member_id, f"code {code!r} is not in pool {pool.pool.id}")
        pool_expiry = pool.pool.expires_at
        if pool_expiry is not None:
            if reward.created_at >= pool_expiry:
                fold.fail("pool_expired_issue", member_id, f"pool {pool.pool.id} had expired")
            if expires_at is None or pool_expiry < expires_at:
                expires_at = pool_expiry
    if reward.expires_at != expires_at:
        fold.fail("reward_expiry", member_id, f"reward {reward.id} expires at {reward.expires_at}")
    if reward.source != REDEMPTION:
        if reward.points or reward.txn_id is not None:
            fold.fail("free_reward_charged", member_id, f"{reward.source} reward {reward.id}")
        return
    _check_redemption(fold, reward, offer)


def _check_redemption(fold: Fold, reward: Fulfillment, offer: RewardOffer) -> None:
    member_id = reward.member_id
    if not offer.active:
        fold.fail("inactive_offer", member_id, f"reward {reward.id} of inactive offer {offer.id}")
    if offer.eligible_tiers:
        account = fold.accounts[member_id]
        held = [fold.tier_of(account, track_id) for track_id in fold.tracks]
        if not {t.id for t in held if t is not None} & set(offer.eligible_tiers):
            fold.fail("tier_not_eligible", member_id, f"offer {offer.id} is for other tiers")
    try:
        asked = reward.points if offer.price_kind is PriceKind.VARIABLE else None
        price, value = price_and_value(offer, asked)
    except InvalidArgument as exc:
        price, value = -1, Decimal(-1)
        fold.fail("redemption_price", member_id, f"reward {reward.id}: {exc.message}")
    else:
        if (reward.points, reward.value) != (price, value):
            fold.fail(
                "redemption_price",
                member_id,
                f"reward {reward.id} cost {reward.points} points for {reward.value}; offer "
                f"{offer.id} asks {price} points for {value}",
            )
    txn = fold.txns.get(reward.txn_id) if reward.txn_id is not None else None
    charged = -txn.points if txn is not None else 0
    if reward.points and (
        txn is None
        or txn.kind is not TxnKind.REDEEM
        or txn.member_id != member_id
        or txn.reference != f"offer:{offer.id}"
        or charged != reward.points
    ):
        fold.fail(
            "redemption_charge",
            member_id,
            f"reward {reward.id} of {reward.points} points charged {charged} (txn {reward.txn_id})",
        )
    elif not reward.points and reward.txn_id is not None:
        fold.fail("redemption_charge", member_id, f"free reward {reward.id} names a transaction")


def check_fulfillment_update(fold: Fold, before: Fulfillment, after: Fulfillment) -> None:
    """Only usage changes, once, and never at or after the reward's expiry."""
    fixed = ("member_id", "offer_id", "points", "value", "code", "created_at", "txn_id", "source")
    if any(getattr(before, name) != getattr(after, name) for name in fixed):
        fold.fail("fulfillment_rewritten", after.member_id, f"reward {after.id} was rewritten")
    if after.usage is UsageStatus.USED:
        if before.usage is UsageStatus.USED:
            fold.fail("code_used_twice", after.member_id, f"reward {after.id} used again")
        elif after.used_at is None or (
            after.expires_at is not None and after.used_at >= after.expires_at
        ):
            fold.fail(
                "used_after_expiry",
                after.member_id,
                f"reward {after.id} used at {after.used_at}, expiry {after.expires_at}",
            )


# -- orders and referrals -------------------------------------------------------------


def check_order_totals(fold: Fold, kept: Order, recorded: Order) -> None:
    """A new version of an order carries the totals the ledger gave the previous one."""
    totals = ("awarded", "clawed_back", "pending_deduction", "txn_ids")
    for name in totals:
        if getattr(kept, name) != getattr(recorded, name):
            fold.fail(
                "order_totals",
                recorded.member_id,
                f"order {recorded.external_id!r} recorded {name}={getattr(recorded, name)}; "
                f"its ledger says {getattr(kept, name)}",
            )
            return


def check_order(fold: Fold, previous: Order | None, order: Order) -> None:
    """Returns stay within the order; a refunded or deleted order never changes again."""
    if not Decimal(0) <= order.returned_amount <= order.amount:
        fold.fail(
            "order_returned",
            order.member_id,
            f"order {order.external_id!r} returned {order.returned_amount} of {order.amount}",
        )
    if previous is not None and previous.status in _FINAL:
        fold.fail(
            "final_order_changed",
            order.member_id,
            f"order {order.external_id!r} changed after it was {previous.status}",
        )


def check_referral(fold: Fold, previous: Referral | None, referral: Referral) -> None:
    """Nobody refers themselves or is referred twice; a referral completes on the
    receiver's first paid order, which carries the sender's code (or the receiver's reward
    code)."""
    sender = fold.profiles.get(referral.sender_id)
    if previous is None:
        receiver = (
            fold.profiles.get(referral.receiver_id) if referral.receiver_id is not None else None
        )
        sender_email = (sender.email or "").lower() if sender is not None else ""
        receiver_email = (receiver.email if receiver else referral.receiver_email) or ""
        if referral.receiver_id == referral.sender_id or (
            sender_email and sender_email == receiver_email.lower()
        ):
            fold.fail("self_referral", referral.sender_id, f"referral {referral.id}")
        if referral.receiver_id is not None and referral.receiver_id in fold.referral_by_receiver:
            fold.fail(
                "referred_twice",
                referral.receiver_id,
                f"referral {referral.id}: member {referral.receiver_id} was already referred",
            )
        return
    if previous.status is ReferralStatus.PENDING and referral.status is ReferralStatus.COMPLETED:
        order = fold.orders.get(referral.order_id) if referral.order_id is not None else None
        receiver_id = referral.receiver_id
        if order is None or order.member_id != receiver_id:
            fold.fail(
                "referral_order", receiver_id, f"referral {referral.id} completed by no order"
            )
            return
        earlier = [
            o.external_id
            for o in fold.orders.values()
            if o.member_id == receiver_id
            and o.status is OrderStatus.PAID
            and o.external_id != order.external_id
        ]
        if earlier:
            fold.fail(
                "referral_completed_late",
                receiver_id,
                f"referral {referral.id} completed by {order.external_id!r}, not the first "
                f"paid order ({earlier[0]!r})",
            )
        codes = {referral.code} | {
            f.code
            for f in fold.fulfillments.values()
            if f.member_id == receiver_id and f.code and f.source == "referral receiver"
        }
        if not codes & set(order.coupons):
            fold.fail("referral_order", receiver_id, f"order {order.external_id!r} has no code")


# -- at the end -----------------------------------------------------------------------


def finish(fold: Fold, policy: ClawbackPolicy) -> None:
    """Rules about where things stand once every event is in."""
    for account in fold.accounts.values():
        member_id = account.member_id
        if policy is ClawbackPolicy.WRITE_OFF and account.debt:
            fold.fail("debt", member_id, f"debt {account.debt} under the write-off policy")
        elif account.debt > 0 and account.available > 0:
            fold.fail(
                "debt_unsettled",
                member_id,
                f"owes {account.debt} points while {account.available} are available",
            )
        totals = {
            "earned": account.earned + account.pending,
            "spent": account.spent,
            "expired": account.expired,
            "clawed back": account.clawed,
            "debt": account.debt,
            "written off": account.written_off,
        }
        for name, value in totals.items():
            if value > MAX_TOTAL_POINTS:
                fold.fail("total_range", member_id, f"{name} {value} exceeds {MAX_TOTAL_POINTS}")
    pending_orders = {
        t.order_id for t in fold.txns.values() if t.status is TxnStatus.PENDING and t.order_id
    }
    for order in fold.orders.values():
        if order.status in _FINAL and (
            order.awarded != order.clawed_back or order.external_id in pending_orders
        ):
            fold.fail(
                "final_order_holds_points",
                order.member_id,
                f"{order.status} order {order.external_id!r} still holds "
                f"{order.awarded - order.clawed_back} points",
            )
    redeemed = {f.txn_id for f in fold.fulfillments.values() if f.txn_id is not None}
    for txn in fold.txns.values():
        if txn.kind is TxnKind.REDEEM and txn.id not in redeemed:
            fold.fail("redeem_without_reward", txn.member_id, f"redemption {txn.id} gave nothing")
