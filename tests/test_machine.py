"""The core under random and targeted command sequences, audited after every step."""

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from loyaltykit import Approval, Cap, ClawbackPolicy, PriceKind, Program, RuleKind, Window
from loyaltykit.testing import LoyaltyMachine


class NegativeBalanceMachine(LoyaltyMachine):
    clawback = ClawbackPolicy.NEGATIVE_BALANCE


class PendingDeductionMachine(LoyaltyMachine):
    """Calendar windows in New York: day, week and month edges move with daylight saving."""

    clawback = ClawbackPolicy.PENDING_DEDUCTION
    timezone = ZoneInfo("America/New_York")


class WriteOffMachine(LoyaltyMachine):
    clawback = ClawbackPolicy.WRITE_OFF


class OwnConfigurationMachine(LoyaltyMachine):
    """A user's own program, as the README suggests: other rule names and ids, no tier
    track at first (so the fast paths of a program without tiers run, until a step adds
    one), a variable offer and a generated pool only."""

    clawback = ClawbackPolicy.PENDING_DEDUCTION

    def configure(self, program: Program) -> None:
        program.add_rule(name="newsletter", points=30, cap=Cap(2, Window.MONTH))
        program.add_rule(
            name="per dollar",
            kind=RuleKind.MULTIPLIER,
            multiplier=Decimal("2.5"),
            trigger="order",
            points_lifetime=timedelta(days=15),
        )
        program.add_rule(name="ugc", points=70, approval=Approval.MANUAL)
        pool = program.add_pool(name="codes", prefix="own", suffix_length=6)
        program.add_offer(
            name="any amount",
            price_kind=PriceKind.VARIABLE,
            step=25,
            value_per_step=Decimal("0.5"),
            min_points=25,
            max_points=250,
            pool_id=pool.id,
            reward_lifetime=timedelta(days=10),
        )


class EmptyConfigurationMachine(LoyaltyMachine):
    """No rules, offers, pools or tracks at all: every step still runs (or skips)."""

    def configure(self, program: Program) -> None:
        del program


TestNegativeBalance = NegativeBalanceMachine.TestCase
TestPendingDeduction = PendingDeductionMachine.TestCase
TestWriteOff = WriteOffMachine.TestCase
TestOwnConfiguration = OwnConfigurationMachine.TestCase
TestEmptyConfiguration = EmptyConfigurationMachine.TestCase
