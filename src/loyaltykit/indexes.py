"""Indexes that make a page of transactions, members or fulfillments cost what a page costs.

They rest on one observation: records are numbered in the order they are recorded, and are
nearly always recorded in time order, so the id order *is* the time order except where a
clock was set back (or an expiry was run ahead of the clock). Rather than a second copy of
every record sorted by time, an index keeps:

- `Runs`: where the recorded times step backwards. Between two such points ids and creation
  times rise together, so a time bound is a binary search on the id-ordered records
  themselves. A program whose clock never went back has one run.
- `Timeline`, per scope (the whole program, or one member): the ids of each indexed group
  (a kind of transaction, a status, a fulfillment's source, a member's state), for counting
  and leaving out without reading the records, and the few records whose time of last
  change is not their creation time (an approved award is posted later; an updated member
  or fulfillment changed later), kept by that time in a `SortedList`. These receive
  out-of-order updates, which is where `sortedcontainers` earns its place (the `scale`
  benchmark measures it against `bisect` on plain lists).

Everything is plain containers (lists, dicts, `SortedList`) and is rebuilt by replaying
the journal. The earn and spend hot paths touch none of it: plain earns and spends are
neither in an indexed group nor ever changed, and the run boundaries among ledger rows are
found when a read first needs them (`Runs.catch_up`), at C speed, so a write costs no
comparison of times.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from datetime import datetime
from itertools import islice
from operator import itemgetter, le
from typing import TypeAlias

from sortedcontainers import SortedList

from loyaltykit.ledger import ID, KIND, MEMBER_ID, STATUS, Row, TxnKind, TxnStatus

__all__ = [
    "INDEXED_KINDS",
    "LedgerIndex",
    "RecordIndex",
    "Runs",
    "SortedIds",
    "Timeline",
    "between",
    "held",
    "in_status",
]

SortedIds: TypeAlias = "list[int] | SortedList"
"""Ids in ascending order: a plain list where they only ever arrive in order, a
`SortedList` where they arrive out of order or leave."""


def between(ids: SortedIds, low: int, high: int) -> int:
    """How many of `ids` lie in [low, high)."""
    if isinstance(ids, list):
        return bisect_left(ids, high) - bisect_left(ids, low)
    return int(ids.bisect_left(high) - ids.bisect_left(low))


class Runs:
    """Where the creation times of records (in id order) step backwards.

    `starts` holds the first id of every run after the first; inside a run, creation times
    never decrease as ids rise. `checked` is how many records (ids 1..checked) have been
    looked at, and `last` the creation time of record `checked`.
    """

    __slots__ = ("checked", "last", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.checked = 0
        self.last: datetime | None = None

    def add(self, ident: int, created_at: datetime) -> None:
        """Record one more record (ids arrive in ascending order)."""
        if self.last is not None and created_at < self.last:
            self.starts.append(ident)
        self.last = created_at
        self.checked = ident

    def catch_up(self, rows: Sequence[tuple[object, ...]], position: int) -> None:
        """Look at the ledger rows recorded since the last call (`position` is where a row
        holds its creation time). Rows are ids 1..len(rows); a quick pass in C confirms the
        common case, a run boundary is pinned down only where there is one."""
        start = self.checked
        if start >= len(rows):
            return
        times: list[datetime] = list(map(itemgetter(position), islice(rows, start, None)))
        last = self.last
        if (last is None or last <= times[0]) and all(map(le, times, islice(times, 1, None))):
            self.last = times[-1]
            self.checked = len(rows)
            return
        for offset, created_at in enumerate(times, start + 1):
            self.add(offset, created_at)

    def bounds(self, low: int, high: int) -> list[tuple[int, int]]:
        """The id range [low, high) cut at run boundaries, as [a, b) pieces in id order."""
        pieces: list[tuple[int, int]] = []
        a = low
        for start in islice(self.starts, bisect_left(self.starts, low + 1), None):
            if start >= high:
                break
            pieces.append((a, start))
            a = start
        if a < high:
            pieces.append((a, high))
        return pieces


class Timeline:
    """One scope's indexes (the whole program, or one member's records).

    `groups`: the ids of each indexed group, ascending. `changed`: (time of last change,
    id) of the records that changed after their creation, ascending; `changed_ids` their
    ids. A record outside `changed_ids` last changed when it was created, so "changed since
    t" is "created since t" for it, which the runs answer.
    """

    __slots__ = ("changed", "changed_ids", "groups")

    def __init__(self) -> None:
        self.groups: dict[str, SortedIds] = {}
        self.changed: SortedList = SortedList()
        self.changed_ids: SortedList = SortedList()

    def ordered(self, name: str) -> list[int]:
        """The ids of group `name`, a group whose ids only ever arrive in ascending order
        (a plain list; made empty on first use)."""
        ids = self.groups.get(name)
        if ids is None:
            ids = self.groups[name] = []
        assert isinstance(ids, list)
        return ids

    def unordered(self, name: str) -> SortedList:
        """The ids of group `name`, a group whose ids arrive in any order or leave (a
        `SortedList`; made empty on first use)."""
        ids = self.groups.get(name)
        if ids is None:
            ids = self.groups[name] = SortedList()
        return ids

    def get(self, name: str) -> SortedIds:
        """The ids of group `name`, empty if it has none (the empty list is not stored)."""
        return self.groups.get(name, _NONE)

    def move(self, ident: int, old: str | None, new: str | None) -> None:
        """Move a record from one group to another (None: no group)."""
        if old == new:
            return
        if old is not None:
            self.unordered(old).remove(ident)
        if new is not None:
            self.unordered(new).add(ident)

    def set_changed(self, ident: int, before: datetime | None, after: datetime | None) -> None:
        """The record's time of last change goes from `before` to `after` (None: its
        creation time, so the record is not kept here)."""
        if before == after:
            return
        if before is not None:
            self.changed.remove((before, ident))
            self.changed_ids.remove(ident)
        if after is not None:
            self.changed.add((after, ident))
            self.changed_ids.add(ident)


_NONE: list[int] = []
"""What `Timeline.get` returns for a group with no ids (never written to)."""

INDEXED_KINDS = frozenset(
    kind.value
    for kind in (TxnKind.AWARD, TxnKind.REDEEM, TxnKind.EXPIRE, TxnKind.CLAWBACK, TxnKind.SETTLE)
)
"""Transaction kinds with an id list per scope. Earn, spend and adjust have none: they are
the hot paths' kinds (a list append would be a tenth of an earn); a filter on kinds counts
them as what the others leave."""

_POSTED = TxnStatus.POSTED.value


def held(kind: str) -> str:
    """The group of transactions of `kind` recorded pending (whatever became of them)."""
    return f"held {kind}"


def in_status(status: str, kind: str) -> str:
    """The group of transactions of `kind` now pending, or now rejected."""
    return f"{status} {kind}"


class LedgerIndex:
    """The ledger's indexes: the runs of its rows, and a `Timeline` for the program and for
    each member with an indexed transaction.

    Groups: each kind of `INDEXED_KINDS`; per kind, `held` (recorded pending), and
    `in_status` pending and rejected. `changed`: approved awards by approval time, the one
    time a transaction changes (its posting).
    """

    __slots__ = ("members", "program", "runs")

    def __init__(self) -> None:
        self.runs = Runs()
        self.program = Timeline()
        self.members: dict[int, Timeline] = {}

    def member(self, member_id: int) -> Timeline:
        timeline = self.members.get(member_id)
        if timeline is None:
            timeline = self.members[member_id] = Timeline()
        return timeline

    def on_row(self, row: Row) -> None:
        """Index one ledger row (the fold calls this only for an indexed kind or a row
        recorded pending: nothing else has anything to index)."""
        kind: str = row[KIND]
        status: str = row[STATUS]
        txn_id: int = row[ID]
        member = self.members.get(row[MEMBER_ID])
        if member is None:
            member = self.member(row[MEMBER_ID])
        for timeline in (self.program, member):
            if kind in INDEXED_KINDS:  # `Timeline.ordered`, inlined (every award comes here)
                groups = timeline.groups
                ids = groups.get(kind)
                if ids is None:
                    ids = groups[kind] = []
                ids.append(txn_id)
            if status != _POSTED:
                timeline.ordered(held(kind)).append(txn_id)
                timeline.unordered(in_status(status, kind)).add(txn_id)

    def on_resolved(self, row: Row, approved: bool, at: datetime) -> None:
        """A pending transaction (`row` as recorded) was approved or rejected at `at`."""
        kind: str = row[KIND]
        txn_id: int = row[ID]
        for timeline in (self.program, self.member(row[MEMBER_ID])):
            timeline.groups[in_status(row[STATUS], kind)].remove(txn_id)
            if approved:
                timeline.changed.add((at, txn_id))
            else:
                timeline.unordered(in_status(TxnStatus.REJECTED.value, kind)).add(txn_id)


class RecordIndex:
    """Indexes of records that are created, then changed in place (members, fulfillments).

    `ids` in creation order (ascending), `runs` of their creation times, the program-wide
    `timeline`, and, when `by_member`, one id list and `Timeline` per member owning some.
    A record's groups (e.g. "state member") and time of last change are kept in step.
    """

    __slots__ = ("by_member", "ids", "member_ids", "members", "runs", "timeline")

    def __init__(self, *, by_member: bool) -> None:
        self.by_member = by_member
        self.ids: list[int] = []
        self.runs = Runs()
        self.timeline = Timeline()
        self.member_ids: dict[int, list[int]] = {}
        self.members: dict[int, Timeline] = {}

    def _timelines(self, member_id: int | None) -> list[Timeline]:
        if not self.by_member or member_id is None:
            return [self.timeline]
        timeline = self.members.get(member_id)
        if timeline is None:
            timeline = self.members[member_id] = Timeline()
        return [self.timeline, timeline]

    def add(
        self,
        ident: int,
        created_at: datetime,
        updated_at: datetime,
        groups: Sequence[str],
        member_id: int | None = None,
    ) -> None:
        """A new record (ids arrive in ascending order)."""
        self.ids.append(ident)
        self.runs.add(ident, created_at)
        if self.by_member and member_id is not None:
            self.member_ids.setdefault(member_id, []).append(ident)
        changed = updated_at if updated_at != created_at else None
        for timeline in self._timelines(member_id):
            for name in groups:
                timeline.move(ident, None, name)
            timeline.set_changed(ident, None, changed)

    def update(
        self,
        ident: int,
        created_at: datetime,
        before: tuple[datetime, Sequence[str]],
        after: tuple[datetime, Sequence[str]],
        member_id: int | None = None,
    ) -> None:
        """A record changed: (updated_at, groups) `before` and `after`."""
        old_time = before[0] if before[0] != created_at else None
        new_time = after[0] if after[0] != created_at else None
        for timeline in self._timelines(member_id):
            for old, new in zip(before[1], after[1], strict=True):
                timeline.move(ident, old, new)
            timeline.set_changed(ident, old_time, new_time)
