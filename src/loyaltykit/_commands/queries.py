"""Paged reads: a page of transactions, members or fulfillments, and counts, from indexes.

A page costs its length plus a few binary searches, however long the history (see
`loyaltykit.queries` and `loyaltykit.paging`). Ids are exclusive bounds (`after_id`,
`before_id`: the keyset of the page before or after); `since` / `until` bound the
creation time as [since, until); `offset` passes over that many records first.

Each function is a method of `Program` (bound there by name, see `loyaltykit.program`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from loyaltykit._commands.members import member_view
from loyaltykit._kernel import ProgramKernel
from loyaltykit.ledger import Transaction, TxnKind, TxnStatus, from_row
from loyaltykit.members import Member, MemberState
from loyaltykit.queries import (
    DEFAULT_PAGE,
    FulfillmentQuery,
    MemberQuery,
    Paging,
    TxnQuery,
    record_count,
    record_page,
)
from loyaltykit.rewards import Fulfillment, FulfillmentStatus, UsageStatus


def transactions_page(
    self: ProgramKernel,
    member_id: int | None = None,
    *,
    newest_first: bool = True,
    after_id: int | None = None,
    before_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    posted_since: datetime | None = None,
    status: TxnStatus | None = None,
    kinds: Collection[TxnKind] | None = None,
    by_time: bool = False,
    offset: int = 0,
    limit: int = DEFAULT_PAGE,
) -> list[Transaction]:
    """A page of one member's transactions (or the program's), newest first by default.

    In id order (the ledger's order), or with `by_time` in (created_at, id) order: the two
    differ only for transactions recorded after a clock was set back. `posted_since` keeps
    posted transactions posted at or after that instant (an award approved later posts
    when approved); `status` and `kinds` filter.
    """
    with self._lock:
        self._begin_read()
        query = TxnQuery(
            self._state,
            member_id,
            after_id=after_id,
            before_id=before_id,
            since=since,
            until=until,
            posted_since=posted_since,
            status=status,
            kinds=kinds,
        )
        paging = Paging(newest_first=newest_first, offset=offset, limit=limit)
        rows = self._state.txns
        return [from_row(rows[i - 1]) for i in query.page(self._state, paging, by_time=by_time)]


def count_transactions(
    self: ProgramKernel,
    member_id: int | None = None,
    *,
    after_id: int | None = None,
    before_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    posted_since: datetime | None = None,
    status: TxnStatus | None = None,
    kinds: Collection[TxnKind] | None = None,
) -> int:
    """How many transactions `transactions_page` would walk through with these filters,
    counted from the indexes without building them."""
    with self._lock:
        self._begin_read()
        return TxnQuery(
            self._state,
            member_id,
            after_id=after_id,
            before_id=before_id,
            since=since,
            until=until,
            posted_since=posted_since,
            status=status,
            kinds=kinds,
        ).count(self._state)


def members_page(
    self: ProgramKernel,
    *,
    newest_first: bool = True,
    after_id: int | None = None,
    before_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    updated_since: datetime | None = None,
    state: MemberState | None = None,
    offset: int = 0,
    limit: int = DEFAULT_PAGE,
) -> list[Member]:
    """A page of members in id order (newest first by default): enrolled in [since, until),
    updated at or after `updated_since`, in a `state`."""
    with self._lock:
        self._begin_read()
        query = MemberQuery(
            after_id=after_id,
            before_id=before_id,
            since=since,
            until=until,
            updated_since=updated_since,
            state=state,
        )
        paging = Paging(newest_first=newest_first, offset=offset, limit=limit)
        return [member_view(self, i) for i in record_page(query, self._state, paging)]


def count_members(
    self: ProgramKernel,
    *,
    after_id: int | None = None,
    before_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    updated_since: datetime | None = None,
    state: MemberState | None = None,
) -> int:
    """How many members `members_page` would walk through with these filters."""
    with self._lock:
        self._begin_read()
        query = MemberQuery(
            after_id=after_id,
            before_id=before_id,
            since=since,
            until=until,
            updated_since=updated_since,
            state=state,
        )
        return record_count(query, self._state)


def fulfillments_page(
    self: ProgramKernel,
    member_id: int | None = None,
    *,
    newest_first: bool = True,
    after_id: int | None = None,
    before_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    updated_since: datetime | None = None,
    source: str | None = None,
    status: FulfillmentStatus | None = None,
    usage: UsageStatus | None = None,
    offset: int = 0,
    limit: int = DEFAULT_PAGE,
) -> list[Fulfillment]:
    """A page of one member's fulfillments (or the program's) in id order, newest first by
    default: created in [since, until), updated at or after `updated_since`, of a `source`
    ("redemption" for points purchases), `status` and `usage`."""
    with self._lock:
        self._begin_read()
        query = FulfillmentQuery(
            self._state,
            member_id,
            after_id=after_id,
            before_id=before_id,
            since=since,
            until=until,
            updated_since=updated_since,
            source=source,
            status=status,
            usage=usage,
        )
        paging = Paging(newest_first=newest_first, offset=offset, limit=limit)
        records = self._state.fulfillments
        return [records[i] for i in record_page(query, self._state, paging)]


def count_fulfillments(
    self: ProgramKernel,
    member_id: int | None = None,
    *,
    after_id: int | None = None,
    before_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    updated_since: datetime | None = None,
    source: str | None = None,
    status: FulfillmentStatus | None = None,
    usage: UsageStatus | None = None,
) -> int:
    """How many fulfillments `fulfillments_page` would walk through with these filters."""
    with self._lock:
        self._begin_read()
        query = FulfillmentQuery(
            self._state,
            member_id,
            after_id=after_id,
            before_id=before_id,
            since=since,
            until=until,
            updated_since=updated_since,
            source=source,
            status=status,
            usage=usage,
        )
        return record_count(query, self._state)
