"""Reference answers to the paged reads, by scanning everything, and strategies for them.

`scan_transactions`, `scan_members` and `scan_fulfillments` answer what
`Program.transactions_page` / `members_page` / `fulfillments_page` answer (every match, in
page order, before offset and limit), the slow and obvious way: read all, filter, sort.
Tests and the state machine hold the indexed reads against them; `*_queries` draw the
arguments.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from loyaltykit.ledger import Transaction, TxnKind, TxnStatus
from loyaltykit.members import Member, MemberState
from loyaltykit.program import Program
from loyaltykit.rewards import Fulfillment, FulfillmentStatus, UsageStatus

__all__ = [
    "check_pages",
    "fulfillment_queries",
    "member_queries",
    "scan_fulfillments",
    "scan_members",
    "scan_transactions",
    "transaction_queries",
]

PAGING = ("newest_first", "offset", "limit", "by_time")
"""Arguments of a paged read that are not filters (a count takes only the filters)."""


def _in_bounds(
    ident: int,
    created_at: datetime,
    after_id: int | None,
    before_id: int | None,
    since: datetime | None,
    until: datetime | None,
) -> bool:
    return (
        (after_id is None or ident > after_id)
        and (before_id is None or ident < before_id)
        and (since is None or created_at >= since)
        and (until is None or created_at < until)
    )


def scan_transactions(
    program: Program,
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
) -> list[Transaction]:
    """Every transaction `transactions_page` pages through, in its order."""
    if posted_since is not None:
        status = TxnStatus.POSTED
    found = [
        txn
        for txn in program.transactions(member_id)
        if _in_bounds(txn.id, txn.created_at, after_id, before_id, since, until)
        and (status is None or txn.status is status)
        and (kinds is None or txn.kind in kinds)
        and (posted_since is None or (txn.resolved_at or txn.created_at) >= posted_since)
    ]
    if by_time:
        found.sort(key=lambda txn: (txn.created_at, txn.id))
    return found[::-1] if newest_first else found


def scan_members(
    program: Program,
    *,
    newest_first: bool = True,
    after_id: int | None = None,
    before_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    updated_since: datetime | None = None,
    state: MemberState | None = None,
) -> list[Member]:
    """Every member `members_page` pages through, in its order."""
    found = [
        member
        for member in sorted(program.members(), key=lambda m: m.id)
        if _in_bounds(member.id, member.profile.created_at, after_id, before_id, since, until)
        and (updated_since is None or member.profile.updated_at >= updated_since)
        and (state is None or member.state is state)
    ]
    return found[::-1] if newest_first else found


def scan_fulfillments(
    program: Program,
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
) -> list[Fulfillment]:
    """Every fulfillment `fulfillments_page` pages through, in its order."""
    found = [
        record
        for record in sorted(program.fulfillments(member_id), key=lambda f: f.id)
        if _in_bounds(record.id, record.created_at, after_id, before_id, since, until)
        and (updated_since is None or record.updated_at >= updated_since)
        and (source is None or record.source == source)
        and (status is None or record.status is status)
        and (usage is None or record.usage is usage)
    ]
    return found[::-1] if newest_first else found


# -- strategies --------------------------------------------------------------------------


def _moments(around: datetime) -> st.SearchStrategy[datetime | None]:
    """None, or an instant within 60 days of `around` (to the minute)."""
    return st.none() | st.integers(-60 * 24 * 60, 60 * 24 * 60).map(
        lambda minutes: around + timedelta(minutes=minutes)
    )


def _ids(top: int) -> st.SearchStrategy[int | None]:
    return st.none() | st.integers(0, top + 2)


def _paging() -> dict[str, st.SearchStrategy[Any]]:
    return {
        "newest_first": st.booleans(),
        "offset": st.integers(0, 40) | st.integers(0, 400),
        "limit": st.integers(1, 30),
    }


@st.composite
def transaction_queries(draw: st.DrawFn, program: Program) -> dict[str, Any]:
    """Arguments for `transactions_page` (and, without paging, `count_transactions`)."""
    now = program.clock.now()
    members = [m.id for m in program.members()]
    kinds = (
        st.none()
        | st.frozensets(st.sampled_from(list(TxnKind)), min_size=1)
        | st.just(frozenset(TxnKind) - {TxnKind.EXPIRE, TxnKind.SETTLE})
    )
    top = len(program.transactions())
    chosen: dict[str, Any] = draw(
        st.fixed_dictionaries(
            {
                "member_id": st.none() | st.sampled_from(members) if members else st.none(),
                "after_id": _ids(top),
                "before_id": _ids(top),
                "since": _moments(now),
                "until": _moments(now),
                "kinds": kinds,
                "by_time": st.booleans(),
                **_paging(),
            }
        )
    )
    if draw(st.booleans()):
        chosen["posted_since"] = draw(_moments(now))
    else:
        chosen["status"] = draw(st.none() | st.sampled_from(list(TxnStatus)))
    return chosen


@st.composite
def member_queries(draw: st.DrawFn, program: Program) -> dict[str, Any]:
    """Arguments for `members_page` (and, without paging, `count_members`)."""
    now = program.clock.now()
    top = len(program.members())
    chosen: dict[str, Any] = draw(
        st.fixed_dictionaries(
            {
                "after_id": _ids(top),
                "before_id": _ids(top),
                "since": _moments(now),
                "until": _moments(now),
                "updated_since": _moments(now),
                "state": st.none() | st.sampled_from(list(MemberState)),
                **_paging(),
            }
        )
    )
    return chosen


@st.composite
def fulfillment_queries(draw: st.DrawFn, program: Program) -> dict[str, Any]:
    """Arguments for `fulfillments_page` (and, without paging, `count_fulfillments`)."""
    now = program.clock.now()
    members = [m.id for m in program.members()]
    top = len(program.fulfillments())
    chosen: dict[str, Any] = draw(
        st.fixed_dictionaries(
            {
                "member_id": st.none() | st.sampled_from(members) if members else st.none(),
                "after_id": _ids(top),
                "before_id": _ids(top),
                "since": _moments(now),
                "until": _moments(now),
                "updated_since": _moments(now),
                "source": st.none() | st.sampled_from(["redemption", "grant", "referral sender"]),
                "status": st.none() | st.sampled_from(list(FulfillmentStatus)),
                "usage": st.none() | st.sampled_from(list(UsageStatus)),
                **_paging(),
            }
        )
    )
    return chosen


def check_pages(program: Program, data: st.DataObject) -> None:
    """Draw one query of each kind; the indexed page and count must equal the scan's."""
    for paged, counted, scanned, queries in (
        (
            program.transactions_page,
            program.count_transactions,
            scan_transactions,
            transaction_queries,
        ),
        (program.members_page, program.count_members, scan_members, member_queries),
        (
            program.fulfillments_page,
            program.count_fulfillments,
            scan_fulfillments,
            fulfillment_queries,
        ),
    ):
        query = data.draw(queries(program))
        offset, limit = query["offset"], query["limit"]
        filters = {k: v for k, v in query.items() if k not in PAGING}
        ordering = {k: v for k, v in query.items() if k in ("newest_first", "by_time")}
        expected = scanned(program, **filters, **ordering)
        got = paged(**query)
        assert got == expected[offset : offset + limit], (query, got, expected)
        assert counted(**filters) == len(expected), (query, len(expected))
