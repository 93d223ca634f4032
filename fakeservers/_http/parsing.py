"""Request body and parameter readers that never let bad input become a 500.

Every reader raises `ParseError` naming the field, so each vendor renders the failure in
its own format. Readers accept JSON values and query-string / form strings alike.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.wrappers import Request

from fakeservers._http.errors import ParseError

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
    "read_object",
    "read_str",
    "utf8_safe",
]

_MISSING: Any = object()
_INTEGER = re.compile(r"[+-]?[0-9]{1,30}")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def utf8_safe(value: Any) -> bool:
    """False when a decoded JSON value holds a lone surrogate (JSON may spell `"\\ud800"`),
    which no UTF-8 response could ever carry back."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(utf8_safe(key) and utf8_safe(item) for key, item in value.items())
    if isinstance(value, list):
        return all(utf8_safe(item) for item in value)
    return True


def json_object(request: Request, *, empty_ok: bool = True) -> dict[str, Any]:
    """Decode the body as a JSON object; an empty body is `{}` when `empty_ok`."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if empty_ok:
            return {}
        raise ParseError(None, "body", "request body is empty")
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ParseError(None, "body", "request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ParseError(None, "body", "request body must be a JSON object")
    if _SURROGATE_ESCAPE.search(raw) and not utf8_safe(value):
        raise ParseError(None, "body", "request body holds a lone surrogate (\\uD800 to \\uDFFF)")
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
) -> str | None:
    label = label or name
    value = _get(source, name, required, label)
    if value is _MISSING:
        return None
    if not isinstance(value, str):
        raise _invalid(label, "a string")
    if choices is not None and value not in choices:
        raise _invalid(label, "one of " + ", ".join(choices))
    return value


def read_identifier(
    source: Mapping[str, Any], name: str, *, required: bool = False, label: str | None = None
) -> str | None:
    """An external identifier: a string, or an integer taken as its decimal string
    (shops send order and customer ids both ways)."""
    value = source.get(name) if isinstance(source, Mapping) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return read_str(source, name, required=required, label=label)


def read_int(
    source: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
    label: str | None = None,
) -> int | None:
    """An integer from an int, an integral float, or a string of digits (never a bool)."""
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
    if minimum is not None and number < minimum:
        raise _invalid(label, f"at least {minimum}")
    if maximum is not None and number > maximum:
        raise _invalid(label, f"at most {maximum}")
    return number


def read_decimal(
    source: Mapping[str, Any], name: str, *, required: bool = False, label: str | None = None
) -> Decimal | None:
    """A finite Decimal from a JSON number or a numeric string (floats go through str)."""
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
    if not number.is_finite():
        raise _invalid(label, "a finite number")
    return number


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
    label = label or name
    value = _get(source, name, required, label)
    if value is _MISSING:
        return None
    if not isinstance(value, dict):
        raise _invalid(label, "an object")
    return value
