"""Paged reads of transactions, members and fulfillments, answered from the indexes.

Each query is turned into a `paging.Scope` (the program's records, or one member's), a
`paging.Selection` (which of them qualify, as group lists to count with) and id windows
(the id and time bounds, cut into runs), plus the few records that changed after their
creation (`extras`). `paging.page` and `paging.count` do the rest. These functions take
the state under the program's lock and return ids; `Program` turns them into records.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from loyaltykit import _validate as v
from loyaltykit.errors import InvalidArgument, MemberNotFound
from loyaltykit.indexes import INDEXED_KINDS, Timeline, held, in_status
from loyaltykit.ledger import CREATED_AT, KIND, RESOLVED_AT, STATUS, TxnKind, TxnStatus
from loyaltykit.members import MemberState
from loyaltykit.paging import Scope, Selection, Window, count, page, windows
from loyaltykit.rewards import FulfillmentStatus, UsageStatus
from loyaltykit.state import State

__all__ = [
    "DEFAULT_PAGE",
    "MAX_OFFSET",
    "MAX_PAGE",
    "FulfillmentQuery",
    "MemberQuery",
    "Paging",
    "TxnQuery",
]

DEFAULT_PAGE = 50
"""Records per page when no limit is given."""
MAX_PAGE = 1000
"""The most records one page may hold."""
MAX_OFFSET = 10**9
"""The largest offset (records to pass over before the page starts)."""

_ALL_KINDS = frozenset(kind.value for kind in TxnKind)
_POSTED = TxnStatus.POSTED.value


class Paging:
    """Validated paging arguments: order, offset, limit."""

    __slots__ = ("limit", "newest_first", "offset")

    def __init__(self, *, newest_first: object, offset: object, limit: object) -> None:
        if not isinstance(newest_first, bool):
            raise InvalidArgument(
                "newest_first", f"newest_first must be a bool, got {newest_first!r}"
            )
        self.newest_first = newest_first
        self.offset = _bounded(offset, "offset", 0, MAX_OFFSET)
        self.limit = _bounded(limit, "limit", 1, MAX_PAGE)


def _bounded(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(field, f"{field} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise InvalidArgument(field, f"{field} must be between {low} and {high}, got {value}")
    return value


def _optional_id(value: object, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(field, f"{field} must be an integer id, got {value!r}")
    return value


def _choice(kind: type[Any], value: object, field: str) -> Any:
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in kind)
        raise InvalidArgument(field, f"{field} must be one of {allowed}; got {value!r}") from None


class _Bounds:
    """Id and creation-time bounds shared by every query."""

    __slots__ = ("after", "before", "since", "until")

    def __init__(self, after: object, before: object, since: object, until: object) -> None:
        self.after = _optional_id(after, "after_id")
        self.before = _optional_id(before, "before_id")
        self.since = v.optional_moment(since, "since")
        self.until = v.optional_moment(until, "until")

    def windows(self, scope: Scope, changed_since: datetime | None = None) -> list[Window]:
        since = self.since
        if changed_since is not None and (since is None or changed_since > since):
            since = changed_since  # a record that never changed changed when it was created
        return windows(scope, after=self.after, before=self.before, since=since, until=self.until)

    def holds(self, ident: int, created_at: datetime) -> bool:
        return (
            (self.after is None or ident > self.after)
            and (self.before is None or ident < self.before)
            and (self.since is None or created_at >= self.since)
            and (self.until is None or created_at < self.until)
        )


def _changed_since(timeline: Timeline, moment: datetime, keep: Callable[[int], bool]) -> list[int]:
    """Ids of the timeline's changed records changed at or after `moment` that `keep`."""
    return [ident for _, ident in timeline.changed.irange(minimum=(moment,)) if keep(ident)]


# -- transactions ----------------------------------------------------------------------


class TxnQuery:
    """Which transactions: one member's or all, id and time bounds, status and kinds.

    `since`/`until` bound the creation time; `posted_since` keeps posted transactions posted
    at or after an instant (an award approved later posts when approved).
    """

    __slots__ = ("bounds", "kinds", "member_id", "posted_since", "status")

    def __init__(
        self,
        state: State,
        member_id: object = None,
        *,
        after_id: object = None,
        before_id: object = None,
        since: object = None,
        until: object = None,
        posted_since: object = None,
        status: object = None,
        kinds: Collection[TxnKind] | None = None,
    ) -> None:
        if member_id is not None:
            if isinstance(member_id, bool) or not isinstance(member_id, int):
                raise InvalidArgument(
                    "member_id", f"member_id must be an integer, got {member_id!r}"
                )
            if member_id not in state.accounts:
                raise MemberNotFound(member_id)
        self.member_id: int | None = member_id
        self.bounds = _Bounds(after_id, before_id, since, until)
        self.posted_since = v.optional_moment(posted_since, "posted_since")
        chosen = _choice(TxnStatus, status, "status")
        if self.posted_since is not None:
            if chosen not in (None, TxnStatus.POSTED):
                raise InvalidArgument("status", "posted_since reads posted transactions only")
            chosen = TxnStatus.POSTED
        self.status: str | None = chosen.value if chosen is not None else None
        if kinds is None:
            self.kinds = _ALL_KINDS
        else:
            if isinstance(kinds, str) or not isinstance(kinds, Collection):
                raise InvalidArgument(
                    "kinds", f"kinds must be a collection of TxnKind, got {kinds!r}"
                )
            self.kinds = frozenset(_choice(TxnKind, kind, "kinds").value for kind in kinds)

    def plan(self, state: State) -> tuple[Scope, Selection, list[Window], list[int]]:
        index = state.ledger_index
        rows = state.txns
        index.runs.catch_up(rows, CREATED_AT)
        ids: Any
        if self.member_id is None:
            ids, timeline = range(1, len(rows) + 1), index.program
        else:
            ids = state.accounts[self.member_id].txn_ids
            timeline = index.members.get(self.member_id) or Timeline()

        def created(ident: int) -> datetime:
            return rows[ident - 1][CREATED_AT]  # type: ignore[no-any-return]

        scope = Scope(ids, index.runs, created)
        selection = self._selection(timeline, rows)
        wins = self.bounds.windows(scope, self.posted_since)
        extras: list[int] = []
        if self.posted_since is not None:
            kinds, bounds = self.kinds, self.bounds

            def keep(ident: int) -> bool:
                row = rows[ident - 1]
                return row[KIND] in kinds and bounds.holds(ident, row[CREATED_AT])

            extras = _changed_since(timeline, self.posted_since, keep)
        return scope, selection, wins, extras

    def _selection(self, timeline: Timeline, rows: list[tuple[Any, ...]]) -> Selection:
        kinds, status = self.kinds, self.status
        posted_axis = self.posted_since is not None
        get = timeline.get

        def skip(ident: int) -> bool:
            row = rows[ident - 1]
            if row[KIND] not in kinds:
                return True
            if status is not None and row[STATUS] != status:
                return True
            return posted_axis and row[RESOLVED_AT] is not None  # posted when approved

        if status is not None and status != _POSTED:  # pending or rejected: their groups
            return Selection([get(in_status(status, kind)) for kind in sorted(kinds)])
        leave: list[str] = []  # groups inside the selected kinds that the filters leave out
        for kind in sorted(kinds):
            if posted_axis:
                leave.append(held(kind))  # read from `changed` at their posting time
            elif status == _POSTED:
                leave += [
                    in_status(TxnStatus.PENDING.value, kind),
                    in_status(TxnStatus.REJECTED.value, kind),
                ]
        hot = _ALL_KINDS - INDEXED_KINDS
        if hot <= kinds:  # everything but some indexed kinds
            leave += sorted(INDEXED_KINDS - kinds)
            minus = [ids for ids in map(get, leave) if ids]  # an empty group leaves nothing
            return Selection(None, minus, skip if minus else None)
        if not kinds & hot:  # some indexed kinds only
            minus = [ids for ids in map(get, leave) if ids]
            return Selection([get(kind) for kind in sorted(kinds)], minus, skip if minus else None)
        return Selection(None, (), skip, exact=False)  # some hot kinds: read one by one

    def page(self, state: State, paging: Paging, *, by_time: object) -> list[int]:
        if not isinstance(by_time, bool):
            raise InvalidArgument("by_time", f"by_time must be a bool, got {by_time!r}")
        scope, selection, wins, extras = self.plan(state)
        return page(
            scope,
            selection,
            wins,
            extras,
            by_time=by_time,
            newest_first=paging.newest_first,
            offset=paging.offset,
            limit=paging.limit,
        )

    def count(self, state: State) -> int:
        scope, selection, wins, extras = self.plan(state)
        return count(scope, selection, wins, extras)


# -- members and fulfillments ----------------------------------------------------------


class _RecordQuery:
    """A query over a `RecordIndex`: bounds, a time of last change, group filters."""

    __slots__ = ("bounds", "groups", "updated_since")

    def __init__(
        self,
        after_id: object,
        before_id: object,
        since: object,
        until: object,
        updated_since: object,
        groups: list[str],
    ) -> None:
        self.bounds = _Bounds(after_id, before_id, since, until)
        self.updated_since = v.optional_moment(updated_since, "updated_since")
        self.groups = groups

    def _plan(
        self,
        ids: list[int],
        runs: Any,
        timeline: Timeline,
        created: Callable[[int], datetime],
        updated: Callable[[int], datetime],
        in_group: Callable[[int, str], bool],
    ) -> tuple[Scope, Selection, list[Window], list[int]]:
        scope = Scope(ids, runs, created)
        groups, changed_since, bounds = self.groups, self.updated_since, self.bounds

        def qualifies(ident: int) -> bool:
            return all(in_group(ident, name) for name in groups)

        def skip(ident: int) -> bool:
            if changed_since is not None and updated(ident) != created(ident):
                return True  # read from `changed` instead
            return not qualifies(ident)

        minus = [timeline.changed_ids] if changed_since is not None and timeline.changed_ids else []
        if not groups:
            selection = Selection(None, minus, skip if minus else None)
        elif len(groups) == 1 and not minus:
            selection = Selection([timeline.get(groups[0])])
        else:  # one group list to read, the rest tested record by record
            selection = Selection([timeline.get(groups[0])], (), skip, exact=False)
        extras: list[int] = []
        if changed_since is not None:

            def keep(ident: int) -> bool:
                return bounds.holds(ident, created(ident)) and qualifies(ident)

            extras = _changed_since(timeline, changed_since, keep)
        return scope, selection, bounds.windows(scope, changed_since), extras


class MemberQuery(_RecordQuery):
    """Which members: id and creation-time bounds, updated since, state."""

    __slots__ = ()

    def __init__(
        self,
        *,
        after_id: object = None,
        before_id: object = None,
        since: object = None,
        until: object = None,
        updated_since: object = None,
        state: object = None,
    ) -> None:
        chosen = _choice(MemberState, state, "state")
        groups = [f"state {chosen}"] if chosen is not None else []
        super().__init__(after_id, before_id, since, until, updated_since, groups)

    def plan(self, state: State) -> tuple[Scope, Selection, list[Window], list[int]]:
        profiles = state.profiles
        index = state.member_index
        return self._plan(
            index.ids,
            index.runs,
            index.timeline,
            lambda ident: profiles[ident].created_at,
            lambda ident: profiles[ident].updated_at,
            lambda ident, name: name == f"state {profiles[ident].state}",
        )


class FulfillmentQuery(_RecordQuery):
    """Which fulfillments: one member's or all, bounds, updated since, source, status,
    usage."""

    __slots__ = ("member_id",)

    def __init__(
        self,
        state: State,
        member_id: object = None,
        *,
        after_id: object = None,
        before_id: object = None,
        since: object = None,
        until: object = None,
        updated_since: object = None,
        source: object = None,
        status: object = None,
        usage: object = None,
    ) -> None:
        if member_id is not None:
            if isinstance(member_id, bool) or not isinstance(member_id, int):
                raise InvalidArgument(
                    "member_id", f"member_id must be an integer, got {member_id!r}"
                )
            if member_id not in state.accounts:
                raise MemberNotFound(member_id)
        self.member_id: int | None = member_id
        groups = []
        if source is not None:
            groups.append(f"source {v.text(source, 'source', required=True)}")
        chosen = _choice(FulfillmentStatus, status, "status")
        if chosen is not None:
            groups.append(f"status {chosen}")
        used = _choice(UsageStatus, usage, "usage")
        if used is not None:
            groups.append(f"usage {used}")
        super().__init__(after_id, before_id, since, until, updated_since, groups)

    def plan(self, state: State) -> tuple[Scope, Selection, list[Window], list[int]]:
        records = state.fulfillments
        index = state.fulfillment_index
        if self.member_id is None:
            ids, timeline = index.ids, index.timeline
        else:
            ids = index.member_ids.get(self.member_id, [])
            timeline = index.members.get(self.member_id) or Timeline()

        def in_group(ident: int, name: str) -> bool:
            record = records[ident]
            return name in (
                f"source {record.source}",
                f"status {record.status}",
                f"usage {record.usage}",
            )

        return self._plan(
            ids,
            index.runs,
            timeline,
            lambda ident: records[ident].created_at,
            lambda ident: records[ident].updated_at,
            in_group,
        )


def record_page(query: MemberQuery | FulfillmentQuery, state: State, paging: Paging) -> list[int]:
    scope, selection, wins, extras = query.plan(state)
    return page(
        scope,
        selection,
        wins,
        extras,
        newest_first=paging.newest_first,
        offset=paging.offset,
        limit=paging.limit,
    )


def record_count(query: MemberQuery | FulfillmentQuery, state: State) -> int:
    scope, selection, wins, extras = query.plan(state)
    return count(scope, selection, wins, extras)
