"""What every step of the testing machine stands on: the program under test, its clock,
refusal checking, and a few facts computed apart from the core (spendable points, the
next calendar window, a proportional clawback), so a step can check what a command
promised with arithmetic of its own rather than the core's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine

from loyaltykit.clock import ManualClock
from loyaltykit.errors import LoyaltyError
from loyaltykit.members import MemberState
from loyaltykit.orders import ClawbackPolicy
from loyaltykit.program import Program
from loyaltykit.rules import Window

__all__ = ["CHOICE", "START", "TICK", "MachinePlumbing", "pick"]

START = datetime(2024, 1, 1, tzinfo=UTC)
TICK = timedelta(microseconds=1)
T = TypeVar("T")

CHOICE = st.integers(0, 1_000)
"""Which of the program's rules, offers, tracks... a step uses (modulo how many there are)."""


def pick(items: Sequence[T], choice: int) -> T | None:
    return items[choice % len(items)] if items else None


class MachinePlumbing(RuleBasedStateMachine):
    """The program under test and the helpers steps share (no steps of its own)."""

    members = Bundle("members")
    pending = Bundle("pending")
    orders = Bundle("orders")
    codes = Bundle("codes")

    clawback: ClawbackPolicy = ClawbackPolicy.NEGATIVE_BALANCE
    timezone: tzinfo = UTC
    """Where the program's calendar windows (caps, period tiers) begin."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(START)
        self.program = self.new_program(self.clock)
        self.configure(self.program)
        self.serial = 0
        self.high_water = START
        """The latest instant the clock has shown (it may have been rewound since)."""

    def new_program(self, clock: ManualClock) -> Program:
        """Override to run the machine on another kind of program (e.g. a durable one from
        `Program.open`); it must be empty and use `clock`."""
        return Program(clock, clawback=self.clawback, timezone=self.timezone, seed=0)

    def configure(self, program: Program) -> None:
        """Build the program's rules, offers, pools and tiers (see `LoyaltyMachine`)."""

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

    def next_serial(self) -> int:
        self.serial += 1
        return self.serial

    def new_member(self) -> int:
        member = self.program.add_member(email=f"n{self.next_serial()}@example.com")
        return member.id

    def active(self, member_id: int) -> bool:
        return self.program.member(member_id).state is not MemberState.DISABLED

    def spendable(self, member_id: int) -> int:
        """Points the member can spend now."""
        member = self.program.member(member_id)
        negative = self.program.clawback is ClawbackPolicy.NEGATIVE_BALANCE
        return member.balance + (member.debt if negative else 0)

    def fund(self, member_id: int, points: int) -> None:
        """Credit what the member needs to spend `points` now (later credits pay what the
        member owes first)."""
        owed = self.program.member(member_id).debt
        missing = points - self.spendable(member_id)
        if missing > 0:
            self.attempt(self.program.adjust, member_id, missing + owed)

    def move_clock_to(self, moment: datetime) -> bool:
        """Set the clock (forwards or back) to `moment` if it is another instant."""
        if moment == self.clock.now():
            return False
        self.clock.set(moment)
        self.high_water = max(self.high_water, moment)
        return True

    def rewound(self) -> bool:
        """Whether the clock shows an instant before one it showed already (then a period
        track may count a later period than the one the clock is in)."""
        return self.clock.now() < self.high_water

    def next_window(self, window: Window, moment: datetime) -> datetime:
        """The first instant of the calendar window after the one holding `moment`, in the
        program's timezone (weeks start on Monday)."""
        local = moment.astimezone(self.program.timezone)
        zone = local.tzinfo
        if window is Window.DAY:
            day = local.date() + timedelta(days=1)
        elif window is Window.WEEK:
            day = local.date() + timedelta(days=7 - local.weekday())
        elif window is Window.MONTH:
            year, month = divmod(local.year * 12 + local.month, 12)
            day = local.date().replace(year=year, month=month + 1, day=1)
        else:
            day = local.date().replace(year=local.year + 1, month=1, day=1)
        return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def share(awarded: int, returned: Decimal, amount: Decimal) -> int:
    """The points a return of `returned` out of `amount` takes back, rounded half up."""
    if amount <= 0 or returned >= amount:
        return awarded
    exact = Decimal(awarded) * returned / amount
    whole = int(exact)
    return min(awarded, whole + (1 if exact - whole >= Decimal("0.5") else 0))
