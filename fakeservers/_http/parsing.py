"""Request body and parameter readers that never let bad input become a 500.

Every reader raises `ParseError` naming the field, so each vendor renders the failure in
its own format. Readers accept JSON values and query-string / form strings alike, and hold
every value to `loyaltykit.limits` (see `fakeservers._http.bounds`): text to `MAX_TEXT`
characters (codes and keys to `MAX_CODE`), integers to `MAX_INTEGER` either side of zero
unless the field says less, points to `MAX_POINTS`, money to `MAX_MONEY_DIGITS` digits and
`MAX_MONEY_PLACES` places, multipliers to `MAX_MULTIPLIER`, free-form objects to
`MAX_METADATA_BYTES` and `MAX_DEPTH` levels. JSON bodies go through `strictjson`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.wrappers import Request

from fakeservers._http import strictjson
from fakeservers._http.bounds import (
    decimal_problem,
    integer_problem,
    metadata_problem,
    text_problem,
)
from fakeservers._http.errors import ParseError
from loyaltykit.limits import (
    MAX_CODE,
    MAX_DEPTH,
    MAX_MONEY_DIGITS,
    MAX_MONEY_PLACES,
    MAX_MULTIPLIER,
    MAX_MULTIPLIER_PLACES,
    MAX_POINTS,
    MAX_TEXT,
)

__all__ = [
    "body_object",
    "form_object",
    "json_object",
    "read_bool",
    "read_date",
    "read_datetime",
    "read_decimal",
    "read_identifier",
    "read_int",
    "read_metadata",
    "read_money",
    "read_multiplier",
    "read_object",
    "read_points",
    "read_str",
]

_MISSING: Any = object()
_INTEGER = re.compile(r"[+-]?[0-9]{1,30}")
_DECIMAL_DIGITS = 16
"""Digits before the point of a number that is neither money nor a multiplier (a tier
milestone in points, seconds of clock travel): enough for `MAX_TOTAL_POINTS`."""


def json_object(
    request: Request, *, empty_ok: bool = True, max_depth: int = MAX_DEPTH
) -> dict[str, Any]:
    """Decode the body as a JSON object (strictly, at most `max_depth` levels deep); an
    empty body is `{}` when `empty_ok`."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if empty_ok:
            return {}
        raise ParseError(None, "body", "request body is empty")
    try:
        value = strictjson.loads(raw, max_depth=max_depth)
    except strictjson.JSONRefused as refused:
        raise ParseError(None, "body", f"request body is {refused}") from None
    if not isinstance(value, dict):
        raise ParseError(None, "body", "request body must be a JSON object")
    return value


def form_object(request: Request) -> dict[str, Any]:
    """Decode a form body (urlencoded or multipart), keeping the first value of each key."""
    return {key: request.form.get(key) for key in request.form}


def body_object(request: Request) -> dict[str, Any]:
    """JSON when the content type says so (or the body looks like JSON), else form fields."""
    mimetype = request.mimetype or ""
    if mimetype == "application/json" or mimetype.endswith("+json"):
        return json_object(request)
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return form_object(request)
    raw = request.get_data(cache=True).lstrip()
    if raw[:1] == b"{":
        return json_object(request)
    return form_object(request) if raw else {}


def _get(source: Mapping[str, Any], name: str, required: bool, label: str) -> Any:
    value = source.get(name, _MISSING) if isinstance(source, Mapping) else _MISSING
    if value is _MISSING or value is None or value == "":
        if required:
            raise ParseError(label, "missing", f"{label} is required")
        return _MISSING
    return value


def _invalid(label: str, what: str) -> ParseError:
    return ParseError(label, "invalid", f"{label} must be {what}")


def read_str(
    source: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    choices: Sequence[str] | None = None,
    label: str | None = None,
    max_length: int = MAX_TEXT,
) -> str | None:
    """A string of at most `max_length` characters (`MAX_TEXT` unless the field says)."""
    label = label or name
    value = _get(source, name, required, label)
    if value is _MISSING:
        return None
    if not isinstance(value, str):
        raise _invalid(label, "a string")
    if choices is not None and value not in choices:
        raise _invalid(label, "one of " + ", ".join(choices))
    problem = text_problem(value, max_length)
    if problem is not None:
        raise _invalid(label, problem)
    return value


def read_identifier(
    source: Mapping[str, Any], name: str, *, required: bool = False, label: str | None = None
) -> str | None:
    """An external identifier of at most `MAX_CODE` characters: a string, or an integer
    taken as its decimal string (shops send order and customer ids both ways)."""
    value = source.get(name) if isinstance(source, Mapping) else None
    if isinstance(value, int) and not isinstance(value, bool):
        problem = integer_problem(value)
        if problem is not None:
            raise _invalid(label or name, problem)
        return str(value)
    return read_str(source, name, required=required, label=label, max_length=MAX_CODE)


def read_int(
    source: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
    label: str | None = None,
) -> int | None:
    """An integer from an int, an integral float, or a string of digits (never a bool),
    within [minimum, maximum] (by default `MAX_INTEGER` either side of zero)."""
    label = label or name
    value = _get(source, name, required, label)
    if value is _MISSING:
        return None
    number: int
    if isinstance(value, bool):
        raise _invalid(label, "an integer")
    if isinstance(value, int):
        number = value
    elif (isinstance(value, float) and math.isfinite(value) and value.is_integer()) or (
        isinstance(value, str) and _INTEGER.fullmatch(value.strip())
    ):
        number = int(value)
    else:
        raise _invalid(label, "an integer")
    problem = integer_problem(number, minimum=minimum, maximum=maximum)
    if problem is not None:
        raise _invalid(label, problem)
    return number


def read_points(
    source: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    minimum: int = -MAX_POINTS,
    label: str | None = None,
) -> int | None:
    """An amount of points: an integer from `minimum` to `MAX_POINTS`."""
    return read_int(
        source, name, required=required, minimum=minimum, maximum=MAX_POINTS, label=label
    )


def read_decimal(
    source: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    label: str | None = None,
    digits: int = _DECIMAL_DIGITS,
    places: int = MAX_MONEY_PLACES,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
) -> Decimal | None:
    """A finite Decimal from a JSON number or a numeric string (floats go through str),
    with at most `digits` digits before the point and `places` after, within
    [minimum, maximum]; its size is checked before anything computes with it."""
    label = label or name
    value = _get(source, name, required, label)
    if value is _MISSING:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _invalid(label, "a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _invalid(label, "a number") from None
    problem = decimal_problem(
        number, digits=digits, places=places, minimum=minimum, maximum=maximum
    )
    if problem is not None:
        raise _invalid(label, problem)
    return number


def read_money(
    source: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    label: str | None = None,
    minimum: Decimal | None = None,
) -> Decimal | None:
    """An amount of money: `MAX_MONEY_DIGITS` digits before the point, `MAX_MONEY_PLACES`
    after (negative amounts allowed unless `minimum` says otherwise)."""
    return read_decimal(
        source, name, required=required, label=label,
        digits=MAX_MONEY_DIGITS, places=MAX_MONEY_PLACES, minimum=minimum,
    )  # fmt: skip


def read_multiplier(
    source: Mapping[str, Any], name: str, *, required: bool = False, label: str | None = None
) -> Decimal | None:
    """An earning multiplier: from 0 to `MAX_MULTIPLIER`, `MAX_MULTIPLIER_PLACES` places."""
    return read_decimal(
        source, name, required=required, label=label, places=MAX_MULTIPLIER_PLACES,
        minimum=Decimal(0), maximum=MAX_MULTIPLIER,
    )  # fmt: skip


def read_bool(
    source: Mapping[str, Any], name: str, *, required: bool = False, label: str | None = None
) -> bool | None:
    label = label or name
    value = _get(source, name, required, label)
    if value is _MISSING:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    raise _invalid(label, "a boolean")


def read_datetime(
    source: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    label: str | None = None,
    blank_ok: bool = True,
) -> datetime | None:
    """An ISO-8601 date-time; a missing offset means UTC, as the vendors' examples do.
    `blank_ok=False` refuses a present but blank value (a query filter such as
    `updated_at_min=` is a malformed date, not no filter)."""
    label = label or name
    if not blank_ok and isinstance(source, Mapping):
        given = source.get(name)
        if isinstance(given, str) and not given.strip():
            raise _invalid(label, "an ISO-8601 date-time")
    value = _get(source, name, required, label)
    if value is _MISSING:
        return None
    if not isinstance(value, str):
        raise _invalid(label, "an ISO-8601 date-time")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _invalid(label, "an ISO-8601 date-time") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-23:59 lies past the calendar in UTC
        raise _invalid(label, "an ISO-8601 date-time within years 1 to 9999 in UTC") from None


def read_date(
    source: Mapping[str, Any], name: str, *, required: bool = False, label: str | None = None
) -> date | None:
    label = label or name
    value = _get(source, name, required, label)
    if value is _MISSING:
        return None
    if not isinstance(value, str):
        raise _invalid(label, "a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise _invalid(label, "a date (YYYY-MM-DD)") from None


def read_object(
    source: Mapping[str, Any], name: str, *, required: bool = False, label: str | None = None
) -> dict[str, Any] | None:
    """A JSON object (the caller reads its fields with these same readers)."""
    label = label or name
    value = _get(source, name, required, label)
    if value is _MISSING:
        return None
    if not isinstance(value, dict):
        raise _invalid(label, "an object")
    return value


def read_metadata(
    source: Mapping[str, Any], name: str, *, required: bool = False, label: str | None = None
) -> dict[str, Any] | None:
    """A free-form JSON object kept as given (Smile's `properties`): at most
    `MAX_METADATA_BYTES` once written as JSON and `MAX_DEPTH` levels deep."""
    value = read_object(source, name, required=required, label=label)
    if value is not None:
        problem = metadata_problem(value)
        if problem is not None:
            raise _invalid(label or name, problem)
    return value
