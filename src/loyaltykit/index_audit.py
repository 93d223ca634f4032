"""`check_indexes(program)`: every index agrees with a scan of the journal.

An index is state like any other: this rebuilds each one from the journal with the
plainest loop that could work (no runs caught up lazily, no groups kept in step, just the
events in order) and compares. `audit()` runs it; it returns violations, never raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from loyaltykit.events import AwardResolved, FulfillmentUpdated, MemberRecorded, RewardIssued
from loyaltykit.indexes import INDEXED_KINDS, RecordIndex, Runs, Timeline, held, in_status
from loyaltykit.ledger import CREATED_AT, Transaction, TxnKind, TxnStatus
from loyaltykit.state import fulfillment_groups, member_groups

if TYPE_CHECKING:
    from loyaltykit.auditing import Violation
    from loyaltykit.program import Program

__all__ = ["check_indexes"]

Shape = dict[str, Any]
"""An index written out as plain data, for comparison."""


def _timeline(timeline: Timeline | None) -> Shape:
    if timeline is None:
        return {"groups": {}, "changed": []}
    groups = {name: list(ids) for name, ids in timeline.groups.items() if ids}
    return {"groups": groups, "changed": list(timeline.changed)}


def _runs(runs: Runs) -> list[int]:
    return list(runs.starts)


def _starts(times: Iterable[tuple[int, datetime]]) -> list[int]:
    starts: list[int] = []
    last: datetime | None = None
    for ident, created_at in times:
        if last is not None and created_at < last:
            starts.append(ident)
        last = created_at
    return starts


class _Scan:
    """The indexes rebuilt from the journal, as plain data."""

    def __init__(self) -> None:
        self.txns: list[Transaction] = []
        self.scopes: dict[int | None, dict[str, Any]] = {}
        self.totals: dict[int, tuple[int, int, int | None]] = {}
        self.profiles: dict[int, Any] = {}
        self.fulfillments: dict[int, Any] = {}
        self.resolved: set[int] = set()

    def scope(self, member_id: int | None) -> dict[str, Any]:
        return self.scopes.setdefault(member_id, {"groups": {}, "changed": []})

    def run(self, journal: Iterable[object]) -> None:
        for event in journal:
            if isinstance(event, Transaction):
                self.on_txn(event)
            elif isinstance(event, AwardResolved):
                self.on_resolved(event)
            elif isinstance(event, MemberRecorded):
                self.profiles[event.profile.id] = (
                    self.profiles.get(event.profile.id, (event.profile,))[0],
                    event.profile,
                )
                self.totals.setdefault(event.profile.id, (0, 0, None))
            elif isinstance(event, RewardIssued):
                self.fulfillments[event.fulfillment.id] = (event.fulfillment, event.fulfillment)
            elif isinstance(event, FulfillmentUpdated):
                first = self.fulfillments[event.fulfillment.id][0]
                self.fulfillments[event.fulfillment.id] = (first, event.fulfillment)

    def on_txn(self, txn: Transaction) -> None:
        self.txns.append(txn)
        kind, status = txn.kind.value, txn.status.value
        for member_id in (None, txn.member_id):
            groups = self.scope(member_id)["groups"]
            if kind in INDEXED_KINDS:
                groups.setdefault(kind, []).append(txn.id)
            if txn.status is not TxnStatus.POSTED:
                groups.setdefault(held(kind), []).append(txn.id)
                groups.setdefault(in_status(status, kind), []).append(txn.id)
        if txn.status is TxnStatus.POSTED:
            self.post(txn)

    def post(self, txn: Transaction) -> None:
        redeemed, recovered, last = self.totals.get(txn.member_id, (0, 0, None))
        if txn.points > 0:
            last = txn.id if last is None else max(last, txn.id)
        elif txn.kind is TxnKind.REDEEM:
            redeemed -= txn.points
        elif txn.kind in (TxnKind.CLAWBACK, TxnKind.SETTLE):
            recovered -= txn.points
        self.totals[txn.member_id] = (redeemed, recovered, last)

    def on_resolved(self, event: AwardResolved) -> None:
        txn = self.txns[event.txn_id - 1]
        if txn.status is not TxnStatus.PENDING or txn.id in self.resolved:
            return  # as the program's fold: a second resolution changes nothing
        self.resolved.add(txn.id)
        kind = txn.kind.value
        for member_id in (None, txn.member_id):
            scope = self.scope(member_id)
            scope["groups"][in_status(txn.status.value, kind)].remove(txn.id)
            if event.approved:
                scope["changed"].append((event.at, txn.id))
            else:
                scope["groups"].setdefault(in_status("rejected", kind), []).append(txn.id)
        if event.approved:
            self.post(txn._replace(status=TxnStatus.POSTED))


def _records(
    pairs: dict[int, tuple[Any, Any]],
    groups_of: Callable[[Any], Sequence[str]],
    member_of: Callable[[Any], int] | None,
) -> dict[int | None, Shape]:
    """Per scope (None: every record) the groups and changed records of `pairs` (id ->
    (first recorded, latest))."""
    scopes: dict[int | None, Shape] = {}
    for ident, (first, latest) in pairs.items():
        owners = [None] if member_of is None else [None, member_of(latest)]
        for owner in owners:
            scope = scopes.setdefault(owner, {"groups": {}, "changed": []})
            for name in groups_of(latest):
                scope["groups"].setdefault(name, []).append(ident)
            if latest.updated_at != first.created_at:
                scope["changed"].append((latest.updated_at, ident))
    for scope in scopes.values():
        scope["groups"] = {name: sorted(ids) for name, ids in scope["groups"].items()}
        scope["changed"].sort()
    return scopes


def _owner(record: Any) -> int:
    member_id: int = record.member_id
    return member_id


def _held(index: RecordIndex, member_id: int | None) -> Shape:
    if member_id is None:
        return _timeline(index.timeline)
    return _timeline(index.members.get(member_id))


def check_indexes(program: Program) -> list[Violation]:
    """Every index of the program's state against a scan of its journal."""
    from loyaltykit.auditing import Violation

    found: list[Violation] = []

    def differ(what: str, member_id: int | None, expected: object, actual: object) -> None:
        if expected != actual:
            found.append(
                Violation(
                    "index_mismatch",
                    member_id,
                    f"{what}: index {actual!r} != journal scan {expected!r}",
                )
            )

    state = program.raw_state
    scan = _Scan()
    scan.run(program.journal())
    ledger = state.ledger_index
    ledger.runs.catch_up(state.txns, CREATED_AT)
    expected_starts = _starts((txn.id, txn.created_at) for txn in scan.txns)
    differ("ledger runs", None, expected_starts, _runs(ledger.runs))
    for member_id, scope in scan.scopes.items():
        timeline = ledger.program if member_id is None else ledger.members.get(member_id)
        expected = {"groups": scope["groups"], "changed": sorted(scope["changed"])}
        expected["groups"] = {k: sorted(v) for k, v in expected["groups"].items() if v}
        differ("ledger timeline", member_id, expected, _timeline(timeline))
    for member_id in ledger.members.keys() - scan.scopes.keys():
        differ("ledger timeline", member_id, _timeline(None), _timeline(ledger.members[member_id]))
    for member_id, totals in scan.totals.items():
        account = state.accounts.get(member_id)
        actual = (account.redeemed, account.recovered, account.newest_credit()) if account else None
        differ("redeemed, recovered, last credit", member_id, totals, actual)

    owners: list[tuple[str, RecordIndex, dict[int, Any], Any, Callable[[Any], int] | None]] = [
        ("members", state.member_index, scan.profiles, member_groups, None),
        ("fulfillments", state.fulfillment_index, scan.fulfillments, fulfillment_groups, _owner),
    ]
    for name, index, pairs, groups_of, member_of in owners:
        differ(f"{name} ids", None, list(pairs), index.ids)
        starts = _starts((ident, first.created_at) for ident, (first, _) in pairs.items())
        differ(f"{name} runs", None, starts, _runs(index.runs))
        scopes = _records(pairs, groups_of, member_of)
        for owner in scopes.keys() | index.members.keys():
            expected = scopes.get(owner, {"groups": {}, "changed": []})
            differ(f"{name} timeline", owner, expected, _held(index, owner))
        if member_of is not None:
            by_member: dict[int, list[int]] = {}
            for ident, (_, latest) in pairs.items():
                by_member.setdefault(member_of(latest), []).append(ident)
            differ(f"{name} by member", None, by_member, index.member_ids)
    by_txn = {
        latest.txn_id: ident
        for ident, (_, latest) in scan.fulfillments.items()
        if latest.txn_id is not None
    }
    differ("fulfillment by transaction", None, by_txn, state.by_txn)
    return found
