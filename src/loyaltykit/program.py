"""`Program`: one merchant's loyalty program, the single stateful facade of the core.

Every public command takes the program's lock, applies the time-driven events that are
due (auto-approvals, lot expiry, period-tier rollovers), validates all its arguments and
only then emits events into the journal. A command that raises has changed nothing.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from loyaltykit import _validate as v
from loyaltykit._atomic import AtomicLock
from loyaltykit.clock import Clock, SystemClock
from loyaltykit.coupons import CouponPool, PoolState
from loyaltykit.errors import (
    AlreadyResolved,
    CapReached,
    DuplicateMember,
    FulfillmentExpired,
    FulfillmentNotFound,
    IdempotencyConflict,
    InsufficientPoints,
    InvalidArgument,
    MemberDisabled,
    MemberNotFound,
    NotPending,
    OfferInactive,
    OfferNotFound,
    OrderNotFound,
    OverReturn,
    PoolExhausted,
    PoolNotFound,
    ReferralNotFound,
    RuleInactive,
    RuleNotFound,
    SelfReferral,
    TierNotEligible,
    TierNotFound,
    TrackNotFound,
    TransactionNotFound,
)
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
from loyaltykit.ledger import (
    AUTO_APPROVE_AT,
    CREATED_AT,
    EXPIRES_AT,
    ID,
    MEMBER_ID,
    ORDER_ID,
    POINTS,
    RESOLVED_AT,
    RULE_ID,
    STATUS,
    Account,
    AwardUsage,
    Lot,
    Row,
    Transaction,
    TxnKind,
    TxnStatus,
    from_row,
    to_row,
)
from loyaltykit.members import Member, MemberProfile, MemberState
from loyaltykit.orders import ClawbackPolicy, Order, OrderStatus, clawback_target
from loyaltykit.referrals import Referral, ReferralRewards, ReferralStatus
from loyaltykit.rewards import (
    Fulfillment,
    PriceKind,
    RewardOffer,
    UsageStatus,
    price_and_value,
)
from loyaltykit.rules import (
    Approval,
    Cap,
    EarningRule,
    RuleKind,
    Window,
    points_for,
    window_end,
    window_start,
)
from loyaltykit.state import DUE_APPROVAL, DUE_EXPIRY, State
from loyaltykit.tiers import Metric, Tier, TierChange, TierProgress, TierTrack

__all__ = ["ORDER_TRIGGER", "Program"]

ORDER_TRIGGER = "order"
"""Rules with this trigger are the ones `record_order` applies to paid orders."""

T = TypeVar("T")
_POSTED = TxnStatus.POSTED


_EARN, _SPEND, _ADJUST = TxnKind.EARN, TxnKind.SPEND, TxnKind.ADJUST
_tuple_new = tuple.__new__

# What rows hold for kinds and statuses (plain str, see `ledger.Row`), read once.
_ROW_EARN, _ROW_SPEND, _ROW_ADJUST = _EARN.value, _SPEND.value, _ADJUST.value
_ROW_AWARD = TxnKind.AWARD.value
_ROW_POSTED, _ROW_PENDING = _POSTED.value, TxnStatus.PENDING.value


class Program:
    """One tenant's loyalty program: configuration, members, ledger and clock.

    Thread-safe: one re-entrant lock serialises commands and reads, and undoes a command
    that fails half-way (see `AtomicLock`). `clawback` chooses what
    happens when points to claw back were already spent (see `ClawbackPolicy`); `timezone`
    is where calendar windows (caps, period tiers) begin; `started_at` is the instant the
    program started (activities dated before it earn nothing in the Smile fake).
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        name: str = "",
        clawback: ClawbackPolicy = ClawbackPolicy.NEGATIVE_BALANCE,
        timezone: tzinfo = UTC,
        started_at: datetime | None = None,
        seed: int | None = None,
    ) -> None:
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.name = name
        self.clawback = ClawbackPolicy(clawback)
        self.timezone = timezone
        self.started_at = (
            v.moment(started_at, "started_at") if started_at is not None else self.clock.now()
        )
        self._rng = random.Random(seed)
        self._journal: list[object] = []
        self._state = State(self.clawback, timezone)
        self._lock = AtomicLock(self._journal, self._rollback)

    # ================================================================== internals

    def _rollback(self, mark: int) -> None:
        """Forget the events from `mark` on and rebuild the state (see `AtomicLock`)."""
        del self._journal[mark:]
        state = State(self.clawback, self.timezone)
        for event in self._journal:
            state.apply(event)
        self._state = state

    def _emit(self, event: object) -> None:
        """Journal and fold one event; a `Transaction` is stored as its row."""
        if isinstance(event, Transaction):
            event = to_row(event)
        self._journal.append(event)
        self._state.apply(event)

    def _begin(self) -> datetime:
        """Read the clock and bring time-driven state up to that instant."""
        now = self.clock.now()
        due = self._state.due
        if due and due[0][0] <= now:
            self._catch_up(now)
            self._lock.keep()
        return now

    def _catch_up(self, now: datetime) -> list[Transaction]:
        """Emit, in time order, every approval, expiry and rollover due at `now`.

        Entries of the due schedule are never removed early: one that no longer applies
        (a lot already used up, an award already resolved) is skipped when it comes up.
        """
        st = self._state
        due = st.due
        expired: list[Transaction] = []
        while due and due[0][0] <= now:
            when, what, ident, extra = heapq.heappop(due)
            if what == DUE_APPROVAL:
                row = st.txns[ident - 1]
                if row[STATUS] == _ROW_PENDING and row[AUTO_APPROVE_AT] == when:
                    self._emit_resolution(row, True, when, "auto")
            elif what == DUE_EXPIRY:
                left = st.remaining.get(ident, 0)
                if left > 0:
                    txn = Transaction(
                        len(st.txns) + 1,
                        st.txns[ident - 1][MEMBER_ID],
                        TxnKind.EXPIRE,
                        -left,
                        _POSTED,
                        when,
                        source_id=ident,
                        description=f"points of transaction {ident} expired",
                    )
                    self._emit(txn)
                    expired.append(txn)
            else:
                period = st.accounts[ident].metrics.get(extra, (None, None))[0]
                if period is not None and window_end(st.tracks[extra].window, period) == when:
                    self._emit(PeriodRolled(ident, extra, when))
        return expired

    def _emit_resolution(self, row: Row, approved: bool, at: datetime, by: str) -> None:
        expires_at = None
        rule_id = row[RULE_ID]
        if approved and rule_id is not None:
            lifetime = self._state.rules[rule_id].points_lifetime
            expires_at = at + lifetime if lifetime is not None else None
        self._emit(AwardResolved(row[ID], approved, at, by, expires_at))
        if approved:
            order_id = row[ORDER_ID]
            order = self._state.orders.get(order_id) if order_id else None
            if order is not None and order.status is OrderStatus.PAID and order.returned_amount:
                self._claw_to_target(order, at)  # a return made while the award was pending
            self._settle(row[MEMBER_ID], at)

    def _settle(self, member_id: int, at: datetime) -> None:
        """Under the pending-deduction policy, let fresh points pay off what is owed."""
        if self.clawback is not ClawbackPolicy.PENDING_DEDUCTION:
            return
        account = self._state.accounts[member_id]
        amount = min(account.debt, account.available)
        if amount > 0:
            self._emit(
                Transaction(
                    len(self._state.txns) + 1,
                    member_id,
                    TxnKind.SETTLE,
                    -amount,
                    _POSTED,
                    at,
                    description="pending deduction settled",
                )
            )

    def _account(self, member_id: object, *, active: bool = True) -> Account:
        if isinstance(member_id, bool) or not isinstance(member_id, int):
            raise InvalidArgument("member_id", f"member_id must be an integer, got {member_id!r}")
        account = self._state.accounts.get(member_id)
        if account is None:
            raise MemberNotFound(member_id)
        if active and account.disabled:
            raise MemberDisabled(f"member {member_id} is disabled")
        return account

    def _rule(self, rule_id: object) -> EarningRule:
        rule = _lookup(self._state.rules, rule_id)
        if rule is None:
            raise RuleNotFound(rule_id)
        return rule

    def _offer(self, offer_id: object) -> RewardOffer:
        offer = _lookup(self._state.offers, offer_id)
        if offer is None:
            raise OfferNotFound(offer_id)
        return offer

    def _next_txn(self) -> int:
        return len(self._state.txns) + 1

    def _idempotent(
        self,
        key: str | None,
        fingerprint: tuple[object, ...],
        kind: str,
        run: Callable[[], T],
        ref_of: Callable[[T], str],
        lookup: Callable[[str], T],
    ) -> T:
        """Run `run` once per key: a retry with the same payload gets the first result."""
        if key is None:
            return run()
        v.text(key, "idempotency_key", required=True)
        printed = repr((kind, *fingerprint))
        known = self._state.keys.get(key)
        if known is not None:
            if known[0] != printed:
                raise IdempotencyConflict(
                    f"idempotency key {key!r} was used before with a different request"
                )
            return lookup(known[1])
        result = run()
        self._emit(KeyRecorded(key, printed, ref_of(result)))
        return result

    def _txn_ref(self, txn: Transaction) -> str:
        return f"transaction:{txn.id}"

    def _txn_lookup(self, ref: str) -> Transaction:
        return from_row(self._state.txns[int(ref.split(":", 1)[1]) - 1])

    # ================================================================== configuration

    def add_rule(
        self,
        *,
        name: str,
        kind: RuleKind = RuleKind.FIXED,
        points: int = 0,
        multiplier: Decimal | int = Decimal(0),
        trigger: str = "custom",
        active: bool = True,
        cap: Cap | None = None,
        points_lifetime: timedelta | None = None,
        approval: Approval = Approval.IMMEDIATE,
        approval_delay: timedelta | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> EarningRule:
        """Define an earning rule (see `EarningRule`)."""
        with self._lock:
            now = self._begin()
            rule = self._checked_rule(
                EarningRule(
                    self._state.peek_id("rule"),
                    name,
                    kind,
                    points,
                    multiplier,  # type: ignore[arg-type]
                    trigger,
                    active,
                    cap,
                    points_lifetime,
                    approval,
                    approval_delay,
                    _mapping(metadata),
                )
            )
            self._emit(RuleDefined(rule, now))
            return rule

    def update_rule(self, rule_id: int, **changes: Any) -> EarningRule:
        with self._lock:
            now = self._begin()
            rule = self._checked_rule(_evolve(self._rule(rule_id), changes, "rule"))
            self._emit(RuleDefined(rule, now))
            return rule

    def _checked_rule(self, rule: EarningRule) -> EarningRule:
        v.text(rule.name, "name")
        kind = _enum(RuleKind, rule.kind, "kind")
        approval = _enum(Approval, rule.approval, "approval")
        v.points(rule.points, "points", allow_zero=True)
        multiplier = v.money(rule.multiplier, "multiplier")
        v.text(rule.trigger, "trigger", required=True)
        if not isinstance(rule.active, bool):
            raise InvalidArgument("active", f"active must be a boolean, got {rule.active!r}")
        if rule.cap is not None:
            if not isinstance(rule.cap, Cap):
                raise InvalidArgument("cap", f"cap must be a Cap, got {rule.cap!r}")
            v.points(rule.cap.max_awards, "cap.max_awards")
            _enum(Window, rule.cap.window, "cap.window")
        v.duration(rule.points_lifetime, "points_lifetime")
        v.duration(rule.approval_delay, "approval_delay")
        if kind is RuleKind.MULTIPLIER and multiplier == 0:
            raise InvalidArgument("multiplier", "a multiplier rule needs a non-zero multiplier")
        return attrs.evolve(rule, kind=kind, approval=approval, multiplier=multiplier)

    def rule(self, rule_id: int) -> EarningRule:
        with self._lock:
            return self._rule(rule_id)

    def rules(self, *, trigger: str | None = None) -> list[EarningRule]:
        with self._lock:
            return [
                r for r in self._state.rules.values() if trigger is None or r.trigger == trigger
            ]

    def add_pool(
        self,
        *,
        name: str,
        codes: Sequence[str] = (),
        prefix: str | None = None,
        suffix_length: int = 12,
        expires_at: datetime | None = None,
    ) -> CouponPool:
        """A coupon pool: uploaded one-time `codes`, or generated `prefix-<hex>` codes."""
        with self._lock:
            now = self._begin()
            v.text(name, "name")
            clean = self._checked_codes(codes, set())
            if prefix is not None:
                v.text(prefix, "prefix", required=True)
                if clean:
                    raise InvalidArgument("codes", "a pool has either codes or a prefix, not both")
            v.points(suffix_length, "suffix_length")
            pool = CouponPool(
                self._state.peek_id("pool"),
                name,
                clean,
                prefix,
                suffix_length,
                v.optional_moment(expires_at, "expires_at"),
            )
            self._emit(PoolDefined(pool, now))
            return pool

    def add_codes(self, pool_id: int, codes: Sequence[str]) -> int:
        """Upload more one-time codes to a list pool; returns how many are now available."""
        with self._lock:
            now = self._begin()
            state = self._pool_state(pool_id)
            if state.pool.generated:
                raise InvalidArgument("codes", f"pool {pool_id} generates its codes")
            clean = self._checked_codes(codes, set(state.available) | state.issued)
            self._emit(CodesAdded(pool_id, clean, now))
            return len(state.available)

    def update_pool(self, pool_id: int, **changes: Any) -> CouponPool:
        """Rename a pool or change its expiry; codes change through `add_codes`."""
        with self._lock:
            now = self._begin()
            state = self._pool_state(pool_id)
            if set(changes) - {"name", "expires_at"}:
                bad = sorted(set(changes) - {"name", "expires_at"})[0]
                raise InvalidArgument(bad, f"pool field {bad!r} cannot be changed")
            if "name" in changes:
                v.text(changes["name"], "name")
            if "expires_at" in changes:
                changes["expires_at"] = v.optional_moment(changes["expires_at"], "expires_at")
            pool = attrs.evolve(state.pool, **changes)
            self._emit(PoolDefined(pool, now))
            return pool

    def _checked_codes(self, codes: Iterable[str], taken: set[str]) -> tuple[str, ...]:
        """Codes are unique across the whole program: a code is issued at most once."""
        if isinstance(codes, str | bytes) or not isinstance(codes, Iterable):
            raise InvalidArgument("codes", f"codes must be a list of strings, got {codes!r}")
        codes = tuple(codes)
        for state in self._state.pools.values():
            taken = taken | set(state.available) | state.issued
        seen: set[str] = set()
        for code in codes:
            v.text(code, "codes", required=True)
            if code in seen or code in taken or code in self._state.by_code:
                raise InvalidArgument("codes", f"duplicate coupon code {code!r}")
            seen.add(code)
        return tuple(codes)

    def _pool_state(self, pool_id: object) -> PoolState:
        state = _lookup(self._state.pools, pool_id)
        if state is None:
            raise PoolNotFound(pool_id)
        return state

    def pool(self, pool_id: int) -> CouponPool:
        with self._lock:
            return self._pool_state(pool_id).pool

    def pools(self) -> list[CouponPool]:
        with self._lock:
            return [s.pool for s in self._state.pools.values()]

    def pool_remaining(self, pool_id: int) -> int | None:
        """Codes left to issue (None for a generator pool, which never runs out)."""
        with self._lock:
            self._begin_read()
            return self._pool_state(pool_id).remaining()

    def add_offer(
        self,
        *,
        name: str,
        price_kind: PriceKind = PriceKind.FIXED,
        points_price: int = 0,
        step: int = 1,
        value_per_step: Decimal | int = Decimal(0),
        min_points: int | None = None,
        max_points: int | None = None,
        value: Decimal | int = Decimal(0),
        pool_id: int | None = None,
        active: bool = True,
        eligible_tiers: Sequence[int] = (),
        reward_lifetime: timedelta | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> RewardOffer:
        """Define a reward offer (see `RewardOffer`)."""
        with self._lock:
            now = self._begin()
            offer = self._checked_offer(
                RewardOffer(
                    self._state.peek_id("offer"),
                    name,
                    price_kind,
                    points_price,
                    step,
                    v.money(value_per_step, "value_per_step"),
                    min_points,
                    max_points,
                    v.money(value, "value"),
                    pool_id,
                    active,
                    _tier_ids(eligible_tiers),
                    reward_lifetime,
                    _mapping(metadata),
                )
            )
            self._emit(OfferDefined(offer, now))
            return offer

    def update_offer(self, offer_id: int, **changes: Any) -> RewardOffer:
        with self._lock:
            now = self._begin()
            if "eligible_tiers" in changes:
                changes["eligible_tiers"] = _tier_ids(changes["eligible_tiers"])
            offer = self._checked_offer(_evolve(self._offer(offer_id), changes, "offer"))
            self._emit(OfferDefined(offer, now))
            return offer

    def _checked_offer(self, offer: RewardOffer) -> RewardOffer:
        v.text(offer.name, "name")
        kind = _enum(PriceKind, offer.price_kind, "price_kind")
        v.points(offer.points_price, "points_price", allow_zero=True)
        v.points(offer.step, "step")
        for field in ("min_points", "max_points"):
            value = getattr(offer, field)
            if value is not None:
                v.points(value, field)
        if (
            offer.min_points is not None
            and offer.max_points is not None
            and offer.min_points > offer.max_points
        ):
            raise InvalidArgument("min_points", "min_points is above max_points")
        if offer.pool_id is not None:
            self._pool_state(offer.pool_id)
        for tier_id in offer.eligible_tiers:
            if tier_id not in self._state.tiers:
                raise TierNotFound(tier_id)
        if not isinstance(offer.active, bool):
            raise InvalidArgument("active", f"active must be a boolean, got {offer.active!r}")
        v.duration(offer.reward_lifetime, "reward_lifetime")
        return attrs.evolve(
            offer,
            price_kind=kind,
            value=v.money(offer.value, "value"),
            value_per_step=v.money(offer.value_per_step, "value_per_step"),
        )

    def offer(self, offer_id: int) -> RewardOffer:
        with self._lock:
            return self._offer(offer_id)

    def offers(self) -> list[RewardOffer]:
        with self._lock:
            return list(self._state.offers.values())

    def add_track(
        self, *, name: str, metric: Metric = Metric.POINTS_EARNED, window: Window = Window.LIFETIME
    ) -> TierTrack:
        """A ladder of tiers on one metric, over the lifetime or a calendar period."""
        with self._lock:
            now = self._begin()
            v.text(name, "name")
            track = TierTrack(
                self._state.peek_id("track"),
                name,
                _enum(Metric, metric, "metric"),
                _enum(Window, window, "window"),
            )
            if track.window is Window.DAY:
                raise InvalidArgument("window", "a tier period must be a week or longer")
            self._emit(TrackDefined(track, now))
            return track

    def add_tier(
        self,
        track_id: int,
        *,
        name: str,
        threshold: Decimal | int,
        multiplier: Decimal | int = Decimal(1),
        metadata: Mapping[str, Any] | None = None,
    ) -> Tier:
        with self._lock:
            now = self._begin()
            if not _is_id(track_id) or track_id not in self._state.tracks:
                raise TrackNotFound(track_id)
            tier = self._checked_tier(
                Tier(
                    self._state.peek_id("tier"),
                    track_id,
                    name,
                    v.money(threshold, "threshold"),
                    v.money(multiplier, "multiplier"),
                    _mapping(metadata),
                )
            )
            self._emit(TierDefined(tier, now))
            return tier

    def update_tier(self, tier_id: int, **changes: Any) -> Tier:
        with self._lock:
            now = self._begin()
            tier = _lookup(self._state.tiers, tier_id)
            if tier is None:
                raise TierNotFound(tier_id)
            if "track_id" in changes and changes["track_id"] != tier.track_id:
                raise InvalidArgument("track_id", "a tier cannot move to another track")
            tier = self._checked_tier(_evolve(tier, changes, "tier"))
            self._emit(TierDefined(tier, now))
            return tier

    def _checked_tier(self, tier: Tier) -> Tier:
        v.text(tier.name, "name")
        return attrs.evolve(
            tier,
            threshold=v.money(tier.threshold, "threshold"),
            multiplier=v.money(tier.multiplier, "multiplier"),
        )

    def track(self, track_id: int) -> TierTrack:
        with self._lock:
            track = _lookup(self._state.tracks, track_id)
            if track is None:
                raise TrackNotFound(track_id)
            return track

    def tracks(self) -> list[TierTrack]:
        with self._lock:
            return list(self._state.tracks.values())

    def tier(self, tier_id: int) -> Tier:
        with self._lock:
            tier = _lookup(self._state.tiers, tier_id)
            if tier is None:
                raise TierNotFound(tier_id)
            return tier

    def tiers(self, track_id: int | None = None) -> list[Tier]:
        """Tiers in ladder order (lowest threshold first), of one track or of all."""
        with self._lock:
            ids = [track_id] if track_id is not None else list(self._state.ladders)
            if track_id is not None and (
                not _is_id(track_id) or track_id not in self._state.tracks
            ):
                raise TrackNotFound(track_id)
            return [t for tid in ids for t in self._state.ladders[tid]]

    def tier_progress(self, member_id: int, track_id: int) -> TierProgress:
        """The member's metric on a track in its current window, and the next tier up."""
        with self._lock:
            now = self._begin()
            account = self._account(member_id, active=False)
            track = _lookup(self._state.tracks, track_id)
            if track is None:
                raise TrackNotFound(track_id)
            value = self._state.metric_value(account, track)
            start = window_start(track.window, now, self.timezone)
            end = window_end(track.window, start) if start is not None else None
            ladder = self._state.ladders.get(track.id, [])
            next_tier = next((t for t in ladder if t.threshold > value), None)
            return TierProgress(
                track.id,
                value,
                account.tiers.get(track.id),
                next_tier.id if next_tier else None,
                next_tier.threshold - value if next_tier else None,
                start,
                end,
            )

    def tier_changes(self, member_id: int | None = None) -> list[TierChange]:
        with self._lock:
            self._begin_read()
            return [
                c for c in self._state.tier_changes if member_id is None or c.member_id == member_id
            ]

    def set_referral_rewards(
        self,
        *,
        sender_points: int = 0,
        receiver_points: int = 0,
        sender_offer_id: int | None = None,
        receiver_offer_id: int | None = None,
    ) -> ReferralRewards:
        with self._lock:
            now = self._begin()
            v.points(sender_points, "sender_points", allow_zero=True)
            v.points(receiver_points, "receiver_points", allow_zero=True)
            for offer_id in (sender_offer_id, receiver_offer_id):
                if offer_id is not None:
                    self._offer(offer_id)
            rewards = ReferralRewards(
                sender_points, receiver_points, sender_offer_id, receiver_offer_id
            )
            self._emit(ReferralRewardsSet(rewards, now))
            return rewards

    def referral_rewards(self) -> ReferralRewards:
        with self._lock:
            return self._state.referral_rewards

    # ================================================================== members

    def add_member(
        self,
        *,
        email: str | None = None,
        external_id: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        birthday: date | None = None,
        state: MemberState = MemberState.MEMBER,
        metadata: Mapping[str, Any] | None = None,
        referral_code: str | None = None,
        idempotency_key: str | None = None,
    ) -> Member:
        """Enrol a member; email (case-insensitive), external id and referral code are unique.

        Without `referral_code` one is generated (`ref-` and 8 hex digits).
        """
        with self._lock:
            now = self._begin()
            fingerprint = (
                email,
                external_id,
                first_name,
                last_name,
                birthday,
                str(state),
                sorted((metadata or {}).items()) if isinstance(metadata, Mapping) else metadata,
                referral_code,
            )

            def run() -> Member:
                profile = self._checked_profile(
                    MemberProfile(
                        self._state.peek_id("member"),
                        now,
                        now,
                        email,
                        external_id,
                        first_name,
                        last_name,
                        birthday,
                        state,
                        None,
                        _mapping(metadata),
                    )
                )
                code = referral_code
                if code is None:
                    code = self._new_referral_code()
                else:
                    v.text(code, "referral_code", required=True)
                    owner = self._state.by_referral_code.get(code)
                    if owner is not None:
                        raise DuplicateMember(
                            f"referral_code {code!r} already belongs to member {owner}"
                        )
                profile = attrs.evolve(profile, referral_code=code)
                self._emit(MemberRecorded(profile))
                return self._member_view(profile.id)

            return self._idempotent(
                idempotency_key,
                fingerprint,
                "add_member",
                run,
                lambda m: f"member:{m.id}",
                lambda ref: self._member_view(int(ref.split(":")[1])),
            )

    def update_member(self, member_id: int, **changes: Any) -> Member:
        """Change profile fields; balances change only through ledger commands."""
        with self._lock:
            now = self._begin()
            self._account(member_id, active=False)
            old = self._state.profiles[member_id]
            for fixed in ("id", "created_at", "updated_at", "referral_code"):
                if fixed in changes:
                    raise InvalidArgument(fixed, f"{fixed} cannot be changed")
            profile = self._checked_profile(_evolve(old, changes, "member"))
            if profile != old:
                self._emit(MemberRecorded(attrs.evolve(profile, updated_at=now)))
            return self._member_view(member_id)

    def remove_member(self, member_id: int) -> Member:
        """Disable a member: history is kept, new transactions are refused."""
        return self.update_member(member_id, state=MemberState.DISABLED)

    def _checked_profile(self, profile: MemberProfile) -> MemberProfile:
        state = _enum(MemberState, profile.state, "state")
        email = v.optional_text(profile.email, "email")
        if email is not None and "@" not in email:
            raise InvalidArgument("email", f"email {email!r} is not an email address")
        xid = v.optional_text(profile.external_id, "external_id")
        for field in ("first_name", "last_name"):
            value = getattr(profile, field)
            if value is not None:
                v.text(value, field)
        if profile.birthday is not None and (
            not isinstance(profile.birthday, date) or isinstance(profile.birthday, datetime)
        ):
            raise InvalidArgument("birthday", f"birthday must be a date, got {profile.birthday!r}")
        if not isinstance(profile.metadata, dict):
            raise InvalidArgument("metadata", "metadata must be a mapping")
        owner = self._state.by_email.get(email.lower()) if email else None
        if owner is not None and owner != profile.id:
            raise DuplicateMember(f"email {email!r} already belongs to member {owner}")
        owner = self._state.by_external_id.get(xid) if xid else None
        if owner is not None and owner != profile.id:
            raise DuplicateMember(f"external_id {xid!r} already belongs to member {owner}")
        return attrs.evolve(profile, state=state)

    def _new_referral_code(self) -> str:
        while True:
            code = f"ref-{self._rng.getrandbits(32):08x}"
            if code not in self._state.by_referral_code:
                return code

    def _member_view(self, member_id: int) -> Member:
        st = self._state
        account = st.accounts[member_id]
        balance = account.available
        if self.clawback is ClawbackPolicy.NEGATIVE_BALANCE:
            balance -= account.debt
        return Member(
            st.profiles[member_id],
            balance,
            account.pending,
            account.earned,
            account.spent,
            account.expired,
            account.clawed_back,
            account.debt,
            account.written_off,
            account.amount_spent,
            dict(account.tiers),
        )

    def member(self, member_id: int) -> Member:
        with self._lock:
            self._begin_read()
            self._account(member_id, active=False)
            return self._member_view(member_id)

    def _begin_read(self) -> None:
        """Reads see time-driven changes too (an expired lot is never reported live)."""
        self._begin()

    def member_by_email(self, email: str) -> Member:
        with self._lock:
            self._begin_read()
            member_id = self._state.by_email.get(email.lower()) if isinstance(email, str) else None
            if member_id is None:
                raise MemberNotFound(email)
            return self._member_view(member_id)

    def member_by_external_id(self, external_id: str) -> Member:
        with self._lock:
            self._begin_read()
            member_id = self._state.by_external_id.get(external_id)
            if member_id is None:
                raise MemberNotFound(external_id)
            return self._member_view(member_id)

    def members(self) -> list[Member]:
        with self._lock:
            self._begin_read()
            return [self._member_view(mid) for mid in self._state.profiles]

    def set_tier(self, member_id: int, track_id: int, tier_id: int | None) -> Member:
        """Assign a tier by hand: the member never falls below it on that track (None lifts it)."""
        with self._lock:
            now = self._begin()
            self._account(member_id, active=False)
            if not _is_id(track_id) or track_id not in self._state.tracks:
                raise TrackNotFound(track_id)
            if tier_id is not None:
                tier = _lookup(self._state.tiers, tier_id)
                if tier is None or tier.track_id != track_id:
                    raise TierNotFound(tier_id)
            self._emit(TierFloorSet(member_id, track_id, tier_id, now))
            return self._member_view(member_id)

    # ================================================================== ledger

    def earn(
        self,
        member_id: int,
        points: int,
        *,
        description: str = "",
        lifetime: timedelta | None = None,
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> Transaction:
        """Credit points by hand (no rule); `lifetime` makes them expire; `note` is internal."""
        with self._lock:
            now = self._begin()
            if idempotency_key is None:
                return self._earn(member_id, points, description, lifetime, now, note)
            return self._idempotent(
                idempotency_key,
                (member_id, points, description, lifetime, note),
                "earn",
                lambda: self._earn(member_id, points, description, lifetime, now, note),
                self._txn_ref,
                self._txn_lookup,
            )

    def _earn(
        self,
        member_id: int,
        points: int,
        description: str,
        lifetime: timedelta | None,
        now: datetime,
        note: str | None = None,
    ) -> Transaction:
        # The hot path: checks inlined, the row stored and the Transaction returned built
        # as plain tuples, the row dispatched straight to the fold. Both tuples are written
        # out (here and in `_spend`): deriving one from the other (`from_row`, slicing)
        # costs about 0.1 us, 7% of an earn.
        account = self._state.accounts.get(member_id) if type(member_id) is int else None
        if account is None or account.disabled:
            account = self._account(member_id)
        if type(points) is not int or points <= 0:
            v.points(points)
        if type(description) is not str:
            v.text(description, "description")
        expires_at = None
        if lifetime is not None:
            v.duration(lifetime, "lifetime")
            expires_at = now + lifetime
        if note is not None:
            v.text(note, "note")
        st = self._state
        txn_id = len(st.txns) + 1
        row = (
            txn_id,
            member_id,
            _ROW_EARN,
            points,
            _ROW_POSTED,
            now,
            expires_at,
            None,
            None,
            None,
            description,
            None,
            None,
            None,
            None,
            note,
        )
        self._journal.append(row)
        if expires_at is None and not account.debt and not st.tracks:
            st.post_plain_credit(account, row, txn_id, points)
        else:
            st.on_transaction(row)
            if account.debt:
                self._settle(member_id, now)
        txn: Transaction = _tuple_new(
            Transaction,
            (
                txn_id,
                member_id,
                _EARN,
                points,
                _POSTED,
                now,
                expires_at,
                None,
                None,
                None,
                description,
                None,
                None,
                None,
                None,
                note,
            ),
        )
        return txn

    def spend(
        self,
        member_id: int,
        points: int,
        *,
        description: str = "",
        kind: TxnKind = TxnKind.SPEND,
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> Transaction:
        """Debit points, soonest-expiring first; refused if the balance does not cover it."""
        with self._lock:
            now = self._begin()
            if idempotency_key is None:
                return self._spend(member_id, points, description, kind, now, note)
            return self._idempotent(
                idempotency_key,
                (member_id, points, description, str(kind), note),
                "spend",
                lambda: self._spend(member_id, points, description, kind, now, note),
                self._txn_ref,
                self._txn_lookup,
            )

    def _spend(
        self,
        member_id: int,
        points: int,
        description: str,
        kind: TxnKind,
        now: datetime,
        note: str | None = None,
    ) -> Transaction:
        account = self._state.accounts.get(member_id) if type(member_id) is int else None
        if account is None or account.disabled:
            account = self._account(member_id)
        if type(points) is not int or points <= 0:
            v.points(points)
        if type(description) is not str:
            v.text(description, "description")
        if kind is not _SPEND and kind is not _ADJUST:
            raise InvalidArgument("kind", f"spend kind must be spend or adjust, got {kind!r}")
        if note is not None:
            v.text(note, "note")
        if points > account.available:
            raise InsufficientPoints(member_id, points, account.available)
        st = self._state
        txn_id = len(st.txns) + 1
        row = (
            txn_id,
            member_id,
            _ROW_SPEND if kind is _SPEND else _ROW_ADJUST,
            -points,
            _ROW_POSTED,
            now,
            None,
            None,
            None,
            None,
            description,
            None,
            None,
            None,
            None,
            note,
        )
        self._journal.append(row)
        st.post_plain_debit(account, row, txn_id, points)
        txn: Transaction = _tuple_new(
            Transaction,
            (
                txn_id,
                member_id,
                kind,
                -points,
                _POSTED,
                now,
                None,
                None,
                None,
                None,
                description,
                None,
                None,
                None,
                None,
                note,
            ),
        )
        return txn

    def adjust(
        self,
        member_id: int,
        points_change: int,
        *,
        description: str = "",
        lifetime: timedelta | None = None,
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> Transaction:
        """A manual correction: positive credits, negative debits (never below zero)."""
        with self._lock:
            now = self._begin()

            def run() -> Transaction:
                account = self._account(member_id)
                v.points(points_change, "points_change", allow_negative=True)
                v.text(description, "description")
                v.duration(lifetime, "lifetime")
                if note is not None:
                    v.text(note, "note")
                if points_change < 0 and -points_change > account.available:
                    raise InsufficientPoints(member_id, -points_change, account.available)
                expires = now + lifetime if lifetime and points_change > 0 else None
                txn = Transaction(
                    self._next_txn(),
                    member_id,
                    TxnKind.ADJUST,
                    points_change,
                    _POSTED,
                    now,
                    expires,
                    description=description,
                    note=note,
                )
                self._emit(txn)
                if points_change > 0 and account.debt:
                    self._settle(member_id, now)
                return txn

            if idempotency_key is None:
                return run()
            return self._idempotent(
                idempotency_key,
                (member_id, points_change, description, lifetime, note),
                "adjust",
                run,
                self._txn_ref,
                self._txn_lookup,
            )

    def award(
        self,
        member_id: int,
        rule_id: int,
        *,
        amount: Decimal | int | None = None,
        points: int | None = None,
        order_id: str | None = None,
        description: str = "",
        auto_approve_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> Transaction:
        """Award points through an earning rule: active flag, cap, tier multiplier, approval.

        `points` overrides a FIXED rule's points; a MULTIPLIER rule needs `amount`. With
        `order_id` the award happens at most once per (order, rule): a repeat returns the
        first transaction unchanged, and the order is recorded (paid, for `amount`) so that
        it can later be returned. The award of 0 points is refused.
        """
        with self._lock:
            now = self._begin()

            def run() -> Transaction:
                return self._award(
                    member_id, rule_id, amount, points, order_id, description, auto_approve_at, now
                )

            if idempotency_key is None:
                return run()
            return self._idempotent(
                idempotency_key,
                (member_id, rule_id, str(amount), points, order_id, description, auto_approve_at),
                "award",
                run,
                self._txn_ref,
                self._txn_lookup,
            )

    def _award(
        self,
        member_id: int,
        rule_id: int,
        amount: Decimal | int | None,
        points: int | None,
        order_id: str | None,
        description: str,
        auto_approve_at: datetime | None,
        now: datetime,
    ) -> Transaction:
        account = self._account(member_id)
        rule = self._rule(rule_id)
        if not rule.active:
            raise RuleInactive(f"rule {rule.id} ({rule.name}) is inactive")
        money = v.money(amount, "amount") if amount is not None else None
        if points is not None:
            v.points(points)
            if rule.kind is RuleKind.MULTIPLIER:
                raise InvalidArgument("points", f"rule {rule.id} computes points from an amount")
        if rule.kind is RuleKind.MULTIPLIER and money is None:
            raise InvalidArgument("amount", f"rule {rule.id} needs an amount to multiply")
        v.text(description, "description")
        due = v.optional_moment(auto_approve_at, "auto_approve_at")
        if order_id is not None:
            v.text(order_id, "order_id", required=True)
            existing = self._state.order_awards.get((order_id, rule.id))
            if existing is not None:
                return from_row(self._state.txns[existing - 1])
            order = self._state.orders.get(order_id)
            if order is not None and order.member_id != member_id:
                raise InvalidArgument("order_id", f"order {order_id!r} belongs to another member")
        self._check_cap(account, rule, now)
        value = points_for(rule, money, points, self._state.tier_multiplier(account))
        if value <= 0:
            raise InvalidArgument("points", f"rule {rule.id} would award {value} points")
        if order_id is not None and order_id not in self._state.orders:
            self._emit(
                OrderRecorded(
                    Order(
                        order_id,
                        member_id,
                        money or Decimal(0),
                        OrderStatus.PAID,
                        now,
                        now,
                        now,
                        paid_at=now,
                    )
                )
            )
        return self._post_award(account, rule, value, now, order_id, description, due)

    def _check_cap(self, account: Account, rule: EarningRule, now: datetime) -> None:
        cap = rule.cap
        if cap is None:
            return
        times = account.award_times.get(rule.id, [])
        start = window_start(cap.window, now, self.timezone)
        count = len(times) if start is None else sum(1 for t in times if t >= start)
        if count >= cap.max_awards:
            raise CapReached(
                f"member {account.member_id} reached the cap of {cap.max_awards} awards per "
                f"{cap.window} for rule {rule.id}"
            )

    def _post_award(
        self,
        account: Account,
        rule: EarningRule,
        value: int,
        now: datetime,
        order_id: str | None,
        description: str,
        due: datetime | None,
    ) -> Transaction:
        if rule.approval is Approval.IMMEDIATE and due is None:
            lifetime = rule.points_lifetime
            # the common award: its row built directly (see `ledger.Row`), one Transaction
            row = (
                self._next_txn(),
                account.member_id,
                _ROW_AWARD,
                value,
                _ROW_POSTED,
                now,
                now + lifetime if lifetime else None,
                rule.id,
                order_id,
                None,
                description,
                None,
                None,
                None,
                None,
                None,
            )
            self._journal.append(row)
            self._state.on_transaction(row)
            if account.debt:
                self._settle(account.member_id, now)
            return from_row(row)
        if due is None and rule.approval is Approval.DELAYED:
            due = now + (rule.approval_delay or timedelta(days=30))
        txn = Transaction(
            self._next_txn(),
            account.member_id,
            TxnKind.AWARD,
            value,
            TxnStatus.PENDING,
            now,
            None,
            rule.id,
            order_id,
            description=description,
            auto_approve_at=due,
        )
        self._emit(txn)
        if due is not None and due <= now:
            self._catch_up(now)
        return from_row(self._state.txns[txn.id - 1])

    def approve(self, txn_id: int, *, by: str = "") -> Transaction:
        """Approve a pending award: its points become spendable and their lifetime starts."""
        return self._resolve(txn_id, True, by)

    def reject(self, txn_id: int, *, by: str = "") -> Transaction:
        """Reject a pending award: its points are never credited."""
        return self._resolve(txn_id, False, by)

    def _resolve(self, txn_id: int, approved: bool, by: str) -> Transaction:
        with self._lock:
            now = self._begin()
            row = self._txn(txn_id)
            v.text(by, "by")
            if row[STATUS] != _ROW_PENDING:
                if row[RESOLVED_AT] is not None:
                    raise AlreadyResolved(f"transaction {txn_id} was already {row[STATUS]}")
                raise NotPending(f"transaction {txn_id} is not a pending award")
            self._emit_resolution(row, approved, now, by)
            return from_row(self._state.txns[txn_id - 1])

    def _txn(self, txn_id: object) -> Row:
        """The stored row of a transaction (`from_row` makes the public `Transaction`)."""
        if isinstance(txn_id, bool) or not isinstance(txn_id, int):
            raise InvalidArgument("txn_id", f"transaction id must be an integer, got {txn_id!r}")
        if not 1 <= txn_id <= len(self._state.txns):
            raise TransactionNotFound(txn_id)
        return self._state.txns[txn_id - 1]

    def expire_due(self, now: datetime | None = None) -> list[Transaction]:
        """Expire every lot due at `now` (default: the clock); idempotent at one instant.

        Also applies the auto-approvals and period rollovers due by then, in time order.
        """
        with self._lock:
            at = self.clock.now() if now is None else v.moment(now, "now")
            return self._catch_up(at)

    def transaction(self, txn_id: int) -> Transaction:
        with self._lock:
            self._begin_read()
            return from_row(self._txn(txn_id))

    def transactions(self, member_id: int | None = None) -> list[Transaction]:
        """Transactions in id order, of one member or of the whole program."""
        with self._lock:
            self._begin_read()
            txns = self._state.txns
            if member_id is None:
                return [from_row(row) for row in txns]
            account = self._account(member_id, active=False)
            return [from_row(txns[i - 1]) for i in account.txn_ids]

    def lots(self, member_id: int) -> list[Lot]:
        """Live lots in consumption order (soonest expiry first, never-expiring last)."""
        with self._lock:
            self._begin_read()
            account = self._account(member_id, active=False)
            st = self._state
            lots = []
            for lot_id in account.lot_ids():
                row = st.txns[lot_id - 1]
                lots.append(
                    Lot(
                        lot_id,
                        row[POINTS],
                        st.remaining[lot_id],
                        row[CREATED_AT],
                        row[EXPIRES_AT],
                    )
                )
            return lots

    def expiry_schedule(self, member_id: int) -> list[tuple[datetime, int]]:
        """(expiry instant, points) for every future expiry of the member, soonest first
        (read from the member's expiring lots only: never-expiring ones cost nothing here)."""
        with self._lock:
            self._begin_read()
            account = self._account(member_id, active=False)
            remaining = self._state.remaining
            schedule: dict[datetime, int] = {}
            for expires_at, lot_id in account.expiring:  # already in expiry order
                schedule[expires_at] = schedule.get(expires_at, 0) + remaining[lot_id]
            return list(schedule.items())

    def award_usage(self, txn_id: int) -> AwardUsage:
        """What became of a credit: points used, expired, still available."""
        with self._lock:
            self._begin_read()
            row = self._txn(txn_id)
            points = row[POINTS]
            if points <= 0 or row[STATUS] != _ROW_POSTED:
                return AwardUsage(0, 0, 0)
            st = self._state
            left = st.remaining.get(txn_id, 0)
            expired = st.expired_of.get(txn_id, 0)
            return AwardUsage(points - left - expired, expired, left)

    # ================================================================== rewards

    def redeem(
        self,
        member_id: int,
        offer_id: int,
        *,
        points: int | None = None,
        idempotency_key: str | None = None,
    ) -> Fulfillment:
        """Exchange points for a reward: checks eligibility, balance and the coupon pool
        before taking anything."""
        with self._lock:
            now = self._begin()

            def run() -> Fulfillment:
                account = self._account(member_id)
                offer = self._offer(offer_id)
                if not offer.active:
                    raise OfferInactive(f"offer {offer.id} ({offer.name}) is inactive")
                self._check_eligible(account, offer)
                price, value = price_and_value(offer, points)
                if price > account.available:
                    raise InsufficientPoints(member_id, price, account.available)
                return self._issue(account, offer, price, value, now, "redemption")

            return self._idempotent(
                idempotency_key,
                (member_id, offer_id, points),
                "redeem",
                run,
                lambda f: f"fulfillment:{f.id}",
                lambda ref: self._state.fulfillments[int(ref.split(":")[1])],
            )

    def grant(self, member_id: int, offer_id: int, *, source: str = "grant") -> Fulfillment:
        """Give a reward for free (referral rewards, goodwill)."""
        with self._lock:
            now = self._begin()
            account = self._account(member_id)
            offer = self._offer(offer_id)
            v.text(source, "source", required=True)
            return self._issue(account, offer, 0, offer.value, now, source)

    def _can_issue(self, offer: RewardOffer, now: datetime) -> bool:
        if offer.pool_id is None:
            return True
        state = self._state.pools[offer.pool_id]
        try:
            state.check_can_issue(now)
        except PoolExhausted:
            return False
        return True

    def _check_eligible(self, account: Account, offer: RewardOffer) -> None:
        if offer.eligible_tiers and not set(offer.eligible_tiers) & set(account.tiers.values()):
            raise TierNotEligible(
                f"offer {offer.id} is for tiers {list(offer.eligible_tiers)}; member "
                f"{account.member_id} holds {[t for t in account.tiers.values() if t]}"
            )

    def _issue(
        self,
        account: Account,
        offer: RewardOffer,
        price: int,
        value: Decimal,
        now: datetime,
        source: str,
    ) -> Fulfillment:
        code: str | None = None
        expires_at = now + offer.reward_lifetime if offer.reward_lifetime else None
        if offer.pool_id is not None:
            pool_state = self._state.pools[offer.pool_id]
            pool_state.check_can_issue(now)
            code = pool_state.next_code(self._rng)
            pool_expiry = pool_state.pool.expires_at
            if pool_expiry is not None and (expires_at is None or pool_expiry < expires_at):
                expires_at = pool_expiry
        txn_id = None
        if price:
            txn = Transaction(
                self._next_txn(),
                account.member_id,
                TxnKind.REDEEM,
                -price,
                _POSTED,
                now,
                reference=f"offer:{offer.id}",
                description=f"redeemed {offer.name}",
            )
            self._emit(txn)
            txn_id = txn.id
        fulfillment = Fulfillment(
            self._state.peek_id("fulfillment"),
            account.member_id,
            offer.id,
            price,
            value,
            code,
            now,
            now,
            expires_at,
            usage=UsageStatus.UNUSED if code else UsageStatus.UNTRACKED,
            txn_id=txn_id,
            source=source,
        )
        self._emit(RewardIssued(fulfillment, offer.pool_id))
        return fulfillment

    def use_code(self, code: str, *, at: datetime | None = None) -> Fulfillment:
        """Mark the reward holding `code` used (idempotent: a used code stays as it was)."""
        with self._lock:
            now = self._begin()
            v.text(code, "code", required=True)
            when = v.optional_moment(at, "at") or now
            fulfillment_id = self._state.by_code.get(code)
            if fulfillment_id is None:
                raise FulfillmentNotFound(code)
            fulfillment = self._state.fulfillments[fulfillment_id]
            if fulfillment.usage is UsageStatus.USED:
                return fulfillment
            if fulfillment.expires_at is not None and when >= fulfillment.expires_at:
                raise FulfillmentExpired(f"code {code!r} expired at {fulfillment.expires_at}")
            used = attrs.evolve(fulfillment, usage=UsageStatus.USED, used_at=when, updated_at=now)
            self._emit(FulfillmentUpdated(used))
            return used

    def fulfillment(self, fulfillment_id: int) -> Fulfillment:
        with self._lock:
            self._begin_read()
            found = self._state.fulfillments.get(fulfillment_id)
            if found is None:
                raise FulfillmentNotFound(fulfillment_id)
            return found

    def fulfillment_by_code(self, code: str) -> Fulfillment:
        with self._lock:
            self._begin_read()
            fulfillment_id = self._state.by_code.get(code)
            if fulfillment_id is None:
                raise FulfillmentNotFound(code)
            return self._state.fulfillments[fulfillment_id]

    def fulfillments(self, member_id: int | None = None) -> list[Fulfillment]:
        with self._lock:
            self._begin_read()
            return [
                f
                for f in self._state.fulfillments.values()
                if member_id is None or f.member_id == member_id
            ]

    # ================================================================== orders

    def record_order(
        self,
        external_id: str,
        *,
        member_id: int | None,
        amount: Decimal | int,
        status: OrderStatus,
        updated_at: datetime,
        created_at: datetime | None = None,
        coupons: Sequence[str] = (),
        subtotal: Decimal | int | None = None,
        grand_total: Decimal | int | None = None,
    ) -> Order:
        """Apply the latest state of an order from the shop.

        Semantics: an update whose `updated_at` is older than the last one seen is ignored;
        the same update twice changes nothing. A negative `amount` counts as 0. The first
        paid update of a member's order earns through the active rules whose trigger is
        "order"; a paid order whose amount later drops is a partial return of the
        difference, one whose amount grows earns on the difference. Refunded, deleted or
        unpaid-again orders claw back everything they still hold. A guest order (no
        member) earns nothing. Coupons mark matching reward codes used (an expired code
        stays unused, as `use_fulfillment` would refuse it) and may complete a referral (the
        member's first paid order). A refunded or deleted order is final.
        """
        with self._lock:
            now = self._begin()
            v.text(external_id, "external_id", required=True)
            status = _enum(OrderStatus, status, "status")
            money = max(v.money(amount, "amount", allow_negative=True), Decimal(0))
            updated = v.moment(updated_at, "updated_at")
            created = v.optional_moment(created_at, "created_at") or updated
            sub = (
                v.money(subtotal, "subtotal", allow_negative=True) if subtotal is not None else None
            )
            grand = (
                v.money(grand_total, "grand_total", allow_negative=True)
                if grand_total is not None
                else None
            )
            if isinstance(coupons, str):
                raise InvalidArgument("coupons", "coupons must be a list of codes")
            codes = tuple(v.text(c, "coupons", required=True) for c in coupons)
            if member_id is not None:
                self._account(member_id)
            previous = self._state.orders.get(external_id)
            if previous is not None:
                if updated < previous.updated_at:
                    return previous
                if previous.status in (OrderStatus.REFUNDED, OrderStatus.DELETED):
                    return previous
                if previous.member_id != member_id and (previous.awarded or previous.txn_ids):
                    raise InvalidArgument(
                        "member_id",
                        f"order {external_id!r} already earned for member {previous.member_id}",
                    )
            base = previous or Order(
                external_id, member_id, money, OrderStatus.UNPAID, created, updated, now
            )
            order = attrs.evolve(
                base,
                member_id=member_id,
                amount=money,
                status=status,
                updated_at=updated,
                recorded_at=now,
                coupons=codes,
                subtotal=sub,
                grand_total=grand,
            )
            was_paid = previous is not None and previous.status is OrderStatus.PAID
            increase = Decimal(0)
            if was_paid and status is OrderStatus.PAID:
                assert previous is not None
                held = previous.remaining_amount
                if money < held:  # the shop lowered the order: a return of the difference
                    order = attrs.evolve(
                        order,
                        amount=previous.amount,
                        returned_amount=previous.returned_amount + held - money,
                    )
                else:
                    increase = money - held
                    order = attrs.evolve(order, amount=previous.amount + increase)
            if status is OrderStatus.PAID and order.paid_at is None:
                order = attrs.evolve(order, paid_at=now)
            if previous is not None and attrs.evolve(order, recorded_at=previous.recorded_at) == (
                previous
            ):
                return previous
            self._emit(OrderRecorded(order))
            if was_paid and status is OrderStatus.PAID:
                assert previous is not None
                if order.returned_amount > previous.returned_amount:
                    self._claw_to_target(order, now)
                elif increase and order.member_id is not None:
                    self._earn_for_order(order, increase, now, first=False)
            elif status is OrderStatus.PAID and order.member_id is not None:
                self._earn_for_order(order, order.amount, now, first=True)
                self._use_coupons(order, now)
                self._complete_referral(order, now)
            elif was_paid:
                self._revoke(external_id, now)
            return self._state.orders[external_id]

    def _earn_for_order(self, order: Order, amount: Decimal, now: datetime, first: bool) -> None:
        """Award the order rules; a later increase only feeds the per-amount rules."""
        assert order.member_id is not None
        account = self._state.accounts[order.member_id]
        for rule in list(self._state.rules.values()):
            if rule.trigger != ORDER_TRIGGER or not rule.active:
                continue
            if not first and rule.kind is RuleKind.FIXED:
                continue
            try:
                self._check_cap(account, rule, now)
            except CapReached:
                continue
            value = points_for(rule, amount, None, self._state.tier_multiplier(account))
            if value > 0:
                self._post_award(
                    account, rule, value, now, order.external_id, f"order {order.external_id}", None
                )

    def _use_coupons(self, order: Order, now: datetime) -> None:
        for code in order.coupons:
            fulfillment_id = self._state.by_code.get(code)
            if fulfillment_id is None:
                continue
            fulfillment = self._state.fulfillments[fulfillment_id]
            expired = fulfillment.expires_at is not None and fulfillment.expires_at <= now
            if fulfillment.usage is not UsageStatus.USED and not expired:
                self._emit(
                    FulfillmentUpdated(
                        attrs.evolve(
                            fulfillment, usage=UsageStatus.USED, used_at=now, updated_at=now
                        )
                    )
                )

    def _revoke(self, external_id: str, now: datetime) -> None:
        """Reject the order's pending awards and claw back all it still holds."""
        for txn_id in self._state.orders[external_id].txn_ids:
            row = self._state.txns[txn_id - 1]
            if row[STATUS] == _ROW_PENDING:
                self._emit_resolution(row, False, now, "order revoked")
        order = self._state.orders[external_id]
        self._claw(order, order.outstanding, now)

    def _claw_to_target(self, order: Order, now: datetime) -> int:
        target = clawback_target(order.awarded, order.amount, order.returned_amount)
        points = max(0, target - order.clawed_back)
        self._claw(order, points, now)
        return points

    def _claw(self, order: Order, points: int, now: datetime) -> None:
        if points <= 0 or order.member_id is None:
            return
        account = self._state.accounts[order.member_id]
        reason = f"order {order.external_id} returned"
        if self.clawback is ClawbackPolicy.NEGATIVE_BALANCE:
            self._emit(
                Transaction(
                    self._next_txn(),
                    order.member_id,
                    TxnKind.CLAWBACK,
                    -points,
                    _POSTED,
                    now,
                    order_id=order.external_id,
                    description=reason,
                )
            )
            return
        taken = min(points, account.available)
        if taken:
            self._emit(
                Transaction(
                    self._next_txn(),
                    order.member_id,
                    TxnKind.CLAWBACK,
                    -taken,
                    _POSTED,
                    now,
                    order_id=order.external_id,
                    description=reason,
                )
            )
        if points > taken:
            self._emit(Shortfall(order.member_id, order.external_id, points - taken, now))

    def return_order(
        self,
        external_id: str,
        *,
        amount: Decimal | int | None = None,
        points: int | None = None,
    ) -> Order:
        """Return an order in full (no argument), in part by `amount` (clawback proportional
        to the points it earned) or by exactly `points`.

        OverReturn if the amount exceeds what is left of the order or the points exceed
        what it still holds. The clawback never exceeds what the order earned.
        """
        with self._lock:
            now = self._begin()
            v.text(external_id, "external_id", required=True)
            order = self._state.orders.get(external_id)
            if order is None:
                raise OrderNotFound(external_id)
            if amount is not None and points is not None:
                raise InvalidArgument("amount", "give either amount or points, not both")
            if order.status is not OrderStatus.PAID:
                raise OverReturn(f"order {external_id!r} is {order.status}; nothing to return")
            if amount is not None:
                money = v.money(amount, "amount")
                if money <= 0:
                    raise InvalidArgument("amount", "returned amount must be positive")
                if money > order.remaining_amount:
                    raise OverReturn(
                        f"returned amount {money} exceeds the {order.remaining_amount} left "
                        f"of order {external_id!r}"
                    )
                if order.amount <= 0:
                    raise InvalidArgument("amount", f"order {external_id!r} has no amount")
                updated = attrs.evolve(
                    order, returned_amount=order.returned_amount + money, recorded_at=now
                )
                if updated.returned_amount >= order.amount:
                    updated = attrs.evolve(updated, status=OrderStatus.REFUNDED)
                self._emit(OrderRecorded(updated))
                if updated.status is OrderStatus.REFUNDED:
                    self._revoke(external_id, now)
                else:
                    self._claw_to_target(updated, now)
            elif points is not None:
                v.points(points)
                if points > order.outstanding:
                    raise OverReturn(
                        f"{points} points is more than the {order.outstanding} order "
                        f"{external_id!r} still holds"
                    )
                self._claw(order, points, now)
            else:
                self._emit(
                    OrderRecorded(
                        attrs.evolve(
                            order,
                            status=OrderStatus.REFUNDED,
                            returned_amount=order.amount,
                            recorded_at=now,
                        )
                    )
                )
                self._revoke(external_id, now)
            return self._state.orders[external_id]

    def order(self, external_id: str) -> Order:
        with self._lock:
            self._begin_read()
            found = self._state.orders.get(external_id)
            if found is None:
                raise OrderNotFound(external_id)
            return found

    def orders(self, member_id: int | None = None) -> list[Order]:
        with self._lock:
            self._begin_read()
            return [
                o
                for o in self._state.orders.values()
                if member_id is None or o.member_id == member_id
            ]

    # ================================================================== referrals

    def refer(
        self,
        sender_id: int,
        *,
        receiver_id: int | None = None,
        receiver_email: str | None = None,
    ) -> Referral:
        """Record that `sender_id` referred a member (by id or email); rewards the receiver
        now and the sender when the receiver's first paid order uses the referral code."""
        with self._lock:
            now = self._begin()
            sender = self._account(sender_id)
            st = self._state
            if receiver_id is None and receiver_email is None:
                raise InvalidArgument("receiver_id", "give receiver_id or receiver_email")
            if receiver_id is None:
                v.text(receiver_email, "receiver_email", required=True)
                assert receiver_email is not None
                receiver_id = st.by_email.get(receiver_email.lower())
                if receiver_id is None:
                    raise MemberNotFound(receiver_email)
            receiver = self._account(receiver_id)
            profile = st.profiles[receiver_id]
            sender_email = (st.profiles[sender_id].email or "").lower()
            if receiver_id == sender_id or (
                sender_email and sender_email == (profile.email or "").lower()
            ):
                raise SelfReferral(f"member {sender_id} cannot refer themselves")
            if receiver_id in st.referral_by_receiver:
                raise InvalidArgument("receiver_id", f"member {receiver_id} was already referred")
            if any(
                o.member_id == receiver_id and o.status is OrderStatus.PAID
                for o in st.orders.values()
            ):
                raise InvalidArgument("receiver_id", f"member {receiver_id} already ordered")
            sender_code = st.profiles[sender_id].referral_code
            assert sender_code is not None
            referral = Referral(
                st.peek_id("referral"),
                sender.member_id,
                profile.email,
                receiver_id,
                sender_code,
                now,
            )
            self._emit(ReferralRecorded(referral))
            self._reward_side(
                receiver,
                st.referral_rewards.receiver_points,
                st.referral_rewards.receiver_offer_id,
                now,
                "referral receiver",
            )
            return referral

    def _reward_side(
        self, account: Account, points: int, offer_id: int | None, now: datetime, why: str
    ) -> None:
        if points:
            self._emit(
                Transaction(
                    self._next_txn(),
                    account.member_id,
                    TxnKind.EARN,
                    points,
                    _POSTED,
                    now,
                    description=why,
                )
            )
            if account.debt:
                self._settle(account.member_id, now)
        if offer_id is not None:
            offer = self._state.offers[offer_id]
            if self._can_issue(offer, now):  # an empty pool must not undo the referral
                self._issue(account, offer, 0, offer.value, now, why)

    def _complete_referral(self, order: Order, now: datetime) -> None:
        st = self._state
        assert order.member_id is not None
        referral_id = st.referral_by_receiver.get(order.member_id)
        if referral_id is None:
            return
        referral = st.referrals[referral_id]
        if referral.status is not ReferralStatus.PENDING:
            return
        receiver_codes = {
            f.code
            for f in st.fulfillments.values()
            if f.member_id == order.member_id and f.source == "referral receiver"
        }
        if not ({referral.code} | receiver_codes) & set(order.coupons):
            return
        paid_before = any(
            o.member_id == order.member_id
            and o.status is OrderStatus.PAID
            and o.external_id != order.external_id
            for o in st.orders.values()
        )
        if paid_before:
            return
        self._emit(
            ReferralRecorded(
                attrs.evolve(
                    referral,
                    status=ReferralStatus.COMPLETED,
                    completed_at=now,
                    order_id=order.external_id,
                )
            )
        )
        sender = st.accounts[referral.sender_id]
        if st.profiles[referral.sender_id].state is not MemberState.DISABLED:
            self._reward_side(
                sender,
                st.referral_rewards.sender_points,
                st.referral_rewards.sender_offer_id,
                now,
                "referral sender",
            )

    def referral(self, referral_id: int) -> Referral:
        with self._lock:
            self._begin_read()
            found = self._state.referrals.get(referral_id)
            if found is None:
                raise ReferralNotFound(referral_id)
            return found

    def referrals(self, member_id: int | None = None) -> list[Referral]:
        with self._lock:
            self._begin_read()
            return [
                r
                for r in self._state.referrals.values()
                if member_id is None or member_id in (r.sender_id, r.receiver_id)
            ]

    # ================================================================== batches

    def atomic(self) -> AbstractContextManager[None]:
        """Group several commands into one all-or-nothing unit.

        `with program.atomic(): ...` holds the program's lock for the block, and if the
        block raises, every event it emitted is undone (a customer created for an order
        that is then refused disappears with it). Time-driven events caught up on inside
        the block are undone too; the next command catches up on them again.
        """
        return self._lock

    # ================================================================== persistence

    def journal(self) -> list[object]:
        """A copy of the append-only journal (events are immutable, so sharing them is safe;
        transactions, stored as rows, are handed out as `Transaction`s)."""
        with self._lock:
            return [from_row(e) if type(e) is tuple else e for e in self._journal]

    def settings(self) -> dict[str, Any]:
        """The constructor settings the journal does not carry: pass them to `replay`."""
        return {
            "name": self.name,
            "clawback": self.clawback,
            "timezone": self.timezone,
            "started_at": self.started_at,
        }

    @classmethod
    def replay(
        cls, events: Iterable[object], clock: Clock | None = None, **settings: Any
    ) -> Program:
        """Build a program by applying `events` to an empty one (no validation: events are
        facts already decided)."""
        program = cls(clock, **settings)
        for event in events:
            program._emit(event)
        return program

    def snapshot(self) -> dict[str, Any]:
        """The whole program as JSON-safe data (settings and journal)."""
        from loyaltykit.serialization import snapshot

        with self._lock:
            return snapshot(self)

    @classmethod
    def restore(cls, document: Mapping[str, Any], clock: Clock | None = None) -> Program:
        """The inverse of `snapshot`."""
        from loyaltykit.serialization import restore

        return restore(document, clock)

    def state(self) -> dict[str, Any]:
        """The current derived state as JSON-safe data; equal for a program and its replay."""
        from loyaltykit.serialization import state_document

        with self._lock:
            return state_document(self._state)

    @property
    def raw_state(self) -> State:
        """The internal state, for audits and the testing kit (read-only by convention)."""
        return self._state


def _lookup(table: Mapping[int, T], ident: object) -> T | None:
    """Find by id; True and 1.0 compare equal to 1 but are not ids."""
    if isinstance(ident, bool) or not isinstance(ident, int):
        return None
    return table.get(ident)


def _is_id(value: object) -> bool:
    """Ids are ints; True and 1.0 compare equal to 1 but are not ids."""
    return isinstance(value, int) and not isinstance(value, bool)


def _mapping(value: object, field: str = "metadata") -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgument(field, f"{field} must be a mapping, got {value!r}")
    return dict(value)


def _tier_ids(value: object) -> tuple[int, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidArgument(
            "eligible_tiers", f"eligible_tiers must be a list of tier ids, got {value!r}"
        )
    ids = tuple(value)
    for tier_id in ids:
        if not _is_id(tier_id):
            raise InvalidArgument("eligible_tiers", f"tier id must be an integer, got {tier_id!r}")
    return ids


def _enum(kind: type[Any], value: object, field: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in kind)
        raise InvalidArgument(field, f"{field} must be one of {allowed}; got {value!r}") from None


def _evolve(obj: T, changes: Mapping[str, Any], what: str) -> T:
    fields = attrs.fields_dict(type(obj))  # type: ignore[arg-type]
    for name in changes:
        if name not in fields or name == "id":
            raise InvalidArgument(name, f"{what} has no changeable field {name!r}")
    return attrs.evolve(obj, **changes)  # type: ignore[misc]
