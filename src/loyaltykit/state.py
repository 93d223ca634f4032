"""The fold: how each journal event changes a program's current state.

Nothing here validates or decides: commands in `program.py` do that before emitting
events. Every handler is deterministic in the event and the state before it, which is
what makes replaying a journal give back an identical program.
"""

from __future__ import annotations

import heapq
from bisect import insort
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

import attrs

from loyaltykit.coupons import CouponPool, PoolState
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
from loyaltykit.indexes import INDEXED_KINDS, LedgerIndex, RecordIndex
from loyaltykit.ledger import (
    AUTO_APPROVE_AT,
    CREATED_AT,
    EXPIRES_AT,
    ID,
    KIND,
    MEMBER_ID,
    ORDER_ID,
    POINTS,
    RESOLVED_AT,
    RESOLVED_BY,
    RULE_ID,
    SOURCE_ID,
    STATUS,
    Account,
    Row,
    Transaction,
    TxnKind,
    TxnStatus,
    to_row,
)
from loyaltykit.members import MemberProfile, MemberState
from loyaltykit.orders import ClawbackPolicy, Order, OrderStatus
from loyaltykit.referrals import Referral, ReferralRewards
from loyaltykit.rewards import Fulfillment, RewardOffer
from loyaltykit.rules import EarningRule, Window, window_end, window_start
from loyaltykit.tiers import Metric, Tier, TierChange, TierTrack, tier_for

__all__ = [
    "DUE_APPROVAL",
    "DUE_EXPIRY",
    "DUE_ROLLOVER",
    "State",
    "fulfillment_groups",
    "member_groups",
]

DUE_APPROVAL, DUE_EXPIRY, DUE_ROLLOVER = 0, 1, 2
"""Kinds of due work; at one instant approvals run first, then expiry, then rollovers."""

# Rows hold kinds and statuses as plain str; their values are read once into globals (on
# Python 3.11 `TxnKind.AWARD.value` costs ~150 ns, a global ~20 ns).
_AWARD, _EXPIRE, _CLAWBACK, _SETTLE, _REDEEM = (
    TxnKind.AWARD.value,
    TxnKind.EXPIRE.value,
    TxnKind.CLAWBACK.value,
    TxnKind.SETTLE.value,
    TxnKind.REDEEM.value,
)
_POSTED, _PENDING, _REJECTED = (
    TxnStatus.POSTED.value,
    TxnStatus.PENDING.value,
    TxnStatus.REJECTED.value,
)


class State:
    """All current state of one program, maintained incrementally from events."""

    def __init__(self, policy: ClawbackPolicy, zone: tzinfo) -> None:
        self.policy = policy
        self.zone = zone
        self.txns: list[Row] = []
        """Ledger rows by id - 1 (exact tuples, see `ledger.Row`)."""
        self.remaining: dict[int, int] = {}
        self.expired_of: dict[int, int] = {}
        self.profiles: dict[int, MemberProfile] = {}
        self.accounts: dict[int, Account] = {}
        self.by_email: dict[str, int] = {}
        self.by_external_id: dict[str, int] = {}
        self.by_referral_code: dict[str, int] = {}
        self.rules: dict[int, EarningRule] = {}
        self.pools: dict[int, PoolState] = {}
        self.offers: dict[int, RewardOffer] = {}
        self.tracks: dict[int, TierTrack] = {}
        self.tiers: dict[int, Tier] = {}
        self.ladders: dict[int, list[Tier]] = {}
        self.tier_changes: list[TierChange] = []
        self.referral_rewards = ReferralRewards()
        self.fulfillments: dict[int, Fulfillment] = {}
        self.by_code: dict[str, int] = {}
        self.by_txn: dict[int, int] = {}
        """Fulfillment id by the id of the redemption transaction that paid for it."""
        self.orders: dict[str, Order] = {}
        self.order_awards: dict[tuple[str, int], int] = {}
        self.referrals: dict[int, Referral] = {}
        self.referral_by_receiver: dict[int, int] = {}
        self.keys: dict[str, tuple[str, str]] = {}
        self.due: list[tuple[datetime, int, int, int]] = []
        """One schedule of time-driven work: (when, DUE_*, id, track id or 0), a heap."""
        self.counters: dict[str, int] = {}
        self._periods: dict[Window, tuple[datetime, datetime]] = {}
        """A cache, not state (snapshots leave it out): per calendar window, the period
        (start, end) `_add_metric` last found, so the credits of one period skip the
        calendar arithmetic (a third of a tier update)."""
        self.ledger_index = LedgerIndex()
        """Paged reads of the ledger (see `indexes`); its runs are caught up by reads."""
        self.member_index = RecordIndex(by_member=False)
        self.fulfillment_index = RecordIndex(by_member=True)
        self._handlers: dict[type, Callable[[Any], None]] = {
            tuple: self.on_transaction,
            Transaction: lambda txn: self.on_transaction(to_row(txn)),
            RuleDefined: self._on_rule,
            PoolDefined: self._on_pool,
            CodesAdded: self._on_codes,
            OfferDefined: self._on_offer,
            TrackDefined: self._on_track,
            TierDefined: self._on_tier,
            ReferralRewardsSet: self._on_referral_rewards,
            MemberRecorded: self._on_member,
            TierFloorSet: self._on_tier_floor,
            AwardResolved: self._on_resolved,
            Shortfall: self._on_shortfall,
            RewardIssued: self._on_reward,
            FulfillmentUpdated: self._on_fulfillment,
            OrderRecorded: self._on_order,
            ReferralRecorded: self._on_referral,
            PeriodRolled: self._on_period_rolled,
            KeyRecorded: self._on_key,
        }

    # -- ids ---------------------------------------------------------------------------

    def share_ids(self) -> None:
        """Make the lists and dicts that name transactions hold each row's own id object.

        The fold stores one int object per transaction id and refers to it from the row,
        the member's id list, its lot list and the remaining-points dict; a state loaded
        from a snapshot has a copy in each place instead (pickle shares no ints), about
        90 bytes more per transaction. Called once after such a load.
        """
        ids = [row[0] for row in self.txns]
        self.remaining = {ids[k - 1]: left for k, left in self.remaining.items()}
        self.expired_of = {ids[k - 1]: n for k, n in self.expired_of.items()}
        for account in self.accounts.values():
            account.txn_ids = [ids[i - 1] for i in account.txn_ids]
            account.perpetual = [ids[i - 1] for i in account.perpetual]
            account.expiring = [(at, ids[i - 1]) for at, i in account.expiring]

    def peek_id(self, kind: str) -> int:
        """The id the next object of `kind` will get (ids are never reused)."""
        return self.counters.get(kind, 0) + 1

    def _seen_id(self, kind: str, ident: int) -> None:
        if ident > self.counters.get(kind, 0):
            self.counters[kind] = ident

    # -- dispatch ----------------------------------------------------------------------

    def apply(self, event: object) -> None:
        """Fold one journal event. A transaction comes as its row (see `ledger.Row`), the
        form the journal keeps; a `Transaction` is turned into its row first."""
        self._handlers[type(event)](event)

    # -- ledger ------------------------------------------------------------------------

    def on_transaction(self, row: Row) -> None:
        """Fold one ledger row (see `ledger.Row`: fields by position, kind and status as
        str)."""
        self.txns.append(row)
        txn_id = row[ID]
        points = row[POINTS]
        kind = row[KIND]
        rule_id = row[RULE_ID]
        order_id = row[ORDER_ID]
        account = self.accounts[row[MEMBER_ID]]
        account.txn_ids.append(txn_id)
        if kind == _AWARD and rule_id is not None:
            account.award_times.setdefault(rule_id, []).append(row[CREATED_AT])
            if order_id is not None:
                self.order_awards[(order_id, rule_id)] = txn_id
        if order_id is not None and order_id in self.orders:
            self._order_txn(row)
        if kind in INDEXED_KINDS or row[STATUS] != _POSTED:
            self.ledger_index.on_row(row)
        if row[STATUS] == _PENDING:
            account.pending += points
            auto_approve_at = row[AUTO_APPROVE_AT]
            if auto_approve_at is not None:
                heapq.heappush(self.due, (auto_approve_at, DUE_APPROVAL, txn_id, 0))
        elif points > 0:
            self._credit(account, row, row[CREATED_AT])
        else:
            self._debit(account, row)

    def post_plain_credit(self, account: Account, row: Row, txn_id: int, points: int) -> None:
        """`on_transaction` for the common case, inlined: a posted, never-expiring credit
        of no rule or order, to a member with no debt, in a program without tiers. The
        caller passes the row's id and points, which it has at hand. Such a credit is
        known as the member's newest by its lot (`Account.newest_credit`), not by
        `last_credit_id`: one store fewer on the hot path."""
        self.txns.append(row)
        account.txn_ids.append(txn_id)
        account.earned += points
        account.available += points
        account.points_metric += points
        self.remaining[txn_id] = points
        perpetual = account.perpetual
        if not perpetual or perpetual[-1] < txn_id:
            perpetual.append(txn_id)
        else:
            insort(perpetual, txn_id)

    def post_plain_debit(self, account: Account, row: Row, txn_id: int, need: int) -> None:
        """`on_transaction` for a posted spend of `need` points, inlined when the first lot
        covers it."""
        self.txns.append(row)
        account.txn_ids.append(txn_id)
        expiring = account.expiring
        first = expiring[0][1] if expiring else account.perpetual[0]
        left = self.remaining[first]
        if left > need:
            self.remaining[first] = left - need
            account.available -= need
        else:
            account.consume(need, self.remaining)
        account.spent += need

    def _credit(self, account: Account, row: Row, at: datetime) -> None:
        points = row[POINTS]
        account.earned += points
        lot = points
        if account.debt and self.policy is ClawbackPolicy.NEGATIVE_BALANCE:
            settled = min(points, account.debt)
            account.debt -= settled
            account.clawed_back += settled
            lot -= settled
        txn_id = row[ID]
        if lot:
            self.remaining[txn_id] = lot
            account.available += lot
            expires_at = row[EXPIRES_AT]
            account.open_lot(txn_id, expires_at)
            if expires_at is not None:
                heapq.heappush(self.due, (expires_at, DUE_EXPIRY, txn_id, 0))
        last = account.last_credit_id
        if last is None or txn_id > last:  # an approval can post an older award
            account.last_credit_id = txn_id
        account.points_metric += points
        if self.tracks:
            self._add_metric(account, Metric.POINTS_EARNED, at, Decimal(points))

    def _debit(self, account: Account, row: Row) -> None:
        need = -row[POINTS]
        kind = row[KIND]
        if kind == _EXPIRE:
            lot_id = row[SOURCE_ID]
            assert lot_id is not None
            self.remaining[lot_id] = 0
            self.expired_of[lot_id] = need
            account.available -= need
            account.expired += need
            expires_at = self.txns[lot_id - 1][EXPIRES_AT]
            assert expires_at is not None
            account.drop_lot(lot_id, expires_at)
            return
        if kind == _CLAWBACK:
            order_id = row[ORDER_ID]
            account.recovered += need
            taken = account.consume(min(need, account.available), self.remaining)
            account.clawed_back += taken
            account.debt += need - taken
            account.points_metric -= need
            if need > taken and order_id in self.orders:
                order = self.orders[order_id]
                self.orders[order_id] = _evolve(
                    order, pending_deduction=order.pending_deduction + need - taken
                )
            if self.tracks:
                self._add_metric(
                    account,
                    Metric.POINTS_EARNED,
                    row[CREATED_AT],
                    Decimal(-need),
                    self._order_origin(order_id),
                )
            return
        account.consume(need, self.remaining)
        if kind == _SETTLE:
            account.debt -= need
            account.clawed_back += need
            account.recovered += need
        else:
            account.spent += need
            if kind == _REDEEM:
                account.redeemed += need

    def _on_resolved(self, event: AwardResolved) -> None:
        row = self.txns[event.txn_id - 1]
        if row[STATUS] != _PENDING:
            return  # resolved at most once: a second resolution is no fact (the audit says so)
        account = self.accounts[row[MEMBER_ID]]
        account.pending -= row[POINTS]
        resolved = list(row)
        resolved[STATUS] = _POSTED if event.approved else _REJECTED
        resolved[RESOLVED_AT] = event.at
        resolved[RESOLVED_BY] = event.by
        resolved[EXPIRES_AT] = event.expires_at
        self.txns[event.txn_id - 1] = new = tuple(resolved)
        self.ledger_index.on_resolved(row, event.approved, event.at)
        order_id = row[ORDER_ID]
        rule_id = row[RULE_ID]
        if event.approved:
            self._credit(account, new, event.at)
            if order_id is not None and order_id in self.orders:
                order = self.orders[order_id]
                self.orders[order_id] = _evolve(order, awarded=order.awarded + row[POINTS])
        elif rule_id is not None:
            times = account.award_times.get(rule_id)
            if times and row[CREATED_AT] in times:
                times.remove(row[CREATED_AT])

    def _order_txn(self, row: Row) -> None:
        """Keep an order's totals in step with the ledger entries that name it."""
        order_id = row[ORDER_ID]
        assert order_id is not None
        order = self.orders[order_id]
        awarded = order.awarded
        clawed = order.clawed_back
        kind = row[KIND]
        if kind == _AWARD and row[STATUS] == _POSTED:
            awarded += row[POINTS]
        elif kind == _CLAWBACK:
            clawed -= row[POINTS]
        self.orders[order_id] = _evolve(
            order, awarded=awarded, clawed_back=clawed, txn_ids=(*order.txn_ids, row[ID])
        )

    def _on_shortfall(self, event: Shortfall) -> None:
        account = self.accounts[event.member_id]
        if self.policy is ClawbackPolicy.WRITE_OFF:
            account.written_off += event.points
        else:
            account.debt += event.points
        account.points_metric -= event.points
        if event.order_id is not None and event.order_id in self.orders:
            order = self.orders[event.order_id]
            self.orders[event.order_id] = _evolve(
                order,
                clawed_back=order.clawed_back + event.points,
                pending_deduction=order.pending_deduction + event.points,
            )
        if self.tracks:
            self._add_metric(
                account,
                Metric.POINTS_EARNED,
                event.at,
                Decimal(-event.points),
                self._order_origin(event.order_id),
            )

    # -- members -----------------------------------------------------------------------

    def _on_member(self, event: MemberRecorded) -> None:
        profile = event.profile
        old = self.profiles.get(profile.id)
        if old is not None:
            if old.email:
                self.by_email.pop(old.email.lower(), None)
            if old.external_id:
                self.by_external_id.pop(old.external_id, None)
            if old.referral_code:
                self.by_referral_code.pop(old.referral_code, None)
        self.profiles[profile.id] = profile
        self._seen_id("member", profile.id)
        if old is None:
            self.member_index.add(
                profile.id, profile.created_at, profile.updated_at, member_groups(profile)
            )
        else:
            self.member_index.update(
                profile.id,
                old.created_at,
                (old.updated_at, member_groups(old)),
                (profile.updated_at, member_groups(profile)),
            )
        if profile.email:
            self.by_email[profile.email.lower()] = profile.id
        if profile.external_id:
            self.by_external_id[profile.external_id] = profile.id
        if profile.referral_code:
            self.by_referral_code[profile.referral_code] = profile.id
        if old is not None:
            self.accounts[profile.id].disabled = profile.state is MemberState.DISABLED
        else:
            account = Account(profile.id, profile.state is MemberState.DISABLED)
            self.accounts[profile.id] = account
            for track in self.tracks.values():
                account.tiers[track.id] = None
                self._evaluate(account, track, profile.created_at, "joined")

    def _on_tier_floor(self, event: TierFloorSet) -> None:
        account = self.accounts[event.member_id]
        if event.tier_id is None:
            account.tier_floors.pop(event.track_id, None)
        else:
            account.tier_floors[event.track_id] = event.tier_id
        self._evaluate(account, self.tracks[event.track_id], event.at, "manual")

    # -- configuration -----------------------------------------------------------------

    def _on_rule(self, event: RuleDefined) -> None:
        self.rules[event.rule.id] = event.rule
        self._seen_id("rule", event.rule.id)

    def _on_pool(self, event: PoolDefined) -> None:
        pool: CouponPool = event.pool
        state = self.pools.get(pool.id)
        if state is None:
            self.pools[pool.id] = PoolState(pool, list(pool.codes))
        else:
            state.pool = pool
        self._seen_id("pool", pool.id)

    def _on_codes(self, event: CodesAdded) -> None:
        state = self.pools[event.pool_id]
        state.available.extend(event.codes)
        state.pool = attrs.evolve(state.pool, codes=state.pool.codes + tuple(event.codes))

    def _on_offer(self, event: OfferDefined) -> None:
        self.offers[event.offer.id] = event.offer
        self._seen_id("offer", event.offer.id)

    def _on_track(self, event: TrackDefined) -> None:
        track = event.track
        is_new = track.id not in self.tracks
        self.tracks[track.id] = track
        self._seen_id("track", track.id)
        self.ladders.setdefault(track.id, [])
        if is_new:
            for account in self.accounts.values():
                account.tiers[track.id] = None
                if track.window is Window.LIFETIME:  # a lifetime track counts the history
                    history = (
                        account.points_metric
                        if track.metric is Metric.POINTS_EARNED
                        else account.amount_spent
                    )
                    account.metrics[track.id] = (None, Decimal(history))
        self._reevaluate_track(track, event.at, "tier_config")

    def _on_tier(self, event: TierDefined) -> None:
        tier = event.tier
        self.tiers[tier.id] = tier
        self._seen_id("tier", tier.id)
        ladder = [t for t in self.ladders[tier.track_id] if t.id != tier.id] + [tier]
        ladder.sort(key=lambda t: (t.threshold, t.id))
        self.ladders[tier.track_id] = ladder
        self._reevaluate_track(self.tracks[tier.track_id], event.at, "tier_config")

    def _on_referral_rewards(self, event: ReferralRewardsSet) -> None:
        self.referral_rewards = event.rewards

    # -- rewards, orders, referrals ----------------------------------------------------

    def _on_reward(self, event: RewardIssued) -> None:
        fulfillment = event.fulfillment
        self.fulfillments[fulfillment.id] = fulfillment
        self._seen_id("fulfillment", fulfillment.id)
        self.fulfillment_index.add(
            fulfillment.id,
            fulfillment.created_at,
            fulfillment.updated_at,
            fulfillment_groups(fulfillment),
            fulfillment.member_id,
        )
        if fulfillment.txn_id is not None:
            self.by_txn[fulfillment.txn_id] = fulfillment.id
        if fulfillment.code is not None:
            self.by_code[fulfillment.code] = fulfillment.id
            if event.pool_id is not None:
                self.pools[event.pool_id].mark_issued(fulfillment.code)

    def _on_fulfillment(self, event: FulfillmentUpdated) -> None:
        new = event.fulfillment
        old = self.fulfillments[new.id]
        self.fulfillments[new.id] = new
        self.fulfillment_index.update(
            new.id,
            old.created_at,
            (old.updated_at, fulfillment_groups(old)),
            (new.updated_at, fulfillment_groups(new)),
            new.member_id,
        )

    def _on_order(self, event: OrderRecorded) -> None:
        order = event.order
        previous = self.orders.get(order.external_id)
        self.orders[order.external_id] = order
        before = _net_spend(previous)
        after = _net_spend(order)
        origin = order.paid_at
        if previous is not None and previous.member_id is not None and before:
            self._spend_metric(previous.member_id, -before, order.recorded_at, origin)
        if order.member_id is not None and after:
            self._spend_metric(order.member_id, after, order.recorded_at, origin)

    def _order_origin(self, order_id: str | None) -> datetime | None:
        order = self.orders.get(order_id) if order_id is not None else None
        return order.paid_at if order is not None else None

    def _spend_metric(
        self, member_id: int, delta: Decimal, at: datetime, origin: datetime | None
    ) -> None:
        account = self.accounts[member_id]
        account.amount_spent += delta
        if self.tracks:
            self._add_metric(account, Metric.AMOUNT_SPENT, at, delta, origin)

    def _on_referral(self, event: ReferralRecorded) -> None:
        referral = event.referral
        self.referrals[referral.id] = referral
        self._seen_id("referral", referral.id)
        if referral.receiver_id is not None:
            self.referral_by_receiver[referral.receiver_id] = referral.id

    def _on_key(self, event: KeyRecorded) -> None:
        self.keys[event.key] = (event.fingerprint, event.ref)

    # -- tiers -------------------------------------------------------------------------

    def _add_metric(
        self,
        account: Account,
        metric: Metric,
        at: datetime,
        delta: Decimal,
        origin: datetime | None = None,
    ) -> None:
        """Count `delta` in the period of `at`; a correction (refund, return) of something
        that happened at `origin` in an earlier period no longer counts."""
        for track in self.tracks.values():
            if track.metric is not metric:
                continue
            start = self._period_start(track.window, at)
            if origin is not None and self._period_start(track.window, origin) != start:
                continue
            period, value = account.metrics.get(track.id, (None, Decimal(0)))
            if start is not None and start != period:
                if period is not None and start < period:
                    continue  # a change dated in a past period no longer counts
                value = Decimal(0)
                end = window_end(track.window, start)
                if end is not None:  # None: the period would end past the calendar
                    end = end.astimezone(UTC)  # a local midnight; events carry UTC instants
                    heapq.heappush(self.due, (end, DUE_ROLLOVER, account.member_id, track.id))
            account.metrics[track.id] = (start, value + delta)
            self._evaluate(account, track, at, "metric")

    def _period_start(self, window: Window, at: datetime) -> datetime | None:
        """`window_start(window, at, zone)`: a period runs from its start up to
        `window_end` of it, which is where the next one starts."""
        cached = self._periods.get(window)
        if cached is not None and cached[0] <= at < cached[1]:
            return cached[0]
        start = window_start(window, at, self.zone)
        if start is not None:
            end = window_end(window, start)
            if end is not None:
                self._periods[window] = (start, end)
        return start

    def _on_period_rolled(self, event: PeriodRolled) -> None:
        account = self.accounts[event.member_id]
        account.metrics.pop(event.track_id, None)
        self._evaluate(account, self.tracks[event.track_id], event.at, "period_end")

    def metric_value(self, account: Account, track: TierTrack) -> Decimal:
        return account.metrics.get(track.id, (None, Decimal(0)))[1]

    def computed_tier(self, account: Account, track: TierTrack) -> Tier | None:
        floor_id = account.tier_floors.get(track.id)
        floor = self.tiers.get(floor_id) if floor_id is not None else None
        return tier_for(self.ladders.get(track.id, []), self.metric_value(account, track), floor)

    def _evaluate(self, account: Account, track: TierTrack, at: datetime, reason: str) -> None:
        tier = self.computed_tier(account, track)
        new = tier.id if tier is not None else None
        old = account.tiers.get(track.id)
        if new != old:
            account.tiers[track.id] = new
            self.tier_changes.append(TierChange(account.member_id, track.id, old, new, at, reason))

    def _reevaluate_track(self, track: TierTrack, at: datetime, reason: str) -> None:
        for account in self.accounts.values():
            self._evaluate(account, track, at, reason)

    def tier_multiplier(self, account: Account) -> Decimal:
        """The best earning multiplier among the member's current tiers (1 if none)."""
        best = Decimal(1)
        for tier_id in account.tiers.values():
            if tier_id is not None:
                best = max(best, self.tiers[tier_id].multiplier)
        return best


def member_groups(profile: MemberProfile) -> tuple[str]:
    """The indexed groups of a member (see `indexes.RecordIndex`)."""
    return (f"state {profile.state}",)


def fulfillment_groups(fulfillment: Fulfillment) -> tuple[str, str, str]:
    """The indexed groups of a fulfillment: its source, status and usage."""
    return (
        f"source {fulfillment.source}",
        f"status {fulfillment.status}",
        f"usage {fulfillment.usage}",
    )


def _net_spend(order: Order | None) -> Decimal:
    if order is None or order.status is not OrderStatus.PAID:
        return Decimal(0)
    return order.amount - order.returned_amount


def _evolve(order: Order, **changes: Any) -> Order:
    return attrs.evolve(order, **changes)
