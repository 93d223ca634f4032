"""Pages and counts over id-ordered records, read through their indexes (`indexes.py`).

A query names a `Scope` (the ids it may return, ascending, their runs and creation times),
a `Selection` (which of those ids count: all of them or the union of some indexed groups,
less some other groups, less what a per-record test refuses) and id windows (`windows`: the
id range and creation-time range cut into runs, each window a piece of one run, so ids and
times rise together inside it). Records whose time of last change is not their creation
time come as `extras`, already filtered, and are merged in.

Counting a window is a few bisections of the group lists; finding the r-th record of a
window is a binary search over ids with those counts; a page is then read record by record
from there. So a page costs its length plus a few logarithms, whatever the history, as
long as the selection is `exact` (the per-record test refuses nothing the group lists do
not already leave out). A selection that is not exact is read record by record from the
start of its windows: correct, and as fast as the records it has to look at.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

from loyaltykit.indexes import Runs, SortedIds, between

__all__ = ["Scope", "Selection", "count", "page", "windows"]

WALK = 32
"""Below this offset a page is found by reading past the records before it, not by counting."""

Window = tuple[int, int]
"""Ids [a, b) inside one run."""


class Scope:
    """The records one query may return: ids ascending (a `range` for dense ids), the runs
    they were recorded in, and how to read a record's creation time."""

    __slots__ = ("created", "ids", "runs")

    def __init__(self, ids: Sequence[int], runs: Runs, created: Callable[[int], datetime]) -> None:
        self.ids = ids
        self.runs = runs
        self.created = created

    def span(self, low: int, high: int) -> int:
        """How many of the scope's ids lie in [low, high)."""
        ids = self.ids
        if isinstance(ids, range):
            return max(0, min(high, ids.stop) - max(low, ids.start))
        return bisect_left(ids, high) - bisect_left(ids, low)

    def key(self, ident: int) -> tuple[datetime, int]:
        return (self.created(ident), ident)


class Selection:
    """Which of a scope's ids a query returns.

    `base` None means every id of the scope, otherwise the union of these (disjoint) group
    lists; `minus` are (disjoint) groups inside the base to leave out; `skip(id)` is true for
    an id to leave out when reading record by record, and must agree with base and minus.
    `exact` says it refuses nothing more, so counts can come from the group lists alone.
    """

    __slots__ = ("base", "exact", "minus", "skip")

    def __init__(
        self,
        base: Sequence[SortedIds] | None = None,
        minus: Sequence[SortedIds] = (),
        skip: Callable[[int], bool] | None = None,
        *,
        exact: bool = True,
    ) -> None:
        self.base = base
        self.minus = minus
        self.skip = skip
        self.exact = exact

    def counted(self, scope: Scope, low: int, high: int) -> int:
        """Selected ids in [low, high) by the group lists alone (exact selections only)."""
        if self.base is None:
            total = scope.span(low, high)
        else:
            total = sum(between(ids, low, high) for ids in self.base)
        for ids in self.minus:
            total -= between(ids, low, high)
        return total


# -- windows -----------------------------------------------------------------------------


def windows(
    scope: Scope,
    *,
    after: int | None = None,
    before: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Window]:
    """The ids (> after, < before) created in [since, until), as one window per run."""
    ids = scope.ids
    if not ids:
        return []
    low, high = ids[0], ids[-1] + 1
    if after is not None:
        low = max(low, after + 1)
    if before is not None:
        high = min(high, before)
    if low >= high:
        return []
    pieces = scope.runs.bounds(low, high)
    if since is None and until is None:
        return pieces
    found: list[Window] = []
    created = scope.created
    for a, b in pieces:
        first, last = bisect_left(ids, a), bisect_left(ids, b)
        if since is not None:
            first = bisect_left(ids, since, first, last, key=created)
        if until is not None:
            last = bisect_left(ids, until, first, last, key=created)
        if first < last:
            found.append((ids[first], ids[last] if last < len(ids) else ids[-1] + 1))
    return found


# -- reading record by record ------------------------------------------------------------


def _ids_in(scope: Scope, sel: Selection, a: int, b: int, descending: bool) -> Iterator[int]:
    """The base's ids in [a, b), in order, before `minus` and `skip`."""
    if sel.base is None:
        ids = scope.ids
        if isinstance(ids, range):
            low, high = max(a, ids.start), min(b, ids.stop)
            return iter(range(high - 1, low - 1, -1) if descending else range(low, high))
        first, last = bisect_left(ids, a), bisect_left(ids, b)
        positions = range(last - 1, first - 1, -1) if descending else range(first, last)
        return map(ids.__getitem__, positions)
    parts = [_group_in(group, a, b, descending) for group in sel.base]
    if len(parts) == 1:
        return parts[0]
    return heapq.merge(*parts, reverse=descending)


def _group_in(group: SortedIds, a: int, b: int, descending: bool) -> Iterator[int]:
    if isinstance(group, list):
        first, last = bisect_left(group, a), bisect_left(group, b)
        positions = range(last - 1, first - 1, -1) if descending else range(first, last)
        return map(group.__getitem__, positions)
    found: Iterator[int] = group.irange(a, b, (True, False), reverse=descending)
    return found


def _walk(scope: Scope, sel: Selection, wins: Sequence[Window], descending: bool) -> Iterator[int]:
    """Selected ids of consecutive windows (already in output order), record by record."""
    skip = sel.skip
    for a, b in wins:
        ids = _ids_in(scope, sel, a, b, descending)
        yield from ids if skip is None else (i for i in ids if not skip(i))


def _regular(
    scope: Scope, sel: Selection, wins: Sequence[Window], by_time: bool, descending: bool
) -> Iterator[int]:
    """Every selected id of the windows in output order."""
    if not by_time or len(wins) <= 1:
        return _walk(scope, sel, wins[::-1] if descending else wins, descending)
    # runs interleave in time: merge them by (created at, id)
    streams = [_walk(scope, sel, [w], descending) for w in wins]
    return heapq.merge(*streams, key=scope.key, reverse=descending)


def _merge(
    regular: Iterator[int],
    extras: Sequence[int],
    key: Callable[[int], Any] | None,
    descending: bool,
) -> Iterator[int]:
    if not extras:
        return regular
    return heapq.merge(regular, extras, key=key, reverse=descending)


# -- counting and finding ----------------------------------------------------------------


def count(scope: Scope, sel: Selection, wins: Sequence[Window], extras: Sequence[int] = ()) -> int:
    """How many ids the query selects (extras included)."""
    if sel.exact:
        total = sum(sel.counted(scope, a, b) for a, b in wins)
    else:
        total = sum(1 for _ in _walk(scope, sel, wins, False))
    return total + len(extras)


def _nth(scope: Scope, sel: Selection, a: int, b: int, rank: int) -> int:
    """The selected id of rank `rank` (0-based, ascending) in window [a, b) (exact only)."""
    low, high = a, b - 1  # the answer is the least x with (selected in [a, x]) > rank
    while low < high:
        middle = (low + high) // 2
        if sel.counted(scope, a, middle + 1) > rank:
            high = middle
        else:
            low = middle + 1
    return low


def _regular_from(
    scope: Scope, sel: Selection, wins: Sequence[Window], skip: int, descending: bool
) -> Iterator[int]:
    """Selected ids in output order from the `skip`-th on (exact; one run, or id order)."""
    ordered = wins[::-1] if descending else list(wins)
    for index, (a, b) in enumerate(ordered):
        size = sel.counted(scope, a, b)
        if skip >= size:
            skip -= size
            continue
        rank = size - 1 - skip if descending else skip
        start = _nth(scope, sel, a, b, rank)
        first = (a, start + 1) if descending else (start, b)
        return _walk(scope, sel, [first, *ordered[index + 1 :]], descending)
    return iter(())


def _before(scope: Scope, sel: Selection, wins: Sequence[Window], ident: int, by_time: bool) -> int:
    """Selected ids (exact; one run if by time) that come before `ident` in ascending order."""
    total = 0
    for a, b in wins:
        if by_time:
            ids = scope.ids
            first, last = bisect_left(ids, a), bisect_left(ids, b)
            at = bisect_left(ids, scope.key(ident), first, last, key=scope.key)
            edge = ids[at] if at < len(ids) else ids[-1] + 1
        else:
            edge = ident
        if edge <= a:
            break
        total += sel.counted(scope, a, min(b, edge))
    return total


def page(
    scope: Scope,
    sel: Selection,
    wins: Sequence[Window],
    extras: Iterable[int] = (),
    *,
    by_time: bool = False,
    newest_first: bool = True,
    offset: int = 0,
    limit: int,
) -> list[int]:
    """Up to `limit` selected ids after the first `offset`, by id or by (created at, id),
    newest or oldest first. `extras` are ids to merge in (already filtered)."""
    key: Callable[[int], Any] | None = scope.key if by_time else None
    merged_extras = sorted(extras, key=key, reverse=newest_first)
    countable = sel.exact and (not by_time or len(wins) <= 1)
    if offset < WALK or not countable:
        stream = _merge(
            _regular(scope, sel, wins, by_time, newest_first), merged_extras, key, newest_first
        )
        return list(islice(stream, offset, offset + limit))
    taken = 0  # extras among the first `offset` records: a binary search on their positions
    if merged_extras:
        total = count(scope, sel, wins)
        low, high = 0, len(merged_extras)
        while low < high:
            middle = (low + high) // 2
            before = _before(scope, sel, wins, merged_extras[middle], by_time)
            position = middle + (total - before if newest_first else before)
            if position < offset:
                low = middle + 1
            else:
                high = middle
        taken = low
    regular = _regular_from(scope, sel, wins, offset - taken, newest_first)
    stream = _merge(regular, merged_extras[taken:], key, newest_first)
    return list(islice(stream, limit))
