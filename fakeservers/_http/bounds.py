"""The range checks behind every number, text and free-form value the fakes accept.

Each check returns None for a value within `loyaltykit.limits`' bounds, else what the value
must be ("a number of at most 12 digits before the decimal point"), so each door words the
refusal its own way: a `ParseError` (Smile and the control plane), the vendor's reason
(ShopSocially), a `SeedError` (seed files). Decimals are checked by their exponent before
anything converts them: `1e800000` is refused at once instead of costing seconds of CPU.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fakeservers._http.strictjson import JSONRefused, check, dumps
from loyaltykit.limits import (
    MAX_DEPTH,
    MAX_METADATA_BYTES,
    MAX_MONEY_DIGITS,
    MAX_MONEY_PLACES,
    MAX_TEXT,
    MAX_TOTAL_POINTS,
)

__all__ = [
    "MAX_INTEGER",
    "decimal_problem",
    "integer_problem",
    "metadata_problem",
    "text_problem",
]

MAX_INTEGER = MAX_TOTAL_POINTS
"""The bound of any integer a fake reads (ids, limits, counts, points totals): 2**53 - 1,
exact in every JSON reader, whatever tighter bound the field itself has."""


def decimal_problem(
    number: Decimal,
    *,
    digits: int = MAX_MONEY_DIGITS,
    places: int = MAX_MONEY_PLACES,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
) -> str | None:
    """None when `number` is finite, has at most `digits` digits before the point and
    `places` after, and lies within [minimum, maximum]."""
    if not number.is_finite():
        return "a finite number"
    if number.is_zero():
        number = Decimal(0)  # 0E+800000 is a plain zero
    if number.adjusted() >= digits:
        return f"a number of at most {digits} digits before the decimal point"
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite numbers have an integer exponent
    if -exponent > places:
        exponent = number.normalize().as_tuple().exponent  # 1.50000000 has 2 places
        assert isinstance(exponent, int)
        if -exponent > places:
            return f"a number with at most {places} decimal places"
    return _range_problem(number, minimum, maximum)


def integer_problem(
    number: int, *, minimum: int | None = None, maximum: int | None = None
) -> str | None:
    """None when `number` lies within [minimum, maximum] (each defaulting to the bound of
    every integer, `MAX_INTEGER` either side of zero)."""
    low = -MAX_INTEGER if minimum is None else minimum
    high = MAX_INTEGER if maximum is None else maximum
    return _range_problem(number, low, high)


def _range_problem(number: Any, minimum: Any, maximum: Any) -> str | None:
    if minimum is not None and number < minimum:
        return f"at least {minimum}"
    if maximum is not None and number > maximum:
        return f"at most {maximum}"
    return None


def text_problem(text: str, max_length: int = MAX_TEXT) -> str | None:
    if len(text) > max_length:
        return f"at most {max_length} characters"
    return None


def metadata_problem(
    value: Any, *, max_bytes: int = MAX_METADATA_BYTES, max_depth: int = MAX_DEPTH
) -> str | None:
    """None when `value` is JSON data (finite numbers, no lone surrogate) at most
    `max_depth` levels deep and `max_bytes` long once written as JSON."""
    try:
        check(value, max_depth=max_depth)
    except JSONRefused as refused:
        return f"JSON data ({refused})"
    if len(dumps(value).encode("utf-8")) > max_bytes:
        return f"at most {max_bytes} bytes once written as JSON"
    return None
