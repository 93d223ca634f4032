"""Small argument checks shared by every command; each names the offending field."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from loyaltykit.clock import MAX_LIFETIME, ensure_utc
from loyaltykit.errors import InvalidArgument


def points(
    value: object, field: str = "points", *, allow_zero: bool = False, allow_negative: bool = False
) -> int:
    """An integer number of points (bool is refused: True is not one point)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(field, f"{field} must be an integer, got {value!r}")
    if value == 0 and not allow_zero:
        raise InvalidArgument(field, f"{field} must not be zero")
    if value < 0 and not allow_negative:
        raise InvalidArgument(field, f"{field} must not be negative, got {value}")
    return value


def money(value: object, field: str = "amount", *, allow_negative: bool = False) -> Decimal:
    """A finite Decimal; floats are refused because they cannot hold cents exactly."""
    if isinstance(value, bool | float):
        raise InvalidArgument(field, f"{field} must be a Decimal or int, got {value!r}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(value)  # type: ignore[arg-type]
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidArgument(field, f"{field} is not a number: {value!r}") from None
    if not amount.is_finite():
        raise InvalidArgument(field, f"{field} must be finite, got {value!r}")
    if amount < 0 and not allow_negative:
        raise InvalidArgument(field, f"{field} must not be negative, got {amount}")
    return amount


def moment(value: object, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidArgument(field, f"{field} must be a datetime, got {value!r}")
    return ensure_utc(value, field)


def optional_moment(value: object, field: str) -> datetime | None:
    return None if value is None else moment(value, field)


def duration(value: object, field: str) -> timedelta | None:
    if value is None:
        return None
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise InvalidArgument(field, f"{field} must be a positive timedelta, got {value!r}")
    if value > MAX_LIFETIME:
        raise InvalidArgument(
            field, f"{field} must be at most {MAX_LIFETIME.days} days (a century), got {value}"
        )
    return value


def text(value: object, field: str, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidArgument(field, f"{field} must be a string, got {value!r}")
    if required and not value.strip():
        raise InvalidArgument(field, f"{field} must not be empty")
    return value


def optional_text(value: object, field: str) -> str | None:
    return None if value is None else text(value, field, required=True)
