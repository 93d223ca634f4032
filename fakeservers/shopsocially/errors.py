"""ShopSocially error bodies: every reason string, and the core error -> (status, reason) map.

Reasons quoted from the vendor docs are kept verbatim (clients match on them); reasons the
docs never name are marked "fake's own" and listed in docs/shopsocially.md.
"""

from __future__ import annotations

from typing import Any

from loyaltykit.errors import (
    AlreadyResolved,
    CapReached,
    DuplicateMember,
    FulfillmentExpired,
    IdempotencyConflict,
    InsufficientPoints,
    InvalidArgument,
    LoyaltyError,
    MemberDisabled,
    MemberNotFound,
    NotFound,
    NotPending,
    OfferInactive,
    OfferNotFound,
    OrderNotFound,
    OverReturn,
    PoolExhausted,
    PoolExpired,
    PoolNotFound,
    RuleInactive,
    RuleNotFound,
    TierNotEligible,
    TierNotFound,
    TrackNotFound,
    TransactionNotFound,
)

__all__ = [
    "ACTIVITY_EXISTS",
    "ACTIVITY_INACTIVE",
    "ALREADY_RESOLVED",
    "AUTHENTICATION_FAILURE",
    "AUTHENTICATION_MISSING",
    "COUPONS_EXHAUSTED",
    "COUPONS_EXPIRED",
    "FREQUENCY_REACHED",
    "INSUFFICIENT_POINTS",
    "INVALID_ACTIVITY_ID",
    "INVALID_LEVEL_ID",
    "INVALID_ORDER_ID",
    "INVALID_PARAMETERS",
    "INVALID_REDEMPTION_ID",
    "INVALID_TRANSACTION_ID",
    "INVALID_USER",
    "LEVEL_EXISTS",
    "LEVEL_NOT_ELIGIBLE",
    "METHOD_NOT_ALLOWED",
    "MISSING_PARAMETERS",
    "MISSING_PARAMS_USERS",
    "NOT_FOUND",
    "ORDER_ID_CONFLICT",
    "OVER_RETURN",
    "RATE_LIMITED",
    "REDEMPTION_EXISTS",
    "REDEMPTION_INACTIVE",
    "UNEXPECTED_DATE_FORMAT",
    "USER_EXISTS",
    "USER_INACTIVE",
    "ApiError",
    "error_body",
    "from_core",
]

# --- quoted from shopsocially-loyalty-api-v2.txt -------------------------------------------
INVALID_ACTIVITY_ID = "Invalid Activity ID"  # 1.2, 14.2, 15.2
INVALID_REDEMPTION_ID = "Invalid Redemption ID"  # 2.2, 18.2, 19.2
INVALID_USER = "Invalid User"  # 3.2, 8.2, 9.2, 10.2
INVALID_TRANSACTION_ID = "Invalid Transaction ID"  # 5.2, 6.2
INVALID_LEVEL_ID = "Invalid Level ID"  # 22.2, 23.2
INVALID_ORDER_ID = "Invalid Order ID"  # 24.2.1
OVER_RETURN = "Points to deduct is greater than points available to deduct for the Order ID"
MISSING_PARAMETERS = "missing parameters"  # 4.2, 13.2, 17.2, 21.2
MISSING_PARAMS_USERS = "MissingParams"  # 7.2 only; see docs/shopsocially.md (not used)
AUTHENTICATION_FAILURE = "authentication failure"  # 12.2, 16.2, 20.2
# --- quoted from shopsocially-v2-reference-2017.md (Errors) ---------------------------------
AUTHENTICATION_MISSING = "authentication missing"
UNEXPECTED_DATE_FORMAT = "unexpected date format"
# --- fake's own: the docs name no reason for these refusals ---------------------------------
INVALID_PARAMETERS = "invalid parameters"
INSUFFICIENT_POINTS = "Insufficient points"
COUPONS_EXHAUSTED = "No coupon codes available for the Redemption ID"
COUPONS_EXPIRED = "Coupon codes for the Redemption ID have expired"
ACTIVITY_INACTIVE = "Activity is not active"
REDEMPTION_INACTIVE = "Redemption is not active"
FREQUENCY_REACHED = "Maximum award frequency reached for the Activity ID"
LEVEL_NOT_ELIGIBLE = "Redemption is not available for the user's loyalty level"
ALREADY_RESOLVED = "Transaction is not pending"
ORDER_ID_CONFLICT = "Order ID already awarded with different details"
USER_EXISTS = "User already exists"
USER_INACTIVE = "User is not active"
ACTIVITY_EXISTS = "Activity ID already exists"
REDEMPTION_EXISTS = "Redemption ID already exists"
LEVEL_EXISTS = "Level ID already exists"
NOT_FOUND = "not found"
RATE_LIMITED = "rate limit exceeded"
METHOD_NOT_ALLOWED = "method not allowed"


class ApiError(Exception):
    """A refusal decided at the HTTP edge (auth, parsing); carries the wire status and reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def error_body(reason: str) -> dict[str, Any]:
    """The one error shape of the primary docs (the 2017 page nests it under "error")."""
    return {"reason": reason, "success": False}


_NOT_FOUND: tuple[tuple[type[NotFound], str], ...] = (
    (MemberNotFound, INVALID_USER),
    (RuleNotFound, INVALID_ACTIVITY_ID),
    (OfferNotFound, INVALID_REDEMPTION_ID),
    (PoolNotFound, INVALID_REDEMPTION_ID),
    (TransactionNotFound, INVALID_TRANSACTION_ID),
    (TierNotFound, INVALID_LEVEL_ID),
    (TrackNotFound, INVALID_LEVEL_ID),
    (OrderNotFound, INVALID_ORDER_ID),
)

# Order matters: subclasses before their bases (PoolExpired < PoolExhausted, ...).
_REFUSALS: tuple[tuple[type[LoyaltyError], str], ...] = (
    (InvalidArgument, INVALID_PARAMETERS),
    (InsufficientPoints, INSUFFICIENT_POINTS),
    (PoolExpired, COUPONS_EXPIRED),
    (PoolExhausted, COUPONS_EXHAUSTED),
    (FulfillmentExpired, COUPONS_EXPIRED),
    (RuleInactive, ACTIVITY_INACTIVE),
    (OfferInactive, REDEMPTION_INACTIVE),
    (CapReached, FREQUENCY_REACHED),
    (TierNotEligible, LEVEL_NOT_ELIGIBLE),
    (AlreadyResolved, ALREADY_RESOLVED),
    (NotPending, ALREADY_RESOLVED),
    (IdempotencyConflict, ORDER_ID_CONFLICT),
    (OverReturn, OVER_RETURN),
    (DuplicateMember, USER_EXISTS),
    (MemberDisabled, USER_INACTIVE),
)


def from_core(error: LoyaltyError) -> ApiError:
    """Translate a core refusal: unknown ids are 404s, every other refusal a 400."""
    if isinstance(error, NotFound):
        for missing, reason in _NOT_FOUND:
            if isinstance(error, missing):
                return ApiError(404, reason)
        return ApiError(404, NOT_FOUND)
    for kind, reason in _REFUSALS:
        if isinstance(error, kind):
            return ApiError(400, reason)
    return ApiError(400, INVALID_PARAMETERS)
