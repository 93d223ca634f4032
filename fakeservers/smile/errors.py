"""Smile's error bodies: every failure becomes a status and `{"error": {"message": ...}}`.

Only "Invalid credentials." and the public-app sentence are worded in the vendor docs; the
other messages are ours, kept here as constants so tests and clients can match them.
"""

from __future__ import annotations

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.wrappers import Request, Response

from fakeservers._http import ParseError, RateLimited, json_response
from loyaltykit import errors as core

__all__ = [
    "INVALID_CREDENTIALS",
    "NOT_AVAILABLE_TO_PUBLIC_APPS",
    "SmileError",
    "error_body",
    "render_error",
]

INVALID_CREDENTIALS = "Invalid credentials."
"""smile-api-reference.txt, "Errors" example."""
NOT_AVAILABLE_TO_PUBLIC_APPS = "This endpoint is not available to public Smile apps."
"""smile-api-reference.txt, on every points product and points transaction endpoint."""
NOT_FOUND = "Not found."
METHOD_NOT_ALLOWED = "Method not allowed."
TOO_MANY_REQUESTS = "Too many requests."
NOT_ENOUGH_POINTS = "Customer does not have enough points."
REWARD_UNAVAILABLE = "This reward is no longer available."
CUSTOMER_DISABLED = "Customer is disabled."
EARNING_LIMIT_REACHED = "The earning limit for this activity has been reached."
TIER_NOT_ELIGIBLE = "Customer's VIP tier is not eligible for this reward."
CONFLICTING_REPEAT = "{field} was already used with different values."
REQUEST_FAILED = "The request could not be completed: {detail}"

NOT_FOUND_BY_KIND = {
    "member": "Customer not found.",
    "offer": "Points product not found.",
    "transaction": "Points transaction not found.",
    "fulfillment": "Reward fulfillment not found.",
    "rule": "Earning rule not found.",
    "order": "Order not found.",
    "referral": "Referral not found.",
    "tier": "VIP tier not found.",
    "track": "VIP tier not found.",
    "pool": "Reward not found.",
}


class SmileError(Exception):
    """A failure the Smile views decide on themselves (auth, unknown ids, bad tokens)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_body(message: str) -> dict[str, dict[str, str]]:
    return {"error": {"message": message}}


def _status_and_message(exc: Exception) -> tuple[int, str, dict[str, str]] | None:
    headers: dict[str, str] = {}
    if isinstance(exc, SmileError):
        return exc.status, exc.message, headers
    if isinstance(exc, ParseError):
        if exc.problem == "body":  # "request body is not valid JSON" -> "Request ... JSON."
            return 400, exc.message[:1].upper() + exc.message[1:] + ".", headers
        return 400, exc.message, headers
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, round(exc.retry_after + 0.5)))
        return 429, TOO_MANY_REQUESTS, headers
    if isinstance(exc, core.LoyaltyError):
        return (*_core_status(exc), headers)
    if isinstance(exc, RouteNotFound):
        return 404, NOT_FOUND, headers
    if isinstance(exc, MethodNotAllowed):
        return 405, METHOD_NOT_ALLOWED, headers
    if isinstance(exc, HTTPException):
        return exc.code or 400, exc.name + ".", headers
    return None


def _core_status(exc: core.LoyaltyError) -> tuple[int, str]:
    if isinstance(exc, core.NotFound):
        return 404, NOT_FOUND_BY_KIND.get(exc.kind, NOT_FOUND)
    if isinstance(exc, core.InvalidArgument):
        return 400, exc.message
    if isinstance(exc, core.InsufficientPoints):
        return 402, NOT_ENOUGH_POINTS
    if isinstance(exc, core.PoolExhausted | core.OfferInactive):
        return 402, REWARD_UNAVAILABLE
    if isinstance(exc, core.MemberDisabled):
        return 402, CUSTOMER_DISABLED
    if isinstance(exc, core.CapReached):
        return 402, EARNING_LIMIT_REACHED
    if isinstance(exc, core.TierNotEligible):
        return 402, TIER_NOT_ELIGIBLE
    return 402, REQUEST_FAILED.format(detail=exc.message)


def render_error(request: Request, exc: Exception) -> Response | None:
    """The Smile response for any failure we know; None lets a bug surface as a 500."""
    found = _status_and_message(exc)
    if found is None:
        return None
    status, message, headers = found
    return json_response(error_body(message), status, headers)
