"""Every failure the core can report, one class each, with a stable machine-readable code.

Commands raise these before changing anything, so catching one means the program is
exactly as it was. The fake servers map them to each vendor's status codes and bodies.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AlreadyResolved",
    "CapReached",
    "DuplicateMember",
    "FulfillmentExpired",
    "FulfillmentNotFound",
    "IdempotencyConflict",
    "InsufficientPoints",
    "InvalidArgument",
    "LoyaltyError",
    "MemberDisabled",
    "MemberNotFound",
    "NotFound",
    "NotPending",
    "OfferInactive",
    "OfferNotFound",
    "OrderNotFound",
    "OverReturn",
    "PoolExhausted",
    "PoolExpired",
    "PoolNotFound",
    "ReferralNotFound",
    "RuleInactive",
    "RuleNotFound",
    "SchemaTooNew",
    "SelfReferral",
    "SettingsMismatch",
    "StoreClosed",
    "StoreError",
    "TierNotEligible",
    "TierNotFound",
    "TrackNotFound",
    "TransactionNotFound",
]


class LoyaltyError(Exception):
    """Base of all loyaltykit errors; `code` is stable across versions."""

    code: ClassVar[str] = "loyalty_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(LoyaltyError, ValueError):
    """A parameter is missing, malformed or out of range; `field` names it (also a
    `ValueError`, so code that catches the builtin for bad values catches it too)."""

    code = "invalid_argument"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotFound(LoyaltyError):
    """Something referenced by id does not exist in this program."""

    code = "not_found"
    kind: ClassVar[str] = "object"

    def __init__(self, ident: object) -> None:
        super().__init__(f"no {self.kind} with id {ident!r}")
        self.ident = ident


class MemberNotFound(NotFound):
    kind = "member"


class RuleNotFound(NotFound):
    kind = "rule"


class OfferNotFound(NotFound):
    kind = "offer"


class PoolNotFound(NotFound):
    kind = "pool"


class TransactionNotFound(NotFound):
    kind = "transaction"


class FulfillmentNotFound(NotFound):
    kind = "fulfillment"


class OrderNotFound(NotFound):
    kind = "order"


class ReferralNotFound(NotFound):
    kind = "referral"


class TrackNotFound(NotFound):
    kind = "track"


class TierNotFound(NotFound):
    kind = "tier"


class DuplicateMember(LoyaltyError):
    """Another member already has this email or external id."""

    code = "duplicate_member"


class MemberDisabled(LoyaltyError):
    """The member was removed (disabled); its history is kept but it cannot transact."""

    code = "member_disabled"


class InsufficientPoints(LoyaltyError):
    """The member's spendable balance does not cover the debit."""

    code = "insufficient_points"

    def __init__(self, member_id: int, needed: int, available: int) -> None:
        super().__init__(f"member {member_id} needs {needed} points but has {available} available")
        self.member_id = member_id
        self.needed = needed
        self.available = available


class PoolExhausted(LoyaltyError):
    """A coupon pool has no code left to issue."""

    code = "pool_exhausted"


class PoolExpired(PoolExhausted):
    """A coupon pool's codes expired; none can be issued any more."""

    code = "pool_expired"


class RuleInactive(LoyaltyError):
    code = "rule_inactive"


class OfferInactive(LoyaltyError):
    code = "offer_inactive"


class CapReached(LoyaltyError):
    """The member already got the maximum number of awards for this rule in the window."""

    code = "cap_reached"


class TierNotEligible(LoyaltyError):
    """The offer is restricted to tiers the member does not hold."""

    code = "tier_not_eligible"


class NotPending(LoyaltyError):
    """Only pending awards can be approved or rejected."""

    code = "not_pending"


class AlreadyResolved(NotPending):
    """The pending award was approved or rejected before; it resolves at most once."""

    code = "already_resolved"


class IdempotencyConflict(LoyaltyError):
    """An idempotency key was reused with a different payload."""

    code = "idempotency_conflict"


class SelfReferral(LoyaltyError):
    code = "self_referral"


class OverReturn(LoyaltyError):
    """A return or deduction exceeds what the order still has to give back."""

    code = "over_return"


class FulfillmentExpired(LoyaltyError):
    code = "fulfillment_expired"


class StoreError(LoyaltyError):
    """The store under a durable program failed or refused (database unreachable, disk
    full, a write that could not commit); the command it interrupted changed nothing."""

    code = "store_error"


class StoreClosed(StoreError):
    """A durable program was used after `close()`."""

    code = "store_closed"


class SchemaTooNew(StoreError):
    """The database was written by a newer loyaltykit whose schema this one cannot read."""

    code = "schema_too_new"

    def __init__(self, found: int, supported: int) -> None:
        super().__init__(
            f"the store's schema is version {found}, written by a newer loyaltykit; this "
            f"version reads schema versions up to {supported}: upgrade loyaltykit"
        )
        self.found = found
        self.supported = supported


class SettingsMismatch(StoreError):
    """`Program.open` was given settings that differ from those stored at creation."""

    code = "settings_mismatch"

    def __init__(self, name: str, differences: dict[str, tuple[str, str]]) -> None:
        listed = "; ".join(
            f"{key}: stored {stored!r}, given {given!r}"
            for key, (stored, given) in sorted(differences.items())
        )
        super().__init__(f"program {name!r} was created with other settings ({listed})")
        self.name = name
        self.differences = differences
