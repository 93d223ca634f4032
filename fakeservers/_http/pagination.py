"""Keyset (cursor) and classic (page number) pagination over in-memory records.

Keyset pages are newest first (highest id first) and bounded by the id in the cursor,
so inserts between two fetches never shift a walk. Classic pages slice the given order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import attrs

from fakeservers._http.cursor import Cursor, encode_cursor

__all__ = ["Page", "classic_page", "keyset_page"]

T = TypeVar("T")


@attrs.frozen
class Page(Generic[T]):
    """One page of records plus the cursors to its neighbours (None at either end)."""

    items: list[T]
    next_cursor: str | None = None
    previous_cursor: str | None = None


def keyset_page(
    records: Sequence[T], key: Callable[[T], int], *, limit: int, cursor: Cursor | None
) -> Page[T]:
    """Return up to `limit` records in descending `key` order, starting after `cursor`."""
    ordered = sorted(records, key=key, reverse=True)
    if cursor is None:
        window = ordered[:limit]
    elif cursor.direction == "next":
        window = [r for r in ordered if key(r) < cursor.boundary][:limit]
    else:
        newer = [r for r in ordered if key(r) > cursor.boundary]
        window = newer[-limit:] if newer else []
    if not window:
        has_newer = cursor is not None and any(key(r) > cursor.boundary for r in ordered)
        previous = encode_cursor(Cursor(cursor.boundary, "prev")) if cursor and has_newer else None
        return Page([], None, previous)
    first, last = key(window[0]), key(window[-1])
    next_cursor = (
        encode_cursor(Cursor(last, "next")) if any(key(r) < last for r in ordered) else None
    )
    previous_cursor = (
        encode_cursor(Cursor(first, "prev")) if any(key(r) > first for r in ordered) else None
    )
    return Page(window, next_cursor, previous_cursor)


def classic_page(records: Sequence[T], *, page: int, page_size: int) -> list[T]:
    """Return page `page` (1-based) of `page_size` records, in the order given."""
    start = (page - 1) * page_size
    return list(records[start : start + page_size])
