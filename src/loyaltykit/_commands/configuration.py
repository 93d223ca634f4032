"""Commands that configure how members earn: earning rules and referral rewards.

Each function is a method of `Program` (bound there by name, see `loyaltykit.program`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs

from loyaltykit import _validate as v
from loyaltykit._kernel import ProgramKernel, _enum, _evolve
from loyaltykit.errors import InvalidArgument
from loyaltykit.events import ReferralRewardsSet, RuleDefined
from loyaltykit.metadata import checked_metadata
from loyaltykit.referrals import ReferralRewards
from loyaltykit.rules import Approval, Cap, EarningRule, RuleKind, Window


def add_rule(
    self: ProgramKernel,
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
        rule = _checked_rule(
            self,
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
                checked_metadata(metadata),
            ),
        )
        self._emit(RuleDefined(rule, now))
        return rule


def update_rule(self: ProgramKernel, rule_id: int, **changes: Any) -> EarningRule:
    with self._lock:
        now = self._begin()
        rule = _checked_rule(self, _evolve(self._rule(rule_id), changes, "rule"))
        self._emit(RuleDefined(rule, now))
        return rule


def _checked_rule(self: ProgramKernel, rule: EarningRule) -> EarningRule:
    v.text(rule.name, "name")
    kind = _enum(RuleKind, rule.kind, "kind")
    approval = _enum(Approval, rule.approval, "approval")
    v.points(rule.points, "points", allow_zero=True)
    multiplier = v.multiplier(rule.multiplier, "multiplier")
    v.code(rule.trigger, "trigger")
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
    metadata = checked_metadata(rule.metadata)
    return attrs.evolve(
        rule, kind=kind, approval=approval, multiplier=multiplier, metadata=metadata
    )


def rule(self: ProgramKernel, rule_id: int) -> EarningRule:
    with self._lock:
        self._read_configuration()
        return self._rule(rule_id)


def rules(self: ProgramKernel, *, trigger: str | None = None) -> list[EarningRule]:
    with self._lock:
        self._read_configuration()
        return [r for r in self._state.rules.values() if trigger is None or r.trigger == trigger]


def set_referral_rewards(
    self: ProgramKernel,
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


def referral_rewards(self: ProgramKernel) -> ReferralRewards:
    with self._lock:
        self._read_configuration()
        return self._state.referral_rewards
