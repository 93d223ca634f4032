"""The checks a seed document passes, whole, before any tenant is touched.

A seed document is arbitrary input (a file on the command line, a `POST /_fake/seed`), but
the core replays journal events as facts already decided, without validation. So before
anything is replayed for real, every part of the document is checked here:

* its shape: known keys only (a misspelled `"smlie"` section or `"nmae"` key is an error,
  not silently ignored), the types of every field, unique tenant names and credentials;
* every value inside each journal event, once structured into the core's event objects:
  numbers finite and within `loyaltykit.limits` (no `NaN` or `1e999999` multiplier), text
  within `MAX_TEXT`, metadata within `MAX_METADATA_BYTES` and `MAX_DEPTH`, lifetimes
  within a century, instants where the core's clock can reach them;

then `seedfile` replays each tenant on a scratch clock and audits it. Every failure is a
`SeedError` naming the tenant and the place (`tenant 'demo': journal[3].rule.multiplier
must be a finite number`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from fakeservers._http.bounds import decimal_problem, integer_problem, metadata_problem
from fakeservers._http.tenants import MAX_TENANT_CREDENTIALS, Credential
from loyaltykit.clock import EARLIEST, LATEST, MAX_LIFETIME
from loyaltykit.limits import MAX_CODE, MAX_DEPTH, MAX_MONEY_PLACES, MAX_TEXT

__all__ = [
    "SEED_DEPTH",
    "SeedError",
    "check_keys",
    "check_values",
    "read_credentials",
    "require",
]

SEED_DEPTH = MAX_DEPTH + 16
"""Nesting levels of a seed document: a tenant's metadata (`MAX_DEPTH` levels of its own)
sits about ten levels down, under the vendor, tenant, program, journal and event."""
LATEST_INSTANT = LATEST + MAX_LIFETIME
"""The latest instant an event may hold (an expiry a century after the clock's latest)."""
_NUMBER_DIGITS = 16
"""Digits before the point of any decimal an event holds (money, multipliers, thresholds)."""


class SeedError(ValueError):
    """The document is not a usable seed file."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise SeedError(message)


def check_keys(value: Any, allowed: Iterable[str], where: str) -> Mapping[str, Any]:
    """`value` as an object holding only `allowed` keys."""
    require(isinstance(value, Mapping), f"{where} must be an object")
    unknown = sorted(str(key) for key in value if key not in set(allowed))
    require(
        not unknown,
        f"{where} has unknown key(s) {', '.join(map(repr, unknown))}; "
        f"known: {', '.join(sorted(allowed))}",
    )
    return value  # type: ignore[no-any-return]


def _credential(value: Any, where: str) -> Credential:
    parts = value if isinstance(value, list) else [value]
    require(
        bool(parts)
        and len(parts) <= 4
        and all(isinstance(part, str) and 0 < len(part) <= MAX_CODE for part in parts),
        f"{where} must be a key (a string of 1 to {MAX_CODE} characters) or a list of "
        "such strings",
    )
    return value if isinstance(value, str) else tuple(parts)


def read_credentials(value: Any, where: str) -> dict[Credential, str]:
    """A tenant's `credentials`: keys, or `{"key": ..., "kind": ...}` objects."""
    require(
        isinstance(value, list) and len(value) <= MAX_TENANT_CREDENTIALS,
        f"{where} must be a list of at most {MAX_TENANT_CREDENTIALS} credentials",
    )
    found: dict[Credential, str] = {}
    for index, item in enumerate(value):
        place = f"{where}[{index}]"
        if isinstance(item, Mapping):
            check_keys(item, ("key", "kind"), place)
            key = _credential(item.get("key"), f"{place}.key")
            kind = item.get("kind", "secret")
            require(
                isinstance(kind, str) and 0 < len(kind) <= MAX_CODE,
                f"{place}.kind must be a string of 1 to {MAX_CODE} characters",
            )
        else:
            key, kind = _credential(item, place), "secret"
        require(key not in found, f"{place} repeats a key")
        found[key] = kind
    return found


def check_values(value: Any, where: str) -> None:
    """Every value inside `value` (a structured event, or vendor data built from the
    document) within the bounds the module docstring lists; without recursion."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, place = stack.pop()
        problem = _problem(item)
        if problem is not None:
            raise SeedError(f"{place} must be {problem}")
        if isinstance(item, enum.Enum | str | bytes):
            continue
        if attrs.has(type(item)):
            stack.extend(
                (getattr(item, field.name), f"{place}.{field.name.lstrip('_')}")
                for field in attrs.fields(type(item))
            )
        elif isinstance(item, Mapping) and not _is_metadata(item):  # metadata: checked whole
            stack.extend((key, f"{place} key") for key in item)
            stack.extend((inner, f"{place}[{key!r}]") for key, inner in item.items())
        elif isinstance(item, tuple | list | frozenset | set):
            stack.extend((inner, f"{place}[{index}]") for index, inner in enumerate(item))


def _problem(item: Any) -> str | None:
    """What `item` must be, if it is out of bounds (containers: metadata only)."""
    if isinstance(item, bool) or item is None or isinstance(item, enum.Enum):
        return None
    if isinstance(item, int):
        return integer_problem(item)
    if isinstance(item, Decimal):
        return decimal_problem(item, digits=_NUMBER_DIGITS, places=MAX_MONEY_PLACES)
    if isinstance(item, float):
        return None if item == item and abs(item) != float("inf") else "a finite number"
    if isinstance(item, str):
        return None if len(item) <= MAX_TEXT else f"at most {MAX_TEXT} characters"
    if isinstance(item, datetime):
        if item.tzinfo is None:
            return "a timezone-aware instant"
        if not EARLIEST <= item <= LATEST_INSTANT:
            return f"between {EARLIEST.isoformat()} and {LATEST_INSTANT.isoformat()}"
        return None
    if isinstance(item, timedelta):
        return None if abs(item) <= MAX_LIFETIME else f"at most {MAX_LIFETIME.days} days"
    if isinstance(item, date):
        return None
    if isinstance(item, Mapping) and _is_metadata(item):
        return metadata_problem(item)
    return None


_JSON_TYPES = (str, int, float, bool, type(None), dict, list)


def _is_metadata(mapping: Mapping[Any, Any]) -> bool:
    """Free-form JSON data (metadata, properties), as opposed to a table of objects."""
    return all(isinstance(key, str) for key in mapping) and all(
        isinstance(value, _JSON_TYPES) for value in mapping.values()
    )
