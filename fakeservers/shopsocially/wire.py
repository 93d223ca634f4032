"""ShopSocially's wire formats: dates, timestamps, numbers, booleans and status lists.

Pure functions from strings to values (raising `ApiError` with the vendor's reason) and
from values to the strings the vendor prints. Month names are always English, never
locale-dependent, so output does not change with the host's settings.
"""

from __future__ import annotations

import calendar
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from fakeservers._http.bounds import decimal_problem, integer_problem
from fakeservers.shopsocially import errors
from loyaltykit.limits import MAX_MULTIPLIER, MAX_MULTIPLIER_PLACES, MAX_POINTS

__all__ = [
    "day_end_exclusive",
    "day_of_end",
    "day_start",
    "decimal_to_wire",
    "format_day",
    "format_time",
    "next_month",
    "parse_bool",
    "parse_coupon_expiry",
    "parse_decimal",
    "parse_int",
    "parse_multiplier",
    "parse_query_date",
    "parse_status_list",
]

_MONTHS = tuple(calendar.month_abbr)[1:]  # fixed English list, independent of locale
_MONTH_INDEX = {name.lower(): number for number, name in enumerate(_MONTHS, start=1)}
_QUERY_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})-([A-Za-z]{3})-(\d{4})$")
_INTEGER_DIGITS = 16
"""Digits of an integer parameter, checked before it is converted (`1e999999999` is
finite, but turning it into an int would take minutes); `parse_int` then applies the
field's own bound."""
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


def format_time(moment: datetime | None) -> str | None:
    """`14-Jan-2016 06:33:22` (UTC), the response timestamp of the primary docs."""
    if moment is None:
        return None
    if moment.tzinfo is not UTC:  # the core's times are UTC already
        moment = moment.astimezone(UTC)
    # %-formatting: cheaper than the equivalent f-string with format specs
    return "%02d-%s-%04d %02d:%02d:%02d" % (  # noqa: UP031
        moment.day, _MONTHS[moment.month - 1], moment.year,
        moment.hour, moment.minute, moment.second,
    )


def format_day(day: date | None) -> str | None:
    """`10-Apr-2016`, the `coupon_expiry` format."""
    if day is None:
        return None
    return f"{day.day:02d}-{_MONTHS[day.month - 1]}-{day.year:04d}"


def _make_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise errors.ApiError(400, errors.UNEXPECTED_DATE_FORMAT) from None


def parse_query_date(text: str) -> date:
    """`MM/DD/YYYY` (from_date, to_date); anything else is an `unexpected date format`."""
    found = _QUERY_DATE.match(text.strip())
    if found is None:
        raise errors.ApiError(400, errors.UNEXPECTED_DATE_FORMAT)
    month, day, year = (int(part) for part in found.groups())
    return _make_date(year, month, day)


def parse_coupon_expiry(text: str) -> date:
    """`DD-MMM-YYYY` as the parameter tables say; `MM/DD/YYYY` too, as one example shows."""
    cleaned = text.strip()
    found = _DAY_MONTH_YEAR.match(cleaned)
    if found is None:
        return parse_query_date(cleaned)
    day_text, month_name, year_text = found.groups()
    month = _MONTH_INDEX.get(month_name.lower())
    if month is None:
        raise errors.ApiError(400, errors.UNEXPECTED_DATE_FORMAT)
    return _make_date(int(year_text), month, int(day_text))


def day_start(day: date) -> datetime:
    """The first instant of a UTC calendar day."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def day_end_exclusive(day: date) -> datetime:
    """The first instant after a UTC calendar day: date ranges include the whole `to_date`.

    31-Dec-9999 has no day after it; its end is the last representable instant."""
    if day == date.max:
        return datetime.max.replace(tzinfo=UTC)
    return day_start(day) + timedelta(days=1)


def day_of_end(end: datetime) -> date:
    """The calendar day `day_end_exclusive` came from (inverse, also for 31-Dec-9999)."""
    return (end.astimezone(UTC) - timedelta(microseconds=1)).date()


def next_month(moment: datetime) -> datetime:
    """The same day and time one calendar month later, clamped to the month's last day."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    last_day = calendar.monthrange(year, month)[1]
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def parse_int(value: Any, *, minimum: int | None = None, maximum: int = MAX_POINTS) -> int:
    """An integer from a form string or JSON number; `12.0` is fine, `12.5` and `abc` are
    not; within [minimum, maximum] (`MAX_POINTS` unless the field says otherwise)."""
    if isinstance(value, bool):
        raise errors.ApiError(400, errors.INVALID_PARAMETERS)
    number = _decimal(value)
    if number.adjusted() >= _INTEGER_DIGITS or number != number.to_integral_value():
        raise errors.ApiError(400, errors.INVALID_PARAMETERS)
    result = int(number)
    if integer_problem(result, minimum=minimum, maximum=maximum) is not None:
        raise errors.ApiError(400, errors.INVALID_PARAMETERS)
    return result


def parse_decimal(value: Any, *, minimum: Decimal | None = None) -> Decimal:
    """An amount of money (floats go through `str`, never binary): at most
    `MAX_MONEY_DIGITS` digits before the point and `MAX_MONEY_PLACES` after."""
    return _bounded(_decimal(value), minimum=minimum)


def parse_multiplier(value: Any) -> Decimal:
    """A bonus multiplier: from 0 to `MAX_MULTIPLIER`, `MAX_MULTIPLIER_PLACES` places."""
    return _bounded(
        _decimal(value), places=MAX_MULTIPLIER_PLACES, minimum=Decimal(0), maximum=MAX_MULTIPLIER
    )


def _bounded(number: Decimal, **bounds: Any) -> Decimal:
    if decimal_problem(number, **bounds) is not None:
        raise errors.ApiError(400, errors.INVALID_PARAMETERS)
    return number


def _decimal(value: Any) -> Decimal:
    """A finite Decimal from a string or JSON number (`$5`, `1,000` and ` 7 ` included)."""
    if isinstance(value, bool) or value is None:
        raise errors.ApiError(400, errors.INVALID_PARAMETERS)
    text = str(value).strip().replace(",", "")
    if text.startswith("$"):
        text = text[1:]
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise errors.ApiError(400, errors.INVALID_PARAMETERS) from None
    if not number.is_finite():
        raise errors.ApiError(400, errors.INVALID_PARAMETERS)
    return number


def parse_bool(value: Any) -> bool:
    """`true`/`false` in any case (the docs' curl sends `False`), JSON booleans, 1/0."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise errors.ApiError(400, errors.INVALID_PARAMETERS)


def parse_status_list(value: Any) -> list[str]:
    """`points_status`: a JSON list (`["approved","pending"]`), the 2017 page's Python-style
    `['approved']`, a JSON list in a JSON body, or a bare / comma-separated string."""
    if isinstance(value, list):
        items: list[Any] = value
    else:
        text = str(value).strip()
        if text.startswith("["):
            try:
                loaded = json.loads(text.replace("'", '"'))
            except ValueError:
                raise errors.ApiError(400, errors.INVALID_PARAMETERS) from None
            if not isinstance(loaded, list):
                raise errors.ApiError(400, errors.INVALID_PARAMETERS)
            items = loaded
        else:
            items = [part for part in text.split(",")]
    statuses = [str(item).strip() for item in items if str(item).strip()]
    if any(not isinstance(item, str) for item in items):
        raise errors.ApiError(400, errors.INVALID_PARAMETERS)
    return statuses


def decimal_to_wire(number: Decimal) -> int | float | str:
    """Multipliers and values print as JSON numbers (`2`, `2.5`), never as binary-rounded text."""
    if number == number.to_integral_value():
        return int(number)
    return float(number) if len(number.as_tuple().digits) <= 15 else str(number)
