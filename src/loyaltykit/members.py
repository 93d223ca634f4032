"""Members: profile (who) and account (their points), kept apart because they change apart."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs

__all__ = ["Member", "MemberProfile", "MemberState"]


class MemberState(enum.StrEnum):
    MEMBER = "member"
    CANDIDATE = "candidate"
    DISABLED = "disabled"


@attrs.frozen
class MemberProfile:
    id: int
    created_at: datetime
    updated_at: datetime
    email: str | None = None
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    birthday: date | None = None
    state: MemberState = MemberState.MEMBER
    referral_code: str | None = None
    metadata: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Member:
    """A read-only view of a member: profile plus balances and tiers at one moment.

    `balance` is spendable points (negative only under the negative-balance clawback
    policy); `pending` are awards awaiting approval; `debt` is clawback not yet recovered
    (shown as a pending deduction under that policy). `redeemed`, `recovered` and
    `last_credit_id` are running totals, so reading them costs nothing however long the
    member's history.
    """

    profile: MemberProfile
    balance: int
    pending: int
    earned: int
    spent: int
    expired: int
    clawed_back: int
    debt: int
    written_off: int
    amount_spent: Decimal
    tiers: dict[int, int | None]
    redeemed: int = 0
    """Points exchanged for rewards (part of `spent`)."""
    recovered: int = 0
    """Points taken by clawback and settlement transactions."""
    last_credit_id: int | None = None
    """The latest posted credit (earn, award or positive adjust), None before the first."""

    @property
    def id(self) -> int:
        return self.profile.id

    @property
    def email(self) -> str | None:
        return self.profile.email

    @property
    def external_id(self) -> str | None:
        return self.profile.external_id

    @property
    def state(self) -> MemberState:
        return self.profile.state
