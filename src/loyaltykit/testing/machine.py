"""A hypothesis state machine over every core command, for our tests and yours.

Subclass `LoyaltyMachine`, override `configure` to build your own program's rules,
offers and tiers, and add `@invariant()` methods for your own guarantees; every step
already checks `audit()` (all DESIGN.md section 3 invariants, replay equality included)
and that a refused command changed nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from loyaltykit.auditing import audit
from loyaltykit.clock import ManualClock
from loyaltykit.errors import LoyaltyError
from loyaltykit.ledger import TxnStatus
from loyaltykit.orders import ClawbackPolicy, OrderStatus
from loyaltykit.program import ORDER_TRIGGER, Program
from loyaltykit.rewards import PriceKind
from loyaltykit.rules import Approval, Cap, RuleKind, Window
from loyaltykit.testing.scans import check_pages
from loyaltykit.tiers import Metric

__all__ = ["LoyaltyMachine", "default_configuration"]

START = datetime(2024, 1, 1, tzinfo=UTC)


def default_configuration(program: Program) -> None:
    """A program that exercises every feature: caps, approvals, expiry, pools, tiers."""
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
    listed = program.add_pool(name="gift cards", codes=[f"GIFT-{n:03d}" for n in range(5)])
    generated = program.add_pool(name="5 off", prefix="5off")
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
    lifetime = program.add_track(name="lifetime")
    program.add_tier(lifetime.id, name="silver", threshold=200, multiplier=Decimal("1.5"))
    program.add_tier(lifetime.id, name="gold", threshold=600, multiplier=2)
    period = program.add_track(name="yearly spend", metric=Metric.AMOUNT_SPENT, window=Window.MONTH)
    program.add_tier(period.id, name="regular", threshold=100)
    sender = program.add_offer(
        name="referral thanks", points_price=0, value=Decimal(3), pool_id=generated.id
    )
    program.set_referral_rewards(receiver_points=20, sender_points=50, sender_offer_id=sender.id)


class LoyaltyMachine(RuleBasedStateMachine):
    """Random sequences of commands, clock advances and expiry on one program."""

    members = Bundle("members")
    pending = Bundle("pending")
    orders = Bundle("orders")
    codes = Bundle("codes")

    clawback: ClawbackPolicy = ClawbackPolicy.NEGATIVE_BALANCE
    check_replay_every: int = 1
    """Replay equality is checked every N steps (1: every step)."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(START)
        self.program = self.new_program(self.clock)
        self.configure(self.program)
        self.steps = 0
        self.order_seq = 0

    def new_program(self, clock: ManualClock) -> Program:
        """Override to run the machine on another kind of program (e.g. a durable one from
        `Program.open`); it must be empty and use `clock`."""
        return Program(clock, clawback=self.clawback, seed=0)

    def configure(self, program: Program) -> None:
        """Override to audit your own program configuration."""
        default_configuration(program)

    # -- plumbing ----------------------------------------------------------------------

    def attempt(self, command: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a command; if it is refused, the program must be exactly as before.

        Time-driven events due now (expiry, auto-approval) are applied first: they belong
        to the passage of time, not to the command, and happen even if it is refused.
        """
        self.program.expire_due()
        before = self.program.state()
        length = len(self.program.journal())
        try:
            return command(*args, **kwargs)
        except LoyaltyError:
            assert len(self.program.journal()) == length, "a refused command wrote events"
            assert self.program.state() == before, "a refused command changed state"
            return None

    def rule_id(self, name: str) -> int:
        return next(r.id for r in self.program.rules() if r.name == name)

    def offer_ids(self) -> list[int]:
        return [o.id for o in self.program.offers()]

    # -- commands ----------------------------------------------------------------------

    @initialize(target=members)
    def first_members(self) -> Any:
        return multiple(*(self.program.add_member(email=f"m{n}@example.com").id for n in range(2)))

    @rule(target=members, n=st.integers(2, 10_000))
    def add_member(self, n: int) -> Any:
        member = self.attempt(self.program.add_member, email=f"m{n}@example.com")
        return member.id if member is not None else multiple()

    @rule(member=members, points=st.integers(-5, 400))
    def earn(self, member: int, points: int) -> None:
        self.attempt(
            self.program.earn,
            member,
            points,
            lifetime=timedelta(days=10) if points % 3 == 0 else None,
        )

    @rule(member=members, points=st.integers(-5, 600))
    def spend(self, member: int, points: int) -> None:
        self.attempt(self.program.spend, member, points)

    @rule(member=members, change=st.integers(-300, 300))
    def adjust(self, member: int, change: int) -> None:
        self.attempt(self.program.adjust, member, change)

    @rule(
        target=pending,
        member=members,
        name=st.sampled_from(["signup", "review", "photo", "survey"]),
        override=st.none() | st.integers(1, 80),
    )
    def award(self, member: int, name: str, override: int | None) -> Any:
        txn = self.attempt(self.program.award, member, self.rule_id(name), points=override)
        if txn is not None and txn.status is TxnStatus.PENDING:
            return txn.id
        return multiple()

    @rule(txn=consumes(pending), approve=st.booleans())
    def resolve(self, txn: int, approve: bool) -> None:
        self.attempt(self.program.approve if approve else self.program.reject, txn, by="machine")

    @rule(txn=pending)
    def resolve_again(self, txn: int) -> None:
        self.attempt(self.program.approve, txn)

    @rule(
        target=codes,
        member=members,
        offer=st.integers(1, 4),
        points=st.none() | st.integers(0, 600),
    )
    def redeem(self, member: int, offer: int, points: int | None) -> Any:
        found = self.attempt(self.program.redeem, member, offer, points=points)
        return found.code if found is not None and found.code else multiple()

    @rule(code=codes)
    def use_code(self, code: str) -> None:
        self.attempt(self.program.use_code, code)

    @rule(
        target=orders,
        member=st.none() | members,
        amount=st.decimals(-10, 900, places=2, allow_nan=False, allow_infinity=False),
        coupon=st.none() | codes,
    )
    def paid_order(self, member: int | None, amount: Decimal, coupon: str | None) -> Any:
        self.order_seq += 1
        external_id = f"order-{self.order_seq}"
        self.attempt(
            self.program.record_order,
            external_id,
            member_id=member,
            amount=amount,
            status=OrderStatus.PAID,
            updated_at=self.clock.now(),
            coupons=[coupon] if coupon else [],
        )
        return external_id

    @rule(order=orders, fraction=st.sampled_from(["0.1", "0.25", "0.5", "1"]))
    def partial_return(self, order: str, fraction: str) -> None:
        found = self.attempt(self.program.order, order)
        if found is None:
            return
        amount = (found.amount * Decimal(fraction)).quantize(Decimal("0.01"))
        self.attempt(self.program.return_order, order, amount=amount)

    @rule(order=orders)
    def refund(self, order: str) -> None:
        found = self.attempt(self.program.order, order)
        if found is not None:
            self.attempt(
                self.program.record_order,
                order,
                member_id=found.member_id,
                amount=found.amount,
                status=OrderStatus.REFUNDED,
                updated_at=self.clock.now(),
            )

    @rule(sender=members, receiver=members)
    def refer(self, sender: int, receiver: int) -> None:
        self.attempt(self.program.refer, sender, receiver_id=receiver)

    @rule(member=members, tier=st.none() | st.integers(1, 3))
    def set_tier(self, member: int, tier: int | None) -> None:
        self.attempt(self.program.set_tier, member, 1, tier)

    @rule(member=members, key=st.sampled_from(["k1", "k2"]), points=st.integers(1, 50))
    def idempotent_earn(self, member: int, key: str, points: int) -> None:
        first = self.attempt(self.program.earn, member, points, idempotency_key=key)
        again = self.attempt(self.program.earn, member, points, idempotency_key=key)
        assert (first is None) == (again is None)
        if first is not None:
            assert again.id == first.id

    @rule(hours=st.integers(1, 24 * 45))
    def advance_clock(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    @rule()
    def expire_due(self) -> None:
        self.program.expire_due()
        assert self.program.expire_due() == [], "expire_due is not idempotent"

    @rule(hours=st.integers(1, 24 * 10))
    def clock_back(self, hours: int) -> None:
        """Set the clock back (a seeder writing history): later records are dated before
        earlier ones, which the indexes must still page in order."""
        self.clock.set(self.clock.now() - timedelta(hours=hours))

    @rule(member=members, name=st.sampled_from(["Ann", "Bo", "Cy"]))
    def rename(self, member: int, name: str) -> None:
        self.attempt(self.program.update_member, member, first_name=name)

    @rule(data=st.data())
    def paged_reads_agree(self, data: st.DataObject) -> None:
        """A page and a count from the indexes equal the same read done by a scan."""
        check_pages(self.program, data)

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
