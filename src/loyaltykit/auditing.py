"""`audit(program)`: check the program's rules and its ledger, and return violations as data.

The audit folds the journal into its own small reference model (`_audit_fold.py`, written
apart from `state.py`) and checks, from the journal alone:

- as each fact arrives, the business rules of DESIGN.md sections 2-3 (`_audit_rules.py`):
  points in range and signed as their kind; no overdraft; lots consumed in order, expired
  once, exactly at their instant, for what they held; nothing left undone past its instant
  (a lot live after its expiry, a pending award past its approval date, a period past its
  end); awards by active rules within their caps, with the member's best tier multiplier,
  approval and lifetime; approvals that start the lifetime; clawbacks never above what the
  order earned; redemptions charged exactly the offer's price, for eligible tiers, from the
  offer's pool, each code once and never after the pool expired; codes used once and never
  after expiry; no self-referral or second referral; unique emails, external ids, codes;
- once every event is in: debts settled out of available points, refunded orders holding
  nothing, running totals within `limits.MAX_TOTAL_POINTS`;
- then that the program's kept state equals the reference in every part (`_audit_drift.py`):
  balances, lots, counters, pending, histories, tiers and their change records,
  configuration, pools, rewards, orders, referrals, keys, ids and the due-work schedule,
  and every paged-read index against a scan of the journal (`index_audit.py`);
- and, unless `replay=False`, that replaying the journal gives an identical state.

It never raises: an unexpected failure is itself reported as a violation. Cost is linear in
the journal (times the number of tier tracks for awards and metric changes).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from loyaltykit import _audit_drift, _audit_rules
from loyaltykit._audit_fold import Fold
from loyaltykit.index_audit import check_indexes

if TYPE_CHECKING:
    from loyaltykit.program import Program

__all__ = ["Violation", "audit"]


@attrs.frozen
class Violation:
    """One broken rule or invariant: a stable `code`, the member concerned (if any), details."""

    code: str
    member_id: int | None
    details: str


def _check_replay(program: Program, fail: Callable[[str, int | None, str], None]) -> None:
    from loyaltykit.program import Program

    replayed = Program.replay(
        program.journal(),
        program.clock,
        name=program.name,
        clawback=program.clawback,
        timezone=program.timezone,
        started_at=program.started_at,
    )
    if replayed.state() != program.state():
        fail("replay_mismatch", None, "replaying the journal gives a different state")


def audit(program: Program, *, replay: bool = True) -> list[Violation]:
    """Every broken rule and invariant, as data; an empty list means clean.

    `replay=False` skips the replay-equality check (the only part that rebuilds a program);
    everything else, state drift included, is checked either way.
    """
    violations: list[Violation] = []

    def fail(code: str, member_id: int | None, details: str) -> None:
        violations.append(Violation(code, member_id, details))

    try:
        with program._lock:
            fold = Fold(program.clawback, program.timezone, fail)
            fold.run(program.journal())
            _audit_rules.finish(fold, program.clawback)
            _audit_drift.compare(fold, program.raw_state, program.clawback)
            violations.extend(check_indexes(program))
            if replay:
                _check_replay(program, fail)
    except Exception as exc:  # the audit reports, it never raises
        fail("audit_error", None, "".join(traceback.format_exception_only(exc)).strip())
    return violations
