"""A hypothesis state machine over every core command, for our tests and yours.

Subclass `LoyaltyMachine`, override `configure` to build your own program's rules, offers,
pools and tiers (the machine reads them back from the program, so any configuration
works, even an empty one), set `clawback` or `timezone`, and add `@invariant()` methods
for your own guarantees. Every step already checks `audit()` (the business rules and
invariants of DESIGN.md sections 2-3, state drift, replay equality) and that a refused
command changed nothing; most steps also check what the command promised (a spend within
the spendable points succeeds and one beyond is refused, a redemption charges the price,
a delayed award waits its delay...). The targeted steps of `TargetedSteps` add short
scenarios at the edges: spend then refund, returns in parts, exact expiry and window
instants, floors, referrals.
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import (
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from loyaltykit.auditing import audit
from loyaltykit.ledger import TxnStatus
from loyaltykit.members import MemberState
from loyaltykit.orders import OrderStatus
from loyaltykit.program import ORDER_TRIGGER, Program
from loyaltykit.rewards import PriceKind, RewardOffer
from loyaltykit.rules import Approval, Cap, RuleKind, Window, window_end, window_start
from loyaltykit.testing._plumbing import CHOICE, START, TICK, MachinePlumbing, pick
from loyaltykit.testing.scans import check_pages
from loyaltykit.testing.targeted import TargetedSteps
from loyaltykit.tiers import Metric

__all__ = ["LoyaltyMachine", "default_configuration"]


def default_configuration(program: Program) -> None:
    """A program that exercises every feature: caps, approvals, expiry, pools (one that
    expires), tier-restricted offers, lifetime and period tracks, referrals."""
    program.add_rule(name="signup", points=100, cap=Cap(1, Window.LIFETIME))
    program.add_rule(
        name="review", points=25, cap=Cap(3, Window.DAY), points_lifetime=timedelta(days=30)
    )
    program.add_rule(
        name="purchase",
        kind=RuleKind.MULTIPLIER,
        multiplier=Decimal(1),
        trigger=ORDER_TRIGGER,
        points_lifetime=timedelta(days=90),
    )
    program.add_rule(name="photo", points=40, approval=Approval.MANUAL)
    program.add_rule(
        name="survey",
        points=60,
        approval=Approval.DELAYED,
        approval_delay=timedelta(days=7),
        points_lifetime=timedelta(days=20),
    )
    program.add_rule(name="checkin", points=15, cap=Cap(2, Window.WEEK))
    program.add_rule(
        name="first order bonus",
        points=20,
        trigger=ORDER_TRIGGER,
        approval=Approval.DELAYED,
        approval_delay=timedelta(days=3),
    )
    listed = program.add_pool(name="gift cards", codes=[f"GIFT-{n:03d}" for n in range(5)])
    generated = program.add_pool(name="5 off", prefix="5off")
    flash = program.add_pool(
        name="flash", codes=[f"FLASH-{n}" for n in range(3)], expires_at=START + timedelta(days=20)
    )
    program.add_offer(
        name="$5 off",
        points_price=100,
        value=Decimal(5),
        pool_id=generated.id,
        reward_lifetime=timedelta(days=60),
    )
    program.add_offer(name="gift card", points_price=150, value=Decimal(10), pool_id=listed.id)
    program.add_offer(
        name="variable",
        price_kind=PriceKind.VARIABLE,
        step=50,
        value_per_step=Decimal(1),
        min_points=50,
        max_points=500,
        pool_id=generated.id,
    )
    program.add_offer(name="flash sale", points_price=30, value=Decimal(2), pool_id=flash.id)
    lifetime = program.add_track(name="lifetime")
    program.add_tier(lifetime.id, name="silver", threshold=200, multiplier=Decimal("1.5"))
    gold = program.add_tier(lifetime.id, name="gold", threshold=600, multiplier=2)
    period = program.add_track(
        name="monthly spend", metric=Metric.AMOUNT_SPENT, window=Window.MONTH
    )
    program.add_tier(period.id, name="regular", threshold=100)
    weekly = program.add_track(name="weekly", window=Window.WEEK)
    program.add_tier(weekly.id, name="busy week", threshold=150, multiplier=Decimal("1.2"))
    program.add_offer(name="vip gift", points_price=50, value=Decimal(4), eligible_tiers=[gold.id])
    sender = program.add_offer(
        name="referral thanks", points_price=0, value=Decimal(3), pool_id=generated.id
    )
    program.set_referral_rewards(receiver_points=20, sender_points=50, sender_offer_id=sender.id)


class LoyaltyMachine(TargetedSteps):
    """Random and targeted sequences of commands, clock moves and expiry on one program."""

    members = MachinePlumbing.members
    pending = MachinePlumbing.pending
    orders = MachinePlumbing.orders
    codes = MachinePlumbing.codes

    check_replay_every: int = 5
    """Replay equality is checked every N steps and after the last one. Every step is
    audited in full either way: state that drifted from its journal is caught without a
    replay, which costs a rebuild of the whole program."""

    def __init__(self) -> None:
        super().__init__()
        self.steps = 0
        self.keys: dict[str, tuple[int, int, int]] = {}
        self.returned_by_points: set[str] = set()

    def configure(self, program: Program) -> None:
        """Override to audit your own program configuration."""
        default_configuration(program)

    def redemption_allowed(self, member: int, offer: RewardOffer, points: int | None) -> bool:
        """Whether `redeem` must succeed: an active member and offer, an eligible tier, a
        valid price within the spendable points, and a pool that can issue."""
        held = self.program.member(member)
        if held.state is MemberState.DISABLED or not offer.active:
            return False
        if offer.eligible_tiers and not set(offer.eligible_tiers) & set(held.tiers.values()):
            return False
        if offer.price_kind is PriceKind.FIXED:
            if points is not None and points != offer.points_price:
                return False
            price = offer.points_price
        else:
            if points is None or points <= 0 or points % offer.step:
                return False
            if offer.min_points is not None and points < offer.min_points:
                return False
            if offer.max_points is not None and points > offer.max_points:
                return False
            price = points
        if price > self.spendable(member):
            return False
        if offer.pool_id is not None:
            pool = self.program.pool(offer.pool_id)
            if pool.expires_at is not None and self.clock.now() >= pool.expires_at:
                return False
            if not pool.generated and not self.program.pool_remaining(pool.id):
                return False
        return True

    # -- members -----------------------------------------------------------------------

    @initialize(target=members)
    def first_members(self) -> Any:
        return multiple(*(self.program.add_member(email=f"m{n}@example.com").id for n in range(2)))

    @rule(target=members, n=st.integers(2, 10_000))
    def add_member(self, n: int) -> Any:
        member = self.attempt(self.program.add_member, email=f"m{n}@example.com")
        return member.id if member is not None else multiple()

    @rule(member=members, n=st.integers(0, 12), shout=st.booleans())
    def change_email(self, member: int, n: int, shout: bool) -> None:
        email = f"m{n}@example.com"
        updated = self.attempt(
            self.program.update_member, member, email=email.upper() if shout else email
        )
        if updated is not None:
            assert self.program.member_by_email(email).id == member

    @rule(member=members)
    def remove_member(self, member: int) -> None:
        if member > 2:  # the first two members stay, so a walk keeps someone to work with
            assert self.attempt(self.program.remove_member, member) is not None
            assert self.attempt(self.program.earn, member, 1) is None, "a removed member earned"

    # -- the ledger --------------------------------------------------------------------

    @rule(
        member=members,
        points=st.sampled_from([0, 1]) | st.integers(-5, 400),
        days=st.sampled_from([None, None, 1, 10, 30]),
    )
    def earn(self, member: int, points: int, days: int | None) -> None:
        lifetime = timedelta(days=days) if days else None
        active = self.active(member)
        txn = self.attempt(self.program.earn, member, points, lifetime=lifetime)
        assert (txn is not None) == (points > 0 and active), (points, active, txn)
        if txn is not None:
            assert txn.points == points
            assert txn.expires_at == (txn.created_at + lifetime if lifetime else None)

    @rule(member=members, points=st.integers(-5, 600))
    def spend(self, member: int, points: int) -> None:
        can = self.spendable(member)
        active = self.active(member)
        txn = self.attempt(self.program.spend, member, points)
        assert (txn is not None) == (active and 0 < points <= can), (points, can, txn)
        if txn is not None:
            assert self.spendable(member) == can - points

    @rule(member=members, change=st.integers(-300, 300))
    def adjust(self, member: int, change: int) -> None:
        can = self.spendable(member)
        active = self.active(member)
        txn = self.attempt(self.program.adjust, member, change)
        allowed = active and change != 0 and (change > 0 or -change <= can)
        assert (txn is not None) == allowed, (change, can, txn)

    @rule(
        target=pending,
        member=members,
        choice=CHOICE,
        override=st.none() | st.integers(1, 80),
        amount=st.decimals(0, 500, places=2),
    )
    def award(self, member: int, choice: int, override: int | None, amount: Decimal) -> Any:
        found = pick(self.program.rules(), choice)
        if found is None:
            return multiple()
        if found.kind is RuleKind.MULTIPLIER:
            txn = self.attempt(self.program.award, member, found.id, amount=amount)
        else:
            txn = self.attempt(self.program.award, member, found.id, points=override)
        if txn is None:
            return multiple()
        assert txn.rule_id == found.id
        if found.approval is Approval.IMMEDIATE:
            assert txn.status is TxnStatus.POSTED
        elif found.approval is Approval.MANUAL:
            assert txn.status is TxnStatus.PENDING and txn.auto_approve_at is None
        else:
            delay = found.approval_delay or timedelta(days=30)
            assert txn.auto_approve_at == txn.created_at + delay
        return txn.id if txn.status is TxnStatus.PENDING else multiple()

    @rule(txn=consumes(pending), approve=st.booleans())
    def resolve(self, txn: int, approve: bool) -> None:
        self.attempt(self.program.approve if approve else self.program.reject, txn, by="machine")

    @rule(txn=pending)
    def resolve_again(self, txn: int) -> None:
        self.attempt(self.program.approve, txn)

    @rule()
    def approve_when_due(self) -> None:
        waiting = [
            t
            for t in self.program.transactions()
            if t.status is TxnStatus.PENDING and t.auto_approve_at is not None
        ]
        if not waiting:
            return
        due = min(t.auto_approve_at for t in waiting if t.auto_approve_at is not None)
        if due <= self.clock.now() or not self.move_clock_to(due):
            return
        self.program.expire_due()
        for txn in waiting:
            if txn.auto_approve_at is not None and txn.auto_approve_at <= due:
                after = self.program.transaction(txn.id)
                assert after.status is not TxnStatus.PENDING, f"award {txn.id} not approved"

    # -- rewards -----------------------------------------------------------------------

    @rule(target=codes, member=members, choice=CHOICE, variant=st.integers(0, 6))
    def redeem(self, member: int, choice: int, variant: int) -> Any:
        offer = pick(self.program.offers(), choice)
        if offer is None:
            return multiple()
        points: int | None
        if offer.price_kind is PriceKind.FIXED:
            points = [None, None, None, offer.points_price, offer.points_price + 1][variant % 5]
        else:
            low = offer.min_points or offer.step
            high = offer.max_points or low + 10 * offer.step
            options = [
                None,
                low,
                high,
                high + offer.step,
                low + 1,
                3 * offer.step,
                low - offer.step,
            ]
            points = options[variant]
        can = self.spendable(member)
        allowed = self.redemption_allowed(member, offer, points)
        found = self.attempt(self.program.redeem, member, offer.id, points=points)
        assert (found is not None) == allowed, (offer, points, can, found)
        if found is None:
            return multiple()
        assert found.points == (offer.points_price if points is None else points)
        assert self.spendable(member) == can - found.points
        return found.code if found.code else multiple()

    @rule(member=members, choice=CHOICE)
    def empty_a_pool(self, member: int, choice: int) -> None:
        listed = {p.id for p in self.program.pools() if not p.generated}
        offers = [
            o
            for o in self.program.offers()
            if o.pool_id in listed
            and o.active
            and not o.eligible_tiers
            and o.price_kind is PriceKind.FIXED
        ]
        offer = pick(offers, choice)
        if offer is None or offer.pool_id is None or not self.active(member):
            return
        left = self.program.pool_remaining(offer.pool_id) or 0
        if left > 10:
            return
        if offer.points_price * (left + 1):
            self.attempt(self.program.adjust, member, offer.points_price * (left + 1))
        for _ in range(left):
            self.attempt(self.program.redeem, member, offer.id)
        can = self.spendable(member)
        assert self.attempt(self.program.redeem, member, offer.id) is None, "an empty pool issued"
        assert self.spendable(member) == can, "a refused redemption took points"

    @rule(choice=CHOICE, count=st.integers(1, 3))
    def upload_codes(self, choice: int, count: int) -> None:
        pool = pick([p for p in self.program.pools() if not p.generated], choice)
        if pool is not None:
            codes = [f"UP-{self.next_serial()}" for _ in range(count)]
            self.attempt(self.program.add_codes, pool.id, codes)

    @rule(member=members, choice=CHOICE)
    def grant(self, member: int, choice: int) -> None:
        offer = pick(self.program.offers(), choice)
        if offer is not None:
            can = self.spendable(member)
            found = self.attempt(self.program.grant, member, offer.id)
            if found is not None:
                assert found.points == 0 and self.spendable(member) == can

    @rule(code=codes)
    def use_code(self, code: str) -> None:
        self.attempt(self.program.use_code, code)

    # -- orders ------------------------------------------------------------------------

    @rule(
        target=orders,
        member=st.none() | members,
        amount=st.decimals(-10, 900, places=2),
        coupon=st.none() | codes,
        referrer=st.none() | members,
    )
    def paid_order(
        self, member: int | None, amount: Decimal, coupon: str | None, referrer: int | None
    ) -> Any:
        external_id = f"order-{self.next_serial()}"
        coupons = [coupon] if coupon else []
        if referrer is not None:
            code = self.program.member(referrer).profile.referral_code
            coupons += [code] if code else []
        self.attempt(
            self.program.record_order,
            external_id,
            member_id=member,
            amount=amount,
            status=OrderStatus.PAID,
            updated_at=self.clock.now(),
            coupons=coupons,
        )
        return external_id

    @rule(order=orders, factor=st.sampled_from(["0", "0.5", "0.9", "1.1", "2"]))
    def change_order_amount(self, order: str, factor: str) -> None:
        found = self.attempt(self.program.order, order)
        if found is None or found.status is not OrderStatus.PAID:
            return
        amount = (found.remaining_amount * Decimal(factor)).quantize(Decimal("0.01"))
        changed = self.attempt(
            self.program.record_order,
            order,
            member_id=found.member_id,
            amount=amount,
            status=OrderStatus.PAID,
            updated_at=max(self.clock.now(), found.updated_at),
        )
        if changed is None or changed.status is not OrderStatus.PAID:
            return
        assert changed.remaining_amount == amount, (changed.remaining_amount, amount)
        if amount < found.remaining_amount and order not in self.returned_by_points:
            self.check_proportional(found.clawed_back, changed)

    @rule(order=orders, fraction=st.sampled_from(["0.1", "0.25", "0.5", "1"]))
    def partial_return(self, order: str, fraction: str) -> None:
        found = self.attempt(self.program.order, order)
        if found is None or found.status is not OrderStatus.PAID:
            return
        amount = (found.amount * Decimal(fraction)).quantize(Decimal("0.01"))
        returned = self.attempt(self.program.return_order, order, amount=amount)
        assert (returned is not None) == (0 < amount <= found.remaining_amount)
        if returned is not None and returned.status is OrderStatus.PAID:
            if order not in self.returned_by_points:
                self.check_proportional(found.clawed_back, returned)
        elif returned is not None:
            self.check_settled(returned)

    @rule(order=orders, points=st.integers(1, 200))
    def return_points(self, order: str, points: int) -> None:
        found = self.attempt(self.program.order, order)
        if found is None or found.status is not OrderStatus.PAID:
            return
        returned = self.attempt(self.program.return_order, order, points=points)
        assert (returned is not None) == (points <= found.outstanding), (points, found)
        if returned is not None:
            self.returned_by_points.add(order)
            assert returned.clawed_back == found.clawed_back + points

    @rule(order=orders)
    def refund(self, order: str) -> None:
        found = self.attempt(self.program.order, order)
        if found is None:
            return
        refunded = self.attempt(
            self.program.record_order,
            order,
            member_id=found.member_id,
            amount=found.amount,
            status=OrderStatus.REFUNDED,
            updated_at=max(self.clock.now(), found.updated_at),
        )
        if refunded is not None and refunded.status is OrderStatus.REFUNDED:
            self.check_settled(refunded)

    # -- tiers -------------------------------------------------------------------------

    @rule(member=members, choice=CHOICE)
    def cross_a_tier(self, member: int, choice: int) -> None:
        track = pick(self.program.tracks(), choice)
        if track is None or not self.active(member):
            return
        if track.window is not Window.LIFETIME and self.rewound():
            return
        progress = self.program.tier_progress(member, track.id)
        if progress.next_tier_id is None or progress.to_next_tier is None:
            return
        target = self.program.tier(progress.next_tier_id)
        if track.metric is Metric.POINTS_EARNED:
            points = math.ceil(progress.to_next_tier)
            if not 0 < points <= 5_000:
                return
            done = self.attempt(self.program.earn, member, points)
        else:
            amount = progress.to_next_tier.quantize(Decimal("0.01"), rounding="ROUND_CEILING")
            if not 0 < amount <= 5_000:
                return
            done = self.attempt(
                self.program.record_order,
                f"order-{self.next_serial()}",
                member_id=member,
                amount=amount,
                status=OrderStatus.PAID,
                updated_at=self.clock.now(),
            )
        if done is None:
            return
        held = self.program.member(member).tiers.get(track.id)
        assert held is not None, f"track {track.id}: {progress.to_next_tier} more did not reach"
        assert self.program.tier(held).threshold >= target.threshold, (held, target)

    @rule(member=members, choice=CHOICE, tier_choice=CHOICE, lift=st.booleans())
    def set_tier(self, member: int, choice: int, tier_choice: int, lift: bool) -> None:
        track = pick(self.program.tracks(), choice)
        if track is None:
            return
        tier = pick(self.program.tiers(track.id), tier_choice)
        self.attempt(
            self.program.set_tier, member, track.id, None if lift or tier is None else tier.id
        )

    @rule(member=members, choice=CHOICE, early=st.booleans())
    def advance_to_period_end(self, member: int, choice: int, early: bool) -> None:
        periods = [t for t in self.program.tracks() if t.window is not Window.LIFETIME]
        track = pick(periods, choice)
        if track is None:
            return
        end = self.program.tier_progress(member, track.id).period_end
        # an award approved at the very instant the period ends counts in the next one
        approving = any(
            t.status is TxnStatus.PENDING
            and t.auto_approve_at is not None
            and end is not None
            and t.auto_approve_at <= end
            for t in self.program.transactions(member)
        )
        settled = end is not None and self.high_water < end and not approving
        if end is None or not self.move_clock_to(end - (TICK if early else timedelta(0))):
            return
        progress = self.program.tier_progress(member, track.id)
        if settled and not early:
            assert progress.period_start == end, (progress, end)
            assert progress.value == 0, f"track {track.id} did not start again at {end}"

    @rule(
        name=st.integers(0, 99),
        threshold=st.sampled_from([50, 300]),
        factor=st.sampled_from(["1.1", "3"]),
    )
    def add_lifetime_track(self, name: int, threshold: int, factor: str) -> None:
        if len(self.program.tracks()) >= 5:
            return
        track = self.attempt(self.program.add_track, name=f"added {name}")
        if track is not None:
            self.attempt(
                self.program.add_tier,
                track.id,
                name=f"level {name}",
                threshold=threshold,
                multiplier=Decimal(factor),
            )

    @rule(choice=CHOICE, threshold=st.sampled_from([0, 10, 100, 250, 700]))
    def move_threshold(self, choice: int, threshold: int) -> None:
        tier = pick(self.program.tiers(), choice)
        if tier is not None:
            self.attempt(self.program.update_tier, tier.id, threshold=threshold)

    # -- configuration under way -------------------------------------------------------

    @rule(choice=CHOICE)
    def toggle_rule(self, choice: int) -> None:
        found = pick(self.program.rules(), choice)
        if found is None:
            return
        self.attempt(self.program.update_rule, found.id, active=not found.active)
        if found.active:
            kwargs = {"amount": Decimal(10)} if found.kind is RuleKind.MULTIPLIER else {}
            refused = self.attempt(self.program.award, 1, found.id, **kwargs)
            assert refused is None, f"inactive rule {found.id} awarded"

    @rule(choice=CHOICE, factor=st.sampled_from(["0.5", "1", "2", "3.25"]))
    def change_multiplier(self, choice: int, factor: str) -> None:
        found = pick([r for r in self.program.rules() if r.kind is RuleKind.MULTIPLIER], choice)
        if found is not None:
            self.attempt(self.program.update_rule, found.id, multiplier=Decimal(factor))

    @rule(choice=CHOICE)
    def toggle_offer(self, choice: int) -> None:
        offer = pick(self.program.offers(), choice)
        if offer is None:
            return
        self.attempt(self.program.update_offer, offer.id, active=not offer.active)
        if offer.active and offer.price_kind is PriceKind.FIXED:
            self.fund(1, offer.points_price)
            refused = self.attempt(self.program.redeem, 1, offer.id)
            assert refused is None, f"inactive offer {offer.id} redeemed"

    # -- referrals and idempotency -----------------------------------------------------

    @rule(sender=members, receiver=members)
    def refer(self, sender: int, receiver: int) -> None:
        referral = self.attempt(self.program.refer, sender, receiver_id=receiver)
        if sender == receiver:
            assert referral is None, "a member referred themselves"

    @rule(member=members, key=st.sampled_from(["k1", "k2", "k3"]), points=st.integers(1, 50))
    def idempotent_earn(self, member: int, key: str, points: int) -> None:
        first = self.attempt(self.program.earn, member, points, idempotency_key=key)
        again = self.attempt(self.program.earn, member, points, idempotency_key=key)
        assert (first is None) == (again is None)
        known = self.keys.get(key)
        if known is None:
            if first is not None:
                self.keys[key] = (member, points, first.id)
                assert again is not None and again.id == first.id
        elif known[:2] == (member, points):
            assert first is not None and first.id == known[2]
        else:
            assert first is None, f"key {key!r} reused for another payload"

    # -- time --------------------------------------------------------------------------

    @rule(hours=st.integers(1, 24 * 45))
    def advance_clock(self, hours: int) -> None:
        self.move_clock_to(self.clock.now() + timedelta(hours=hours))

    @rule(hours=st.integers(1, 24 * 40))
    def clock_back(self, hours: int) -> None:
        """Set the clock back (a seeder writing history): later records are dated before
        earlier ones, which the indexes must still page in order, and a change dated in an
        earlier period must not count in the current one."""
        self.move_clock_to(self.clock.now() - timedelta(hours=hours))

    @rule(member=members, name=st.sampled_from(["Ann", "Bo", "Cy"]))
    def rename(self, member: int, name: str) -> None:
        self.attempt(self.program.update_member, member, first_name=name)

    @rule(data=st.data())
    def paged_reads_agree(self, data: st.DataObject) -> None:
        """A page and a count from the indexes equal the same read done by a scan."""
        check_pages(self.program, data)

    @rule(early=st.booleans())
    def advance_to_next_expiry(self, early: bool) -> None:
        soonest = [
            schedule[0][0]
            for m in self.program.members()
            if (schedule := self.program.expiry_schedule(m.id))
        ]
        if not soonest:
            return
        instant = min(soonest)
        if not self.move_clock_to(instant - (TICK if early else timedelta(0))):
            return
        now = self.clock.now()
        for member in self.program.members():
            for lot in self.program.lots(member.id):
                assert lot.expires_at is None or lot.expires_at > now, f"{lot} live at {now}"

    @rule(kind=st.sampled_from([Window.DAY, Window.WEEK, Window.MONTH]), early=st.booleans())
    def advance_to_window_edge(self, kind: Window, early: bool) -> None:
        start = window_start(kind, self.clock.now(), self.program.timezone)
        assert start is not None
        end = window_end(kind, start)
        if end is not None:
            self.move_clock_to(end - (TICK if early else timedelta(0)))

    @rule()
    def expire_due(self) -> None:
        self.program.expire_due()
        assert self.program.expire_due() == [], "expire_due is not idempotent"

    @precondition(lambda self: len(self.program.journal()) > 0)
    @rule()
    def snapshot_roundtrip(self) -> None:
        restored = Program.restore(self.program.snapshot(), self.clock)
        assert restored.state() == self.program.state()

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def audit_is_clean(self) -> None:
        self.steps += 1
        replay = self.steps % self.check_replay_every == 0
        violations = audit(self.program, replay=replay)
        assert violations == [], violations

    def teardown(self) -> None:
        violations = audit(self.program)
        assert violations == [], violations
        super().teardown()
