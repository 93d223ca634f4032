"""Targeted steps of the testing machine: short scenarios aimed at the edges where the
audit's rules live, each setting up what it needs and checking what the commands promised.

A random walk rarely lines up "spend everything, then refund the order" or "the clock at
the very instant a code expires" within a few dozen steps; these steps do it in one.
Every scenario reads the program's own configuration (rules, offers, pools, tracks) and
skips quietly when the program has nothing it applies to.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import rule

from loyaltykit.ledger import TxnStatus
from loyaltykit.orders import ClawbackPolicy, Order, OrderStatus
from loyaltykit.referrals import ReferralStatus
from loyaltykit.rewards import PriceKind, RewardOffer, UsageStatus
from loyaltykit.rules import Approval, RuleKind, Window
from loyaltykit.testing._plumbing import CHOICE, TICK, MachinePlumbing, pick, share
from loyaltykit.tiers import Metric

__all__ = ["TargetedSteps"]

MONEY = st.decimals(10, 500, places=2)


class TargetedSteps(MachinePlumbing):
    """Scenarios: orders through their life, clawback against spent points, exact
    instants (expiry, approval, window and period ends), floors, referrals."""

    # -- helpers -------------------------------------------------------------------------

    def paid_order_for(self, member: int, amount: Decimal, coupons: tuple[str, ...] = ()) -> Any:
        return self.attempt(
            self.program.record_order,
            f"order-{self.next_serial()}",
            member_id=member,
            amount=amount,
            status=OrderStatus.PAID,
            updated_at=self.clock.now(),
            coupons=coupons,
        )

    def check_proportional(self, clawed_before: int, order: Order) -> None:
        """A return claws back its share of what the order earned, never twice."""
        target = share(order.awarded, order.returned_amount, order.amount)
        assert order.clawed_back == max(clawed_before, target), (order, target)

    def check_settled(self, order: Order) -> None:
        """A refunded order holds nothing: all it earned is clawed back, nothing pends."""
        assert order.clawed_back == order.awarded, order
        for txn_id in order.txn_ids:
            assert self.program.transaction(txn_id).status is not TxnStatus.PENDING

    def simple_offers(self) -> list[RewardOffer]:
        """Active fixed-price offers open to every tier."""
        return [
            o
            for o in self.program.offers()
            if o.active and not o.eligible_tiers and o.price_kind is PriceKind.FIXED
        ]

    # -- orders ----------------------------------------------------------------------

    @rule(
        member=MachinePlumbing.members,
        amount=MONEY,
        bump=st.sampled_from(["0", "0.5", "1"]),
        first=st.sampled_from(["0.1", "0.3", "0.5"]),
        lower=st.sampled_from(["0.5", "0.8", "1"]),
    )
    def order_lifecycle(
        self, member: int, amount: Decimal, bump: str, first: str, lower: str
    ) -> None:
        """Pay, raise, return a part, try to return too much, lower, refund."""
        if not self.active(member):
            return
        paid = self.paid_order_for(member, amount)
        if paid is None:
            return
        oid = paid.external_id
        if bump != "0":
            wanted = paid.remaining_amount + (amount * Decimal(bump)).quantize(Decimal("0.01"))
            raised = self.attempt(
                self.program.record_order,
                oid,
                member_id=member,
                amount=wanted,
                status=OrderStatus.PAID,
                updated_at=self.clock.now(),
            )
            assert raised is not None and raised.remaining_amount == wanted, (raised, wanted)
        order = self.program.order(oid)
        part = (order.amount * Decimal(first)).quantize(Decimal("0.01"))
        returned = self.attempt(self.program.return_order, oid, amount=part)
        assert returned is not None
        self.check_proportional(order.clawed_back, returned)
        too_much = returned.remaining_amount + Decimal("0.01")
        assert self.attempt(self.program.return_order, oid, amount=too_much) is None
        assert self.attempt(self.program.return_order, oid, points=returned.outstanding + 1) is None
        wanted = (returned.remaining_amount * Decimal(lower)).quantize(Decimal("0.01"))
        lowered = self.attempt(
            self.program.record_order,
            oid,
            member_id=member,
            amount=wanted,
            status=OrderStatus.PAID,
            updated_at=self.clock.now(),
        )
        assert lowered is not None and lowered.remaining_amount == wanted, (lowered, wanted)
        self.check_proportional(returned.clawed_back, lowered)
        refunded = self.attempt(self.program.return_order, oid)
        assert refunded is not None and refunded.status is OrderStatus.REFUNDED
        self.check_settled(refunded)

    @rule(member=MachinePlumbing.members, amount=MONEY, later=st.integers(1, 400))
    def spend_then_refund(self, member: int, amount: Decimal, later: int) -> None:
        """The points an order earned are spent, then it is refunded: the clawback policy
        decides, and later credits pay back what is owed."""
        if not self.active(member):
            return
        paid = self.paid_order_for(member, amount)
        if paid is None:
            return
        can = self.spendable(member)
        if can > 0:
            assert self.attempt(self.program.spend, member, can) is not None
        before = self.program.member(member)
        outstanding = self.program.order(paid.external_id).outstanding
        refunded = self.attempt(self.program.return_order, paid.external_id)
        assert refunded is not None
        self.check_settled(refunded)
        after = self.program.member(member)
        policy = self.program.clawback
        if policy is ClawbackPolicy.NEGATIVE_BALANCE:
            assert after.balance == before.balance - outstanding, (before, after, outstanding)
        elif policy is ClawbackPolicy.PENDING_DEDUCTION:
            assert (after.balance, after.debt) == (0, before.debt + outstanding), (before, after)
        else:
            assert after.written_off == before.written_off + outstanding, (before, after)
            assert after.balance == 0 and after.debt == 0, after
        owed = after.debt
        assert self.attempt(self.program.earn, member, later) is not None
        repaid = self.program.member(member)
        settled = min(owed, later)
        assert repaid.debt == owed - settled, (after, repaid, later)
        if policy is ClawbackPolicy.NEGATIVE_BALANCE:
            assert repaid.balance == after.balance + later, (after, repaid, later)
        else:
            assert repaid.balance == later - settled, (after, repaid, later)

    @rule(member=MachinePlumbing.members, choice=CHOICE, amount=MONEY)
    def refund_in_the_next_period(self, member: int, choice: int, amount: Decimal) -> None:
        """An order paid in one period and refunded in the next leaves the new period's
        amount spent alone."""
        periods = [
            t
            for t in self.program.tracks()
            if t.metric is Metric.AMOUNT_SPENT and t.window is not Window.LIFETIME
        ]
        track = pick(periods, choice)
        if track is None or not self.active(member) or self.rewound():
            return
        paid = self.paid_order_for(member, amount)
        if paid is None:
            return
        end = self.program.tier_progress(member, track.id).period_end
        if end is None or not self.move_clock_to(end + timedelta(hours=1)):
            return
        before = self.program.tier_progress(member, track.id).value
        assert self.attempt(self.program.return_order, paid.external_id) is not None
        after = self.program.tier_progress(member, track.id).value
        assert after == before, f"a refund from the last period moved this one: {before}->{after}"

    # -- the ledger at its edges -------------------------------------------------------

    @rule(member=MachinePlumbing.members, points=st.integers(1, 300), days=st.sampled_from([0, 5]))
    def spend_a_lot_exactly(self, member: int, points: int, days: int) -> None:
        """Lots are consumed soonest expiry first, then oldest, never-expiring last; a
        spend that empties the first lot exactly leaves no empty lot behind."""
        lifetime = timedelta(days=days) if days else None
        if self.attempt(self.program.earn, member, points, lifetime=lifetime) is None:
            return
        self.attempt(self.program.earn, member, points, lifetime=timedelta(days=days + 1))
        self.attempt(self.program.earn, member, points, lifetime=timedelta(days=1))
        lots = self.program.lots(member)
        order = [(lot.expires_at is None, lot.expires_at, lot.txn_id) for lot in lots]
        assert order == sorted(order), f"lots out of consumption order: {lots}"
        if not lots:
            return
        first = lots[0]
        assert self.attempt(self.program.spend, member, first.remaining) is not None
        assert first.txn_id not in [lot.txn_id for lot in self.program.lots(member)]

    @rule(member=MachinePlumbing.members, choice=CHOICE, extra=st.integers(1, 50))
    def spend_what_is_pending(self, member: int, choice: int, extra: int) -> None:
        """Pending points are not spendable, by spend, adjustment or redemption."""
        waiting = [
            r
            for r in self.program.rules()
            if r.active and r.approval is not Approval.IMMEDIATE and r.kind is RuleKind.FIXED
        ]
        found = pick(waiting, choice)
        if found is None or not self.active(member):
            return
        if self.attempt(self.program.award, member, found.id) is None:
            return
        can = self.spendable(member)
        pending = self.program.member(member).pending
        over = can + min(extra, pending)
        assert self.attempt(self.program.spend, member, over) is None, "pending points spent"
        assert self.attempt(self.program.adjust, member, -over) is None, "pending points taken"

    @rule(member=MachinePlumbing.members, choice=CHOICE)
    def cap_at_the_window_edge(self, member: int, choice: int) -> None:
        """Award a capped rule until refused, then again just before its window turns
        (refused) and as it turns (awarded)."""
        capped = [
            r
            for r in self.program.rules()
            if r.active and r.cap is not None and r.cap.window is not Window.LIFETIME
        ]
        found = pick(capped, choice)
        if found is None or found.cap is None or found.cap.max_awards > 10:
            return
        if not self.active(member) or self.rewound():
            return
        kwargs: dict[str, Any] = (
            {"amount": Decimal(10)} if found.kind is RuleKind.MULTIPLIER else {}
        )
        for _ in range(found.cap.max_awards + 1):
            if self.attempt(self.program.award, member, found.id, **kwargs) is None:
                break
        else:
            raise AssertionError(f"rule {found.id} awarded past its cap {found.cap}")
        edge = self.next_window(found.cap.window, self.clock.now())
        if self.move_clock_to(edge - TICK):
            again = self.attempt(self.program.award, member, found.id, **kwargs)
            assert again is None, f"{found.cap}: awarded at {self.clock.now()}, before {edge}"
        if self.move_clock_to(edge):
            again = self.attempt(self.program.award, member, found.id, **kwargs)
            assert again is not None, f"{found.cap}: refused at {edge}, a new window"

    # -- rewards at their edges --------------------------------------------------------

    @rule(member=MachinePlumbing.members, choice=CHOICE)
    def codes_at_their_expiry(self, member: int, choice: int) -> None:
        """Three reward codes of one expiry: the first works just before that instant; at
        it, `use_code` refuses the second and an order carrying the third leaves it
        unused."""
        offers = [o for o in self.simple_offers() if o.pool_id is not None]
        offer = pick(offers, choice)
        if offer is None or not self.active(member):
            return
        self.fund(member, 3 * offer.points_price)
        rewards = [self.attempt(self.program.redeem, member, offer.id) for _ in range(3)]
        if any(r is None or r.code is None or r.expires_at is None for r in rewards):
            return
        expires_at = rewards[0].expires_at
        if not self.move_clock_to(expires_at - TICK):
            return
        assert self.attempt(self.program.use_code, rewards[0].code) is not None
        if not self.move_clock_to(expires_at):
            return
        assert self.attempt(self.program.use_code, rewards[1].code) is None, "used at expiry"
        if self.paid_order_for(member, Decimal(20), (rewards[2].code,)) is not None:
            usage = self.program.fulfillment(rewards[2].id).usage
            assert usage is not UsageStatus.USED, "an order used a code at its expiry"

    @rule(member=MachinePlumbing.members, choice=CHOICE, early=st.booleans())
    def pool_at_its_expiry(self, member: int, choice: int, early: bool) -> None:
        """A pool issues until just before its expiry instant, and not at that instant."""
        now = self.clock.now()
        expiring = {
            p.id: p for p in self.program.pools() if p.expires_at is not None and p.expires_at > now
        }
        offers = [o for o in self.simple_offers() if o.pool_id in expiring]
        offer = pick(offers, choice)
        if offer is None or offer.pool_id is None or not self.active(member):
            return
        pool = expiring[offer.pool_id]
        assert pool.expires_at is not None
        if pool.codes and not self.program.pool_remaining(pool.id):
            self.attempt(self.program.add_codes, pool.id, [f"LATE-{self.next_serial()}"])
        if not self.move_clock_to(pool.expires_at - (TICK if early else timedelta(0))):
            return
        self.fund(member, offer.points_price)
        reward = self.attempt(self.program.redeem, member, offer.id)
        assert (reward is not None) == early, f"pool {pool.id} at {self.clock.now()}: {reward}"

    @rule(member=MachinePlumbing.members, choice=CHOICE)
    def offer_price_rules(self, member: int, choice: int) -> None:
        """Funded well enough, a redemption is still refused at a price the offer does not
        ask or for a tier it is not open to; at its price it charges exactly that."""
        offer = pick([o for o in self.program.offers() if o.active], choice)
        if offer is None or not self.active(member):
            return
        if offer.price_kind is PriceKind.FIXED:
            wrong = [offer.points_price + 1]
            right: int | None = None
            price = offer.points_price
        else:
            low = offer.min_points or offer.step
            high = offer.max_points or low + 10 * offer.step
            wrong = [high + offer.step] if offer.max_points is not None else []
            wrong += [low - offer.step] if offer.min_points is not None else []
            wrong += [low + 1] if offer.step > 1 else []
            right = price = low
        short = price - 1 - self.spendable(member)
        if price > 0 and short < 0 and self.attempt(self.program.spend, member, -short):
            assert self.attempt(self.program.redeem, member, offer.id, points=right) is None
        self.fund(member, max([price, *wrong]))
        for points in wrong:
            if points > 0:
                refused = self.attempt(self.program.redeem, member, offer.id, points=points)
                assert refused is None, f"offer {offer.id} redeemed for {points} points"
        tiers = set(self.program.member(member).tiers.values())
        eligible = not offer.eligible_tiers or bool(set(offer.eligible_tiers) & tiers)
        can = self.spendable(member)
        reward = self.attempt(self.program.redeem, member, offer.id, points=right)
        if not eligible:
            assert reward is None, f"offer {offer.id} is for tiers {offer.eligible_tiers}"
        elif reward is not None:
            assert reward.points == price and self.spendable(member) == can - price

    @rule(member=MachinePlumbing.members, points=st.integers(1, 100), days=st.integers(1, 40))
    def lot_at_its_expiry(self, member: int, points: int, days: int) -> None:
        """Points earned with a lifetime are live until just before their expiry instant and
        gone at it, for every read."""
        if self.rewound():
            return
        txn = self.attempt(self.program.earn, member, points, lifetime=timedelta(days=days))
        if txn is None or txn.expires_at is None:
            return
        if self.move_clock_to(txn.expires_at - TICK):
            live = {lot.txn_id for lot in self.program.lots(member)}
            assert txn.id in live or self.program.award_usage(txn.id).available == 0
        if self.move_clock_to(txn.expires_at):
            assert txn.id not in {lot.txn_id for lot in self.program.lots(member)}
            assert self.program.award_usage(txn.id).available == 0

    # -- tiers -------------------------------------------------------------------------

    @rule(member=MachinePlumbing.members, choice=CHOICE, points=st.integers(1, 500))
    def change_in_an_earlier_period(self, member: int, choice: int, points: int) -> None:
        """Points dated in an earlier period (the clock set back) do not count in the
        period a track is already in."""
        periods = [
            t
            for t in self.program.tracks()
            if t.metric is Metric.POINTS_EARNED and t.window is not Window.LIFETIME
        ]
        track = pick(periods, choice)
        if track is None or self.rewound() or not self.active(member):
            return
        if self.attempt(self.program.earn, member, 1) is None:
            return
        now = self.clock.now()
        progress = self.program.tier_progress(member, track.id)
        assert progress.period_start is not None
        if not self.move_clock_to(progress.period_start - timedelta(hours=1)):
            return
        self.attempt(self.program.earn, member, points)
        self.move_clock_to(now)
        after = self.program.tier_progress(member, track.id).value
        assert after == progress.value, f"points from an earlier period counted: {after}"

    @rule(member=MachinePlumbing.members, choice=CHOICE, tier_choice=CHOICE)
    def floor_then_lift(self, member: int, choice: int, tier_choice: int) -> None:
        """A hand-set tier is a floor: the member holds it or the higher tier its metric
        reaches; lifting it leaves the tier the metric reaches."""
        track = pick(self.program.tracks(), choice)
        if track is None or (track.window is not Window.LIFETIME and self.rewound()):
            return
        ladder = self.program.tiers(track.id)
        floor = pick(ladder, tier_choice)
        if floor is None:
            return
        value = self.program.tier_progress(member, track.id).value
        if track.metric is Metric.POINTS_EARNED and 0 < ladder[0].threshold - value <= 5_000:
            self.attempt(self.program.earn, member, int(ladder[0].threshold - value) + 1)
            value = self.program.tier_progress(member, track.id).value
        reached = [t for t in ladder if t.threshold <= value]
        top = max(reached, key=lambda t: (t.threshold, t.id)) if reached else None
        self.attempt(self.program.set_tier, member, track.id, floor.id)
        expected = (
            floor if top is None or (floor.threshold, floor.id) > (top.threshold, top.id) else top
        )
        held = self.program.member(member).tiers.get(track.id)
        assert held == expected.id, (held, expected, value)
        self.attempt(self.program.set_tier, member, track.id, None)
        held = self.program.member(member).tiers.get(track.id)
        assert held == (top.id if top else None), (held, top, value)

    # -- referrals ---------------------------------------------------------------------

    @rule(late=st.booleans(), amount=MONEY)
    def referral_to_first_order(self, late: bool, amount: Decimal) -> None:
        """A referral completes on the receiver's first paid order carrying the sender's
        code, and rewards the sender then; a later order never completes it."""
        sender, receiver = self.new_member(), self.new_member()
        referral = self.attempt(self.program.refer, sender, receiver_id=receiver)
        assert referral is not None
        other = self.new_member()
        assert self.attempt(self.program.refer, other, receiver_id=receiver) is None, "twice"
        if late:
            assert self.paid_order_for(receiver, amount) is not None
        earned = self.program.member(sender).earned
        code = self.program.member(sender).profile.referral_code
        assert code is not None
        assert self.paid_order_for(receiver, amount, (code,)) is not None
        after = self.program.referral(referral.id)
        assert (after.status is ReferralStatus.COMPLETED) != late, (after, late)
        gained = self.program.member(sender).earned - earned
        expected = 0 if late else self.program.referral_rewards().sender_points
        assert gained == expected, (gained, expected)
