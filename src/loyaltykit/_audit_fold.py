"""The audit's own fold of a journal: a small reference model, written apart from `state.py`.

It rebuilds from the events alone what the program should know (lots in consumption order,
counters, pending totals, orders, pools, tiers, due work) and, as each fact arrives, checks
the business rules it must obey (`_audit_rules.py`). Nothing here trusts the program's
state: `_audit_drift.py` compares the two afterwards.
"""

from __future__ import annotations

import heapq
from bisect import insort
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

import attrs

from loyaltykit import _audit_rules as rules
from loyaltykit.coupons import CouponPool
from loyaltykit.events import (
    AwardResolved,
    CodesAdded,
    FulfillmentUpdated,
    KeyRecorded,
    MemberRecorded,
    OfferDefined,
    OrderRecorded,
    PeriodRolled,
    PoolDefined,
    ReferralRecorded,
    ReferralRewardsSet,
    RewardIssued,
    RuleDefined,
    Shortfall,
    TierDefined,
    TierFloorSet,
    TrackDefined,
)
from loyaltykit.ledger import NEVER, Transaction, TxnKind, TxnStatus
from loyaltykit.members import MemberProfile
from loyaltykit.orders import ClawbackPolicy, Order
from loyaltykit.referrals import Referral, ReferralRewards
from loyaltykit.rewards import Fulfillment, RewardOffer
from loyaltykit.rules import EarningRule, Window, window_end, window_start
from loyaltykit.tiers import Metric, Tier, TierTrack, tier_for

__all__ = ["APPROVAL", "COMMAND", "EXPIRY", "ROLLOVER", "Fold", "RefAccount", "RefPool"]

Fail = Callable[[str, "int | None", str], None]

APPROVAL, EXPIRY, ROLLOVER, COMMAND = 0, 1, 2, 3
"""What an event is, for punctuality: at one instant the program approves what is due,
then expires lots, then rolls periods over, and only then runs a command."""


@attrs.define
class RefAccount:
    """One member as the events say it should be."""

    member_id: int
    lots: list[tuple[datetime, int]] = attrs.field(factory=list)
    """Live lots as (expires_at or NEVER, txn id): consumption order."""
    remaining: dict[int, int] = attrs.field(factory=dict)
    amounts: dict[int, int] = attrs.field(factory=dict)
    available: int = 0
    pending: int = 0
    posted_sum: int = 0
    earned: int = 0
    spent: int = 0
    expired: int = 0
    clawed: int = 0
    debt: int = 0
    written_off: int = 0
    totals: dict[Metric, Decimal] = attrs.field(factory=dict)
    """Lifetime metrics (points earned less order clawbacks, amount spent)."""
    metrics: dict[int, tuple[datetime | None, Decimal]] = attrs.field(factory=dict)
    floors: dict[int, int] = attrs.field(factory=dict)
    txn_ids: list[int] = attrs.field(factory=list)
    award_times: dict[int, list[datetime]] = attrs.field(factory=dict)


@attrs.define
class RefPool:
    pool: CouponPool
    available: list[str]
    issued: set[str] = attrs.field(factory=set)
    issued_count: int = 0


class Fold:
    """Applies a journal to the reference model, checking each fact against the rules."""

    def __init__(self, policy: ClawbackPolicy, zone: tzinfo, fail: Fail) -> None:
        self.policy = policy
        self.zone = zone
        self.fail = fail
        self.txns: dict[int, Transaction] = {}
        self.accounts: dict[int, RefAccount] = {}
        self.profiles: dict[int, MemberProfile] = {}
        self.rules: dict[int, EarningRule] = {}
        self.offers: dict[int, RewardOffer] = {}
        self.tracks: dict[int, TierTrack] = {}
        self.tiers: dict[int, Tier] = {}
        self.pools: dict[int, RefPool] = {}
        self.fulfillments: dict[int, Fulfillment] = {}
        self.by_code: dict[str, int] = {}
        self.code_issues: Counter[str] = Counter()
        self.uploaded: set[str] = set()
        self.orders: dict[str, Order] = {}
        self.order_awards: dict[tuple[str, int], int] = {}
        self.referrals: dict[int, Referral] = {}
        self.referral_by_receiver: dict[int, int] = {}
        self.referral_rewards = ReferralRewards()
        self.keys: dict[str, tuple[str, str]] = {}
        self.key_uses: Counter[str] = Counter()
        self.resolutions: Counter[int] = Counter()
        self.expired_of: dict[int, int] = {}
        self.counters: dict[str, int] = {}
        self.due: list[tuple[datetime, int, int, tuple[Any, ...]]] = []
        self._due_seq = 0
        self._last_due: tuple[datetime, int] | None = None
        self._handlers: dict[type, Callable[[Any], None]] = {
            Transaction: self._on_txn,
            AwardResolved: self._on_resolved,
            Shortfall: self._on_shortfall,
            MemberRecorded: self._on_member,
            RuleDefined: self._on_rule,
            OfferDefined: self._on_offer,
            TrackDefined: self._on_track,
            TierDefined: self._on_tier,
            PoolDefined: self._on_pool,
            CodesAdded: self._on_codes,
            ReferralRewardsSet: self._on_referral_rewards,
            RewardIssued: self._on_reward,
            FulfillmentUpdated: self._on_fulfillment,
            OrderRecorded: self._on_order,
            ReferralRecorded: self._on_referral,
            TierFloorSet: self._on_floor,
            PeriodRolled: self._on_rolled,
            KeyRecorded: self._on_key,
        }

    # -- driving -----------------------------------------------------------------------

    def run(self, journal: Iterable[object]) -> None:
        for event in journal:
            handler = self._handlers.get(type(event))
            if handler is None:
                self.fail("unknown_event", None, f"journal holds a {type(event).__name__}")
                continue
            dated = _date_of(event)
            if dated is not None:
                self._punctual(event, *dated)
            handler(event)

    def seen(self, kind: str, ident: int) -> None:
        if ident > self.counters.get(kind, 0):
            self.counters[kind] = ident

    def account(self, member_id: int, what: str) -> RefAccount | None:
        account = self.accounts.get(member_id)
        if account is None:
            self.fail("unknown_member", member_id, f"{what} names member {member_id}, never added")
        return account

    # -- due work: nothing may be left undone past its instant ------------------------

    def schedule(self, when: datetime, kind: int, key: tuple[Any, ...]) -> None:
        self._due_seq += 1
        heapq.heappush(self.due, (when, kind, self._due_seq, key))

    def still_due(self, when: datetime, kind: int, key: tuple[Any, ...]) -> bool:
        if kind == EXPIRY:
            lot_id = key[0]
            txn = self.txns[lot_id]
            left = self.accounts[txn.member_id].remaining.get(lot_id, 0)
            return left > 0 and txn.expires_at == when
        if kind == APPROVAL:
            txn = self.txns[key[0]]
            return txn.status is TxnStatus.PENDING and txn.auto_approve_at == when
        member_id, track_id, period = key
        metric = self.accounts[member_id].metrics.get(track_id)
        return metric is not None and metric[0] == period

    def _punctual(self, event: object, at: datetime, kind: int) -> None:
        """An event at `at` finds every earlier due work done (the same instant: only the
        work that comes first at one instant). An expiry's own lot is judged by the expiry
        check (`late_expiry`), not here."""
        if at.tzinfo is not UTC:
            self.fail("instant_not_utc", None, f"{type(event).__name__} dated {at.isoformat()}")
        if kind == COMMAND and self._last_due is not None and self._last_due[0] == at:
            kind = self._last_due[1]  # a consequence of the due work just done
        elif kind != COMMAND:
            self._last_due = (at, kind)
        own = (event.source_id,) if isinstance(event, Transaction) and kind == EXPIRY else None
        due = self.due
        skipped = []
        while due:
            when, what, seq, key = due[0]
            if not self.still_due(when, what, key):
                heapq.heappop(due)
                continue
            if when > at or (when == at and what >= kind):
                break
            heapq.heappop(due)
            if what == EXPIRY and key == own:
                skipped.append((when, what, seq, key))
                continue
            code, name = _OVERDUE[what]
            self.fail(
                code,
                self._member_of(what, key),
                f"{name} {key[0]} due at {when.isoformat()} still open when a "
                f"{type(event).__name__} happened at {at.isoformat()}",
            )
        for entry in skipped:
            heapq.heappush(due, entry)

    def _member_of(self, kind: int, key: tuple[Any, ...]) -> int:
        if kind == ROLLOVER:
            member_id: int = key[0]
            return member_id
        return self.txns[key[0]].member_id

    # -- ledger ------------------------------------------------------------------------

    def _on_txn(self, txn: Transaction) -> None:
        if txn.id in self.txns:
            self.fail("duplicate_transaction_id", txn.member_id, f"id {txn.id} used twice")
            return
        if txn.id != len(self.txns) + 1:
            self.fail(
                "transaction_id_sequence",
                txn.member_id,
                f"transaction {txn.id} follows transaction {len(self.txns)}",
            )
        self.txns[txn.id] = txn
        account = self.account(txn.member_id, f"transaction {txn.id}")
        if account is None:
            return
        rules.check_transaction(self, txn)
        account.txn_ids.append(txn.id)
        if txn.kind is TxnKind.AWARD and txn.rule_id is not None:
            rules.check_award(self, account, txn)
            account.award_times.setdefault(txn.rule_id, []).append(txn.created_at)
            if txn.order_id is not None:
                self.order_awards[(txn.order_id, txn.rule_id)] = txn.id
        order = self.orders.get(txn.order_id) if txn.order_id is not None else None
        if order is not None:
            awarded = order.awarded
            if txn.kind is TxnKind.AWARD and txn.status is TxnStatus.POSTED:
                awarded += txn.points
            clawed = order.clawed_back - (txn.points if txn.kind is TxnKind.CLAWBACK else 0)
            self.orders[order.external_id] = attrs.evolve(
                order, awarded=awarded, clawed_back=clawed, txn_ids=(*order.txn_ids, txn.id)
            )
        if txn.status is TxnStatus.PENDING:
            account.pending += txn.points
            if txn.auto_approve_at is not None:
                self.schedule(txn.auto_approve_at, APPROVAL, (txn.id,))
            return
        self.post(account, txn, txn.created_at)

    def post(self, account: RefAccount, txn: Transaction, at: datetime) -> None:
        points = txn.points
        account.posted_sum += points
        if points > 0:
            self._credit(account, txn, at)
        elif txn.kind is TxnKind.EXPIRE:
            self._expire(account, txn)
        else:
            self._debit(account, txn)

    def _credit(self, account: RefAccount, txn: Transaction, at: datetime) -> None:
        points = txn.points
        account.earned += points
        lot = points
        if self.policy is ClawbackPolicy.NEGATIVE_BALANCE and account.debt:
            settled = min(lot, account.debt)
            account.debt -= settled
            account.clawed += settled
            lot -= settled
        if lot:
            insort(account.lots, (txn.expires_at or NEVER, txn.id))
            account.remaining[txn.id] = lot
            account.available += lot
            if txn.expires_at is not None:
                self.schedule(txn.expires_at, EXPIRY, (txn.id,))
        account.amounts[txn.id] = points
        self.metric(account, Metric.POINTS_EARNED, at, Decimal(points))

    def _expire(self, account: RefAccount, txn: Transaction) -> None:
        need = -txn.points
        lot_id = txn.source_id
        source = self.txns.get(lot_id) if lot_id is not None else None
        if lot_id is None or source is None or source.member_id != txn.member_id:
            self.fail("expiry_source", txn.member_id, f"expiry {txn.id} names no lot of its member")
            return
        rules.check_expiry(self, account, txn, source)
        left = account.remaining.get(lot_id, 0)
        account.available -= left
        account.remaining.pop(lot_id, None)
        key = (source.expires_at or NEVER, lot_id)
        if key in account.lots:
            account.lots.remove(key)
        account.expired += need
        self.expired_of[lot_id] = need

    def _debit(self, account: RefAccount, txn: Transaction) -> None:
        need = -txn.points
        available = account.available
        take = min(need, available) if txn.kind is TxnKind.CLAWBACK else need
        if take > available:
            self.fail(
                "overdraft",
                txn.member_id,
                f"transaction {txn.id} takes {take} of {available} available points",
            )
            take = available
        self.consume(account, take)
        if txn.kind is TxnKind.CLAWBACK:
            account.clawed += take
            account.debt += need - take
            origin = self.origin(txn.order_id)
            self.metric(account, Metric.POINTS_EARNED, txn.created_at, Decimal(-need), origin)
            order = self.orders.get(txn.order_id) if txn.order_id is not None else None
            if order is not None:
                if need > take:
                    self.orders[order.external_id] = attrs.evolve(
                        order, pending_deduction=order.pending_deduction + need - take
                    )
                rules.check_clawback(self, self.orders[order.external_id], txn.member_id)
        elif txn.kind is TxnKind.SETTLE:
            account.clawed += need
            account.debt -= need
        else:
            account.spent += need

    def consume(self, account: RefAccount, points: int) -> None:
        """Take `points` from the live lots in consumption order."""
        left = points
        while left and account.lots:
            lot_id = account.lots[0][1]
            part = min(left, account.remaining[lot_id])
            account.remaining[lot_id] -= part
            left -= part
            if account.remaining[lot_id] == 0:
                del account.remaining[lot_id]
                account.lots.pop(0)
        account.available -= points - left

    def _on_resolved(self, event: AwardResolved) -> None:
        """Checked, then applied as the program's fold does: a resolution of an award that
        is not pending changes nothing (so one forged fact yields one violation)."""
        self.resolutions[event.txn_id] += 1
        txn = self.txns.get(event.txn_id)
        if txn is None:
            self.fail("resolved_unknown", None, f"transaction {event.txn_id} does not exist")
            return
        if self.resolutions[event.txn_id] > 1:
            self.fail("resolved_twice", txn.member_id, f"award {event.txn_id} resolved again")
            return
        if txn.status is not TxnStatus.PENDING:
            self.fail("resolved_non_pending", txn.member_id, f"{txn.kind} {txn.id} not pending")
            return
        account = self.accounts[txn.member_id]
        account.pending -= txn.points
        status = TxnStatus.POSTED if event.approved else TxnStatus.REJECTED
        resolved = txn._replace(
            status=status, resolved_at=event.at, resolved_by=event.by, expires_at=event.expires_at
        )
        self.txns[txn.id] = resolved
        if event.approved:
            rules.check_approval(self, event, txn)
            self.post(account, resolved, event.at)
            order = self.orders.get(txn.order_id) if txn.order_id is not None else None
            if order is not None:
                self.orders[order.external_id] = attrs.evolve(
                    order, awarded=order.awarded + txn.points
                )
        elif txn.rule_id is not None:
            times = account.award_times.get(txn.rule_id, [])
            if txn.created_at in times:
                times.remove(txn.created_at)

    def _on_shortfall(self, event: Shortfall) -> None:
        account = self.account(event.member_id, "a shortfall")
        if account is None:
            return
        if self.policy is ClawbackPolicy.NEGATIVE_BALANCE:
            self.fail(
                "shortfall_policy",
                event.member_id,
                "a shortfall under the negative-balance policy (the balance goes below zero)",
            )
        if self.policy is ClawbackPolicy.WRITE_OFF:
            account.written_off += event.points
        else:
            account.debt += event.points
        origin = self.origin(event.order_id)
        self.metric(account, Metric.POINTS_EARNED, event.at, Decimal(-event.points), origin)
        order = self.orders.get(event.order_id) if event.order_id is not None else None
        if order is not None:
            order = attrs.evolve(
                order,
                clawed_back=order.clawed_back + event.points,
                pending_deduction=order.pending_deduction + event.points,
            )
            self.orders[order.external_id] = order
            rules.check_clawback(self, order, event.member_id)

    # -- tiers -------------------------------------------------------------------------

    def origin(self, order_id: str | None) -> datetime | None:
        order = self.orders.get(order_id) if order_id is not None else None
        return order.paid_at if order is not None else None

    def metric(
        self,
        account: RefAccount,
        metric: Metric,
        at: datetime,
        delta: Decimal,
        origin: datetime | None = None,
    ) -> None:
        """Count `delta` in every track of `metric`, in the window of `at` (a correction of
        something from an earlier window, `origin`, counts nowhere)."""
        account.totals[metric] = account.totals.get(metric, Decimal(0)) + delta
        for track in self.tracks.values():
            if track.metric is not metric:
                continue
            start = window_start(track.window, at, self.zone)
            if origin is not None and window_start(track.window, origin, self.zone) != start:
                continue
            period, value = account.metrics.get(track.id, (None, Decimal(0)))
            if track.window is not Window.LIFETIME and start != period:
                if period is not None and start is not None and start < period:
                    continue
                value = Decimal(0)
                assert start is not None
                end = window_end(track.window, start)
                if end is not None:
                    self.schedule(end, ROLLOVER, (account.member_id, track.id, start))
            account.metrics[track.id] = (start, value + delta)

    def ladder(self, track_id: int) -> list[Tier]:
        tiers = [t for t in self.tiers.values() if t.track_id == track_id]
        return sorted(tiers, key=lambda t: (t.threshold, t.id))

    def tier_of(self, account: RefAccount, track_id: int) -> Tier | None:
        """The member's tier on a track, computed from scratch."""
        value = account.metrics.get(track_id, (None, Decimal(0)))[1]
        floor_id = account.floors.get(track_id)
        floor = self.tiers.get(floor_id) if floor_id is not None else None
        return tier_for(self.ladder(track_id), value, floor)

    def best_multiplier(self, account: RefAccount) -> Decimal:
        best = Decimal(1)
        for track_id in self.tracks:
            tier = self.tier_of(account, track_id)
            if tier is not None and tier.multiplier > best:
                best = tier.multiplier
        return best

    def _on_track(self, event: TrackDefined) -> None:
        track = event.track
        if track.id not in self.tracks and track.window is Window.LIFETIME:
            for account in self.accounts.values():
                account.metrics[track.id] = (None, account.totals.get(track.metric, Decimal(0)))
        self.tracks[track.id] = track
        self.seen("track", track.id)

    def _on_tier(self, event: TierDefined) -> None:
        if event.tier.track_id not in self.tracks:
            self.fail("unknown_track", None, f"tier {event.tier.id} on an unknown track")
            return
        self.tiers[event.tier.id] = event.tier
        self.seen("tier", event.tier.id)

    def _on_floor(self, event: TierFloorSet) -> None:
        account = self.account(event.member_id, "a tier floor")
        if account is None:
            return
        if event.tier_id is None:
            account.floors.pop(event.track_id, None)
        else:
            account.floors[event.track_id] = event.tier_id

    def _on_rolled(self, event: PeriodRolled) -> None:
        account = self.account(event.member_id, "a period rollover")
        if account is None:
            return
        rules.check_rollover(self, account, event)
        account.metrics.pop(event.track_id, None)

    # -- members and configuration ----------------------------------------------------

    def _on_member(self, event: MemberRecorded) -> None:
        profile = event.profile
        rules.check_profile(self, profile)
        self.profiles[profile.id] = profile
        self.seen("member", profile.id)
        self.accounts.setdefault(profile.id, RefAccount(profile.id))

    def _on_rule(self, event: RuleDefined) -> None:
        self.rules[event.rule.id] = event.rule
        self.seen("rule", event.rule.id)

    def _on_offer(self, event: OfferDefined) -> None:
        self.offers[event.offer.id] = event.offer
        self.seen("offer", event.offer.id)

    def _on_pool(self, event: PoolDefined) -> None:
        pool = event.pool
        known = self.pools.get(pool.id)
        if known is None:
            rules.check_uploaded(self, pool.codes)
            self.pools[pool.id] = RefPool(pool, list(pool.codes))
        else:
            if pool.codes != known.pool.codes or pool.prefix != known.pool.prefix:
                self.fail("pool_redefined", None, f"pool {pool.id} changed its codes or prefix")
            known.pool = pool
        self.seen("pool", pool.id)

    def _on_codes(self, event: CodesAdded) -> None:
        known = self.pools.get(event.pool_id)
        if known is None or known.pool.generated:
            self.fail("codes_added", None, f"codes added to pool {event.pool_id}, not a list pool")
            return
        rules.check_uploaded(self, event.codes)
        known.available.extend(event.codes)
        known.pool = attrs.evolve(known.pool, codes=known.pool.codes + tuple(event.codes))

    def _on_referral_rewards(self, event: ReferralRewardsSet) -> None:
        self.referral_rewards = event.rewards

    def _on_key(self, event: KeyRecorded) -> None:
        self.key_uses[event.key] += 1
        if self.key_uses[event.key] > 1:
            self.fail("key_applied_twice", None, f"idempotency key {event.key!r} applied again")
        self.keys[event.key] = (event.fingerprint, event.ref)

    # -- rewards, orders, referrals ----------------------------------------------------

    def _on_reward(self, event: RewardIssued) -> None:
        fulfillment = event.fulfillment
        if self.account(fulfillment.member_id, f"reward {fulfillment.id}") is None:
            return
        rules.check_reward(self, event)
        self.fulfillments[fulfillment.id] = fulfillment
        self.seen("fulfillment", fulfillment.id)
        code = fulfillment.code
        if code is not None:
            self.code_issues[code] += 1
            self.by_code[code] = fulfillment.id
        pool = self.pools.get(event.pool_id) if event.pool_id is not None else None
        if pool is not None and code is not None:
            pool.issued_count += 1
            if code in pool.available:
                pool.available.remove(code)
            pool.issued.add(code)

    def _on_fulfillment(self, event: FulfillmentUpdated) -> None:
        fulfillment = event.fulfillment
        before = self.fulfillments.get(fulfillment.id)
        if before is None:
            self.fail("unknown_fulfillment", None, f"fulfillment {fulfillment.id} never issued")
            return
        rules.check_fulfillment_update(self, before, fulfillment)
        self.fulfillments[fulfillment.id] = fulfillment

    def _on_order(self, event: OrderRecorded) -> None:
        order = event.order
        previous = self.orders.get(order.external_id)
        if order.member_id is not None and order.member_id not in self.accounts:
            self.fail("unknown_member", order.member_id, f"order {order.external_id!r}")
            return
        if previous is not None:
            rules.check_order_totals(self, previous, order)
            order = attrs.evolve(
                order,
                awarded=previous.awarded,
                clawed_back=previous.clawed_back,
                pending_deduction=previous.pending_deduction,
                txn_ids=previous.txn_ids,
            )
        rules.check_order(self, previous, order)
        self.orders[order.external_id] = order
        for record, sign in ((previous, -1), (order, 1)):
            if record is None or record.member_id is None or str(record.status) != "paid":
                continue
            net = record.amount - record.returned_amount
            if net:
                account = self.accounts[record.member_id]
                delta = Decimal(sign) * net
                self.metric(account, Metric.AMOUNT_SPENT, order.recorded_at, delta, order.paid_at)

    def _on_referral(self, event: ReferralRecorded) -> None:
        referral = event.referral
        rules.check_referral(self, self.referrals.get(referral.id), referral)
        self.referrals[referral.id] = referral
        self.seen("referral", referral.id)
        if referral.receiver_id is not None:
            self.referral_by_receiver[referral.receiver_id] = referral.id


_OVERDUE = {
    EXPIRY: ("expiry_overdue", "lot"),
    APPROVAL: ("approval_overdue", "pending award"),
    ROLLOVER: ("rollover_overdue", "the period of member"),
}


def _date_of(event: object) -> tuple[datetime, int] | None:
    """The instant an event happened at, and what kind of work it is."""
    if isinstance(event, Transaction):
        return event.created_at, EXPIRY if event.kind is TxnKind.EXPIRE else COMMAND
    if isinstance(event, AwardResolved):
        return event.at, APPROVAL
    if isinstance(event, PeriodRolled):
        return event.at, ROLLOVER
    if isinstance(event, OrderRecorded):
        return event.order.recorded_at, COMMAND
    if isinstance(event, RewardIssued):
        return event.fulfillment.created_at, COMMAND
    if isinstance(event, FulfillmentUpdated):
        return event.fulfillment.updated_at, COMMAND
    if isinstance(event, ReferralRecorded):
        return event.referral.completed_at or event.referral.created_at, COMMAND
    if isinstance(event, MemberRecorded):
        return event.profile.updated_at, COMMAND
    at = getattr(event, "at", None)
    return (at, COMMAND) if isinstance(at, datetime) else None
