"""Typed failures raised by the shared plumbing; each vendor renders them in its own format."""

from __future__ import annotations

__all__ = ["Conflict", "ParseError", "PlumbingError", "RateLimited", "UnknownTenant"]


class PlumbingError(Exception):
    """Base of the errors raised by `fakeservers._http` (never a vendor body by itself)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ParseError(PlumbingError):
    """A request body or parameter could not be read.

    `field` names the parameter (None when the whole body is unreadable) and `problem` is
    one of "missing", "invalid" or "body", so a vendor can word its own message.
    """

    def __init__(self, field: str | None, problem: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.problem = problem


class RateLimited(PlumbingError):
    """The caller's leaky bucket is full; `retry_after` is in seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("rate limit exceeded")
        self.retry_after = retry_after


class UnknownTenant(PlumbingError):
    """No tenant has this name (control plane only; unknown credentials are a vendor 401)."""


class Conflict(PlumbingError):
    """A tenant name or credential is already taken (control plane only)."""
