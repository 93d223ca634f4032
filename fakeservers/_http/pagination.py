"""Keyset (cursor) and classic (page number) pagination, over a lister or in-memory records.

Keyset pages are newest first (highest id first) and bounded by the id in the cursor,
so inserts between two fetches never shift a walk. Classic pages slice the given order.

A `Lister` answers one question: up to `limit` records with after_id < id < before_id,
newest or oldest first, after passing over `offset` of them. The core's paged reads
(`Program.transactions_page`, `members_page`, `fulfillments_page`) are listers once their
filters are bound, so a page costs what the page costs; `lister_of(records, key)` makes
one of a list held in memory (configuration: earning rules, points products).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

import attrs

from fakeservers._http.cursor import Cursor, encode_cursor

__all__ = ["Lister", "Page", "classic_page", "keyset_list", "keyset_page", "lister_of"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Lister(Protocol[T_co]):
    """Records with after_id < id < before_id, in id order, from `offset` on."""

    def __call__(
        self,
        *,
        newest_first: bool,
        after_id: int | None,
        before_id: int | None,
        offset: int,
        limit: int,
    ) -> Sequence[T_co]: ...


@attrs.frozen
class Page(Generic[T]):
    """One page of records plus the cursors to its neighbours (None at either end)."""

    items: list[T]
    next_cursor: str | None = None
    previous_cursor: str | None = None


def lister_of(records: Sequence[T], key: Callable[[T], int]) -> Lister[T]:
    """A `Lister` over records held in memory (sorted once, then bisected)."""
    ordered = sorted(records, key=key)
    keys = [key(r) for r in ordered]

    def listed(
        *, newest_first: bool, after_id: int | None, before_id: int | None, offset: int, limit: int
    ) -> list[T]:
        low = 0 if after_id is None else bisect_right(keys, after_id)
        high = len(keys) if before_id is None else bisect_left(keys, before_id)
        chosen = ordered[low:high]
        if newest_first:
            chosen.reverse()
        return chosen[offset : offset + limit]

    return listed


def keyset_list(
    lister: Lister[T], key: Callable[[T], int], *, limit: int, cursor: Cursor | None
) -> Page[T]:
    """Up to `limit` records newest first, starting after `cursor`; each neighbour cursor
    is given only when a record lies beyond (asked of the lister, one record at most)."""

    def exists(*, after: int | None = None, before: int | None = None) -> bool:
        found = lister(
            newest_first=before is not None, after_id=after, before_id=before, offset=0, limit=1
        )
        return bool(found)

    if cursor is not None and cursor.direction == "prev":
        window = list(
            lister(
                newest_first=False, after_id=cursor.boundary, before_id=None, offset=0, limit=limit
            )
        )
        window.reverse()
        if not window:
            return Page([])
        older = exists(before=key(window[-1]))
    else:
        before = cursor.boundary if cursor is not None else None
        found = list(
            lister(newest_first=True, after_id=None, before_id=before, offset=0, limit=limit + 1)
        )
        window, older = found[:limit], len(found) > limit
        if not window:
            newer = cursor is not None and exists(after=cursor.boundary)
            previous = encode_cursor(Cursor(cursor.boundary, "prev")) if cursor and newer else None
            return Page([], None, previous)
    first, last = key(window[0]), key(window[-1])
    next_cursor = encode_cursor(Cursor(last, "next")) if older else None
    newer = cursor is not None and exists(after=first)
    previous_cursor = encode_cursor(Cursor(first, "prev")) if newer else None
    return Page(window, next_cursor, previous_cursor)


def keyset_page(
    records: Sequence[T], key: Callable[[T], int], *, limit: int, cursor: Cursor | None
) -> Page[T]:
    """`keyset_list` over records held in memory."""
    return keyset_list(lister_of(records, key), key, limit=limit, cursor=cursor)


def classic_page(records: Sequence[T], *, page: int, page_size: int) -> list[T]:
    """Return page `page` (1-based) of `page_size` records, in the order given."""
    start = (page - 1) * page_size
    return list(records[start : start + page_size])
