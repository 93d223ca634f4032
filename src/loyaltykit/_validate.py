"""Small argument checks shared by every command; each names the offending field.

The bounds are those of `loyaltykit.limits`. A refused value is never printed whole: a
huge integer cannot even be turned into text (Python refuses past 4,300 digits), so
messages show a short form (`shown`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from loyaltykit.clock import MAX_LIFETIME, ensure_utc
from loyaltykit.errors import InvalidArgument
from loyaltykit.limits import (
    MAX_CODE,
    MAX_MONEY,
    MAX_MONEY_PLACES,
    MAX_MULTIPLIER,
    MAX_MULTIPLIER_PLACES,
    MAX_POINTS,
    MAX_TEXT,
    MAX_TOTAL_POINTS,
)

_SHOWN = 60
"""Characters of a refused value a message shows."""


def shown(value: object) -> str:
    """A short, always printable form of any value, for error messages."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        digits = int(value.bit_length() * 0.30103) + 1
        return f"{'-' if value < 0 else ''}an integer of about {digits:,} digits"
    if isinstance(value, str) and len(value) > _SHOWN:
        return f"{value[:_SHOWN]!r}... ({len(value):,} characters)"
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        return f"a {type(value).__name__}"
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({type(value).__name__})"


def points(
    value: object,
    field: str = "points",
    *,
    allow_zero: bool = False,
    allow_negative: bool = False,
    bound: int = MAX_POINTS,
) -> int:
    """An integer number of points within +-`bound` (bool is refused: True is not one
    point)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(field, f"{field} must be an integer, got {shown(value)}")
    if value == 0 and not allow_zero:
        raise InvalidArgument(field, f"{field} must not be zero")
    if value < 0 and not allow_negative:
        raise InvalidArgument(field, f"{field} must not be negative, got {shown(value)}")
    if abs(value) > bound:
        raise InvalidArgument(
            field, f"{field} must be at most {bound:,} in size, got {shown(value)}"
        )
    return value


def total(current: int, added: int, field: str, whose: str) -> None:
    """Refuse a change that would take a running total past `MAX_TOTAL_POINTS`."""
    if current + added > MAX_TOTAL_POINTS:
        raise InvalidArgument(
            field,
            f"{field}: {added:,} more would take {whose} to {current + added:,}, past the "
            f"limit of {MAX_TOTAL_POINTS:,}",
        )


def _decimal(value: object, field: str) -> Decimal:
    """A finite Decimal from a Decimal, int or numeric string; floats are refused because
    they cannot hold cents exactly."""
    if isinstance(value, bool | float) or not isinstance(value, Decimal | int | str):
        raise InvalidArgument(field, f"{field} must be a Decimal or int, got {shown(value)}")
    if isinstance(value, int) and value.bit_length() > 128:  # past every bound
        raise InvalidArgument(field, f"{field} is out of range: {shown(value)}")
    if isinstance(value, str) and len(value) > 64:
        raise InvalidArgument(field, f"{field} is not a number: {shown(value)}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, ValueError):
        raise InvalidArgument(field, f"{field} is not a number: {shown(value)}") from None
    if not amount.is_finite():
        raise InvalidArgument(field, f"{field} must be finite, got {shown(value)}")
    return amount


def _places(amount: Decimal, most: int, field: str) -> None:
    """Refuse more than `most` decimal places (trailing zeros do not count)."""
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # finite
    for digit in reversed(digits):
        if digit or exponent >= -most:
            break
        exponent += 1  # a trailing zero after the point
    if exponent < -most:
        raise InvalidArgument(
            field, f"{field} has more than {most} decimal places: {shown(amount)}"
        )


def money(
    value: object,
    field: str = "amount",
    *,
    allow_negative: bool = False,
    bound: Decimal = MAX_MONEY,
) -> Decimal:
    """An amount of money: finite, below `bound` in size (`MAX_MONEY` unless said), at most
    `MAX_MONEY_PLACES` decimal places."""
    amount = _decimal(value, field)
    if amount < 0 and not allow_negative:
        raise InvalidArgument(field, f"{field} must not be negative, got {amount}")
    if abs(amount) >= bound:
        raise InvalidArgument(
            field, f"{field} must be below {bound:,} in size, got {shown(amount)}"
        )
    _places(amount, MAX_MONEY_PLACES, field)
    return amount


def threshold(value: object, field: str = "threshold") -> Decimal:
    """A tier threshold: a running total of points or money, so within `MAX_TOTAL_POINTS`."""
    return money(value, field, bound=Decimal(MAX_TOTAL_POINTS) + 1)


def multiplier(value: object, field: str = "multiplier") -> Decimal:
    """An earning multiplier: finite, 0 to `MAX_MULTIPLIER`, at most
    `MAX_MULTIPLIER_PLACES` decimal places (NaN and 1e999999 are refused)."""
    amount = _decimal(value, field)
    if not 0 <= amount <= MAX_MULTIPLIER:
        raise InvalidArgument(
            field, f"{field} must be between 0 and {MAX_MULTIPLIER}, got {shown(amount)}"
        )
    _places(amount, MAX_MULTIPLIER_PLACES, field)
    return amount


def moment(value: object, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidArgument(field, f"{field} must be a datetime, got {shown(value)}")
    return ensure_utc(value, field)


def optional_moment(value: object, field: str) -> datetime | None:
    return None if value is None else moment(value, field)


def duration(value: object, field: str) -> timedelta | None:
    if value is None:
        return None
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise InvalidArgument(field, f"{field} must be a positive timedelta, got {shown(value)}")
    if value > MAX_LIFETIME:
        raise InvalidArgument(
            field, f"{field} must be at most {MAX_LIFETIME.days} days (a century), got {value}"
        )
    return value


def text(value: object, field: str, *, required: bool = False, bound: int = MAX_TEXT) -> str:
    """A string of at most `bound` characters (`MAX_TEXT` unless said)."""
    if not isinstance(value, str):
        raise InvalidArgument(field, f"{field} must be a string, got {shown(value)}")
    if len(value) > bound:
        raise InvalidArgument(
            field, f"{field} must be at most {bound:,} characters, got {len(value):,}"
        )
    if required and not value.strip():
        raise InvalidArgument(field, f"{field} must not be empty")
    return value


def code(value: object, field: str) -> str:
    """A code or key (coupon code, idempotency key, order id): non-empty, at most
    `MAX_CODE` characters."""
    return text(value, field, required=True, bound=MAX_CODE)


def optional_text(value: object, field: str, *, bound: int = MAX_TEXT) -> str | None:
    return None if value is None else text(value, field, required=True, bound=bound)
