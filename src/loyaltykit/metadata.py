"""Metadata: the free-form data a program keeps with members, rules, offers and tiers.

It is checked when it comes in and frozen, so that what a program hands out (a rule, a
member, a journal event) can never change the program through it:

- JSON data only: a mapping with `str` keys whose values are `str`, `int` (within
  +-`MAX_TOTAL_POINTS`, exact in any JSON reader), finite `float`, `bool`, `None`, or lists
  (tuples) and `str`-keyed mappings of the same. `Decimal`, dates, NaN, Infinity, other
  objects and unpaired surrogates are refused, so every snapshot and export is strict JSON;
- at most `MAX_DEPTH` levels (the mapping itself is the first) and `MAX_METADATA_BYTES`
  once written as compact UTF-8 JSON;
- kept as `FrozenDict` and `FrozenList`: a dict and a list (so they compare equal to plain
  data, and json, cattrs and the fakes read them as such) whose every changing method
  raises `TypeError`, and which hash (so frozen rules, offers and tiers do). To change
  metadata, pass a new mapping to `update_rule`, `update_member`, ...
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, NoReturn

from loyaltykit._validate import shown
from loyaltykit.errors import InvalidArgument
from loyaltykit.limits import MAX_DEPTH, MAX_METADATA_BYTES, MAX_TOTAL_POINTS

__all__ = ["EMPTY", "FrozenDict", "FrozenList", "checked_metadata"]


def _read_only(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(
        "metadata is read-only: pass a new mapping to the program (update_rule, "
        "update_member, ...) to change it"
    )


class FrozenDict(dict[str, Any]):
    """A dict that cannot be changed (its values are frozen too)."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[str, Any]]]:
        return FrozenDict, (dict(self),)

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: object) -> FrozenDict:
        return self


class FrozenList(list[Any]):
    """A list that cannot be changed (its items are frozen too)."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only
    append = extend = insert = pop = remove = clear = _read_only
    reverse = sort = _read_only

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self))

    def __reduce__(self) -> tuple[type[FrozenList], tuple[list[Any]]]:
        return FrozenList, (list(self),)

    def __copy__(self) -> FrozenList:
        return self

    def __deepcopy__(self, memo: object) -> FrozenList:
        return self


EMPTY = FrozenDict()
"""The metadata of everything that has none."""


def checked_metadata(value: object, field: str = "metadata") -> FrozenDict:
    """`value` checked as metadata (see the module docstring) and frozen; None is empty."""
    if value is None:
        return EMPTY
    if not isinstance(value, Mapping):
        raise InvalidArgument(field, f"{field} must be a mapping, got {shown(value)}")
    if not value:
        return EMPTY
    frozen = _frozen_mapping(value, field, 1)
    try:
        size = len(
            json.dumps(frozen, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
        )
    except UnicodeEncodeError:
        raise InvalidArgument(field, f"{field} holds text that is not valid Unicode") from None
    if size > MAX_METADATA_BYTES:
        raise InvalidArgument(
            field, f"{field} is {size:,} bytes as JSON; at most {MAX_METADATA_BYTES:,} allowed"
        )
    return frozen


def _frozen_mapping(value: Mapping[Any, Any], field: str, depth: int) -> FrozenDict:
    if depth > MAX_DEPTH:
        raise InvalidArgument(field, f"{field} is nested deeper than {MAX_DEPTH} levels")
    items = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidArgument(field, f"{field} keys must be strings, got {shown(key)}")
        items[key] = _frozen(item, field, depth)
    return FrozenDict(items)


def _frozen(value: object, field: str, depth: int) -> object:
    if value is None or type(value) in (str, bool):
        return value
    if isinstance(value, str):  # a str subclass (an enum member): kept as its text
        return str.__str__(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > MAX_TOTAL_POINTS:
            raise InvalidArgument(
                field, f"{field} integers must be within +-{MAX_TOTAL_POINTS:,}: {shown(value)}"
            )
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgument(field, f"{field} numbers must be finite, got {value}")
        return float(value)
    if isinstance(value, Mapping):
        return _frozen_mapping(value, field, depth + 1)
    if isinstance(value, list | tuple):
        if depth + 1 > MAX_DEPTH:
            raise InvalidArgument(field, f"{field} is nested deeper than {MAX_DEPTH} levels")
        return FrozenList(_frozen(item, field, depth + 1) for item in value)
    raise InvalidArgument(
        field,
        f"{field} values must be JSON data (str, int, float, bool, None, lists, mappings), "
        f"got {shown(value)}",
    )
