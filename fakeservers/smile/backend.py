"""Per-tenant Smile state: the core `Program` plus the few records the core does not keep.

The core has no activity records and no customer identities (see docs/smile.md, "Needed
from the core"); they live here, next to the program they describe, so a tenant reset
clears them together. Every points decision is still the core's: this module only records
what the vendor API shows back.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from fakeservers._http import Clock
from fakeservers._http.errors import ParseError
from fakeservers._http.parsing import read_money
from loyaltykit import (
    EarningRule,
    MemberNotFound,
    Program,
    RuleKind,
    RuleNotFound,
)

__all__ = ["Activity", "Identity", "RecordListener", "SmileBackend"]

DEFAULT_POINTS_LABEL = ("Point", "Points")

RecordListener = Callable[[str, Any, Any], None]
"""Told `(field, key, value)` each time an entry of one of the backend's dicts
(`activities`, `identities`, `activity_keys`) is stored, inside the backend's lock."""


@attrs.frozen
class Activity:
    """An activity as Smile shows it back; `txn_id` is the award it produced, if any."""

    id: int
    customer_id: int
    token: str
    properties: dict[str, Any]
    distinct_id: str | None
    created_on_origin_at: datetime | None
    updated_on_origin_at: datetime | None
    created_at: datetime
    updated_at: datetime
    txn_id: int | None = None


@attrs.frozen
class Identity:
    """A customer identity: an external system's view of a customer, linked by id."""

    id: int
    customer_id: int
    distinct_id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    properties: dict[str, Any] = attrs.field(factory=dict)


@attrs.define(eq=False)
class SmileBackend:
    """What one Smile tenant holds."""

    program: Program
    points_label: tuple[str, str] = DEFAULT_POINTS_LABEL
    activities: dict[int, Activity] = attrs.field(factory=dict)
    identities: dict[str, Identity] = attrs.field(factory=dict)
    _activity_keys: dict[tuple[int, str, str], int] = attrs.field(factory=dict)
    _lock: threading.RLock = attrs.field(factory=threading.RLock)
    _listener: RecordListener | None = attrs.field(default=None)

    @classmethod
    def create(
        cls, clock: Clock, name: str = "", started_at: datetime | None = None
    ) -> SmileBackend:
        """A fresh tenant; its codes are drawn from a generator seeded by the tenant's name,
        so a reset tenant hands out the same codes again (tests can rely on them)."""
        seed = zlib.crc32(name.encode("utf-8"))
        return cls(Program(clock, name=name, started_at=started_at, seed=seed))

    def watch(self, listener: RecordListener | None) -> None:
        """Tell `listener` of every record stored from now on (a persistent fake writes
        them down); None stops telling."""
        self._listener = listener

    def _stored(self, field: str, key: Any, value: Any) -> None:
        listener = self._listener
        if listener is not None:
            listener(field, key, value)

    def activity_rule(self, token: str) -> EarningRule:
        """The active earning rule an activity token triggers."""
        for rule in self.program.rules(trigger=token):
            if rule.active:
                return rule
        raise RuleNotFound(token)

    def record_activity(
        self,
        customer_id: int,
        token: str,
        *,
        properties: Mapping[str, Any],
        distinct_id: str | None,
        created_on_origin_at: datetime | None,
        updated_on_origin_at: datetime | None,
    ) -> tuple[Activity, bool]:
        """Record an activity and award its rule once; returns (activity, created).

        A repeat of a `distinct_id` updates the stored activity (unless its
        `updated_on_origin_at` is older than the stored one) and awards nothing more.
        An activity performed before the program started is recorded but earns nothing.
        """
        with self._lock:
            program = self.program
            member = program.member(customer_id)
            rule = self.activity_rule(token)
            now = program.clock.now()
            key = (member.id, token, distinct_id) if distinct_id is not None else None
            known = self._activity_keys.get(key) if key is not None else None
            if known is not None:
                return self._update(self.activities[known], properties, updated_on_origin_at, now)
            txn_id = None
            if created_on_origin_at is None or created_on_origin_at >= program.started_at:
                amount = _amount(rule, properties)
                txn_id = program.award(
                    member.id,
                    rule.id,
                    amount=amount,
                    description=rule.name,
                    idempotency_key=f"smile-activity:{member.id}:{token}:{distinct_id}"
                    if distinct_id is not None
                    else None,
                ).id
            activity = Activity(
                len(self.activities) + 1,
                member.id,
                token,
                dict(properties),
                distinct_id,
                created_on_origin_at,
                updated_on_origin_at,
                now,
                now,
                txn_id,
            )
            self.activities[activity.id] = activity
            self._stored("activities", activity.id, activity)
            if key is not None:
                self._activity_keys[key] = activity.id
                self._stored("activity_keys", key, activity.id)
            return activity, True

    def _update(
        self,
        activity: Activity,
        properties: Mapping[str, Any],
        updated_on_origin_at: datetime | None,
        now: datetime,
    ) -> tuple[Activity, bool]:
        stored = activity.updated_on_origin_at
        if (
            updated_on_origin_at is not None
            and stored is not None
            and updated_on_origin_at < stored
        ):
            return activity, False
        updated = attrs.evolve(
            activity,
            properties=dict(properties) or activity.properties,
            updated_on_origin_at=updated_on_origin_at or stored,
            updated_at=now,
        )
        self.activities[activity.id] = updated
        self._stored("activities", activity.id, updated)
        return updated, False

    def upsert_identity(
        self,
        distinct_id: str,
        email: str,
        *,
        first_name: str | None,
        last_name: str | None,
        properties: Mapping[str, Any],
    ) -> tuple[Identity, bool]:
        """Create or update an identity; a new one links to the customer with its email
        (or to a new customer). Updating never changes the linked customer."""
        with self._lock:
            known = self.identities.get(distinct_id)
            if known is not None:
                updated = attrs.evolve(
                    known,
                    email=email,
                    first_name=first_name if first_name is not None else known.first_name,
                    last_name=last_name if last_name is not None else known.last_name,
                    properties=dict(properties) or known.properties,
                )
                self.identities[distinct_id] = updated
                self._stored("identities", distinct_id, updated)
                return updated, False
            try:
                customer_id = self.program.member_by_email(email).id
            except MemberNotFound:
                customer_id = self.program.add_member(
                    email=email, external_id=distinct_id, first_name=first_name, last_name=last_name
                ).id
            identity = Identity(
                len(self.identities) + 1,
                customer_id,
                distinct_id,
                email,
                first_name,
                last_name,
                dict(properties),
            )
            self.identities[distinct_id] = identity
            self._stored("identities", distinct_id, identity)
            return identity, True

    def adjust(
        self, customer_id: int, points_change: int, description: str, internal_note: str | None
    ) -> int:
        """A manual points transaction with its internal note. Returns the txn id."""
        with self._lock:
            txn = self.program.adjust(
                customer_id, points_change, description=description, note=internal_note
            )
            return txn.id


def _amount(rule: EarningRule, properties: Mapping[str, Any]) -> Decimal | None:
    """A multiplier rule earns on the activity's `rewardable_total` property, an amount of
    money (negative counts as 0)."""
    if rule.kind is not RuleKind.MULTIPLIER:
        return None
    label = "activity.properties.rewardable_total"
    raw = properties.get("rewardable_total")
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ParseError(label, "missing", f"{label} is required for this activity token")
    amount = read_money(properties, "rewardable_total", required=True, label=label)
    assert amount is not None
    return max(amount, Decimal(0))
