"""The core under random command sequences, audited after every step."""

from loyaltykit import ClawbackPolicy
from loyaltykit.testing import LoyaltyMachine


class NegativeBalanceMachine(LoyaltyMachine):
    clawback = ClawbackPolicy.NEGATIVE_BALANCE


class PendingDeductionMachine(LoyaltyMachine):
    clawback = ClawbackPolicy.PENDING_DEDUCTION


class WriteOffMachine(LoyaltyMachine):
    clawback = ClawbackPolicy.WRITE_OFF


TestNegativeBalance = NegativeBalanceMachine.TestCase
TestPendingDeduction = PendingDeductionMachine.TestCase
TestWriteOff = WriteOffMachine.TestCase
