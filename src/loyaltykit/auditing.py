"""`audit(program)`: check the ledger's invariants and return violations as data.

The audit recomputes everything from the journal with its own small reference model
(lots in consumption order, counters, issued codes, resolutions, tier metrics) and
compares the result with the program's incrementally kept state. It never raises: an
unexpected failure is itself reported as a violation. Cost is linear in the journal.
"""

from __future__ import annotations

import traceback
from bisect import insort
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from loyaltykit.events import (
    AwardResolved,
    CodesAdded,
    KeyRecorded,
    MemberRecorded,
    OrderRecorded,
    PeriodRolled,
    PoolDefined,
    RewardIssued,
    Shortfall,
    TierDefined,
    TierFloorSet,
    TrackDefined,
)
from loyaltykit.index_audit import check_indexes
from loyaltykit.ledger import NEVER, Transaction, TxnKind, TxnStatus
from loyaltykit.orders import ClawbackPolicy, Order
from loyaltykit.rules import Window, window_start
from loyaltykit.tiers import Metric, Tier, TierTrack, tier_for

if TYPE_CHECKING:
    from loyaltykit.program import Program

__all__ = ["Violation", "audit"]


@attrs.frozen
class Violation:
    """One broken invariant: a stable `code`, the member concerned (if any), details."""

    code: str
    member_id: int | None
    details: str


@attrs.define
class _RefAccount:
    lots: list[tuple[datetime, int]] = attrs.field(factory=list)
    remaining: dict[int, int] = attrs.field(factory=dict)
    amounts: dict[int, int] = attrs.field(factory=dict)
    available: int = 0
    posted_sum: int = 0
    earned: int = 0
    spent: int = 0
    expired: int = 0
    clawed: int = 0
    debt: int = 0
    metrics: dict[int, tuple[datetime | None, Decimal]] = attrs.field(factory=dict)
    lifetime_totals: dict[Metric, Decimal] = attrs.field(factory=dict)
    floors: dict[int, int] = attrs.field(factory=dict)


class _Auditor:
    def __init__(self, program: Program) -> None:
        self.program = program
        self.policy = program.clawback
        self.zone = program.timezone
        self.violations: list[Violation] = []
        self.accounts: dict[int, _RefAccount] = {}
        self.txns: dict[int, Transaction] = {}
        self.expired_lots: Counter[int] = Counter()
        self.resolved: Counter[int] = Counter()
        self.keys: Counter[str] = Counter()
        self.pool_size: dict[int, int | None] = {}
        self.issued: Counter[str] = Counter()
        self.issued_per_pool: Counter[int] = Counter()
        self.tracks: dict[int, TierTrack] = {}
        self.tiers: dict[int, Tier] = {}
        self.orders: dict[str, Order] = {}

    def fail(self, code: str, member_id: int | None, details: str) -> None:
        self.violations.append(Violation(code, member_id, details))

    # -- reference fold --------------------------------------------------------------

    def run(self, journal: Iterable[object]) -> None:
        for event in journal:
            if isinstance(event, Transaction):
                self.on_txn(event)
            elif isinstance(event, MemberRecorded):
                self.accounts.setdefault(event.profile.id, _RefAccount())
            elif isinstance(event, AwardResolved):
                self.on_resolved(event)
            elif isinstance(event, Shortfall):
                account = self.accounts[event.member_id]
                if self.policy is ClawbackPolicy.PENDING_DEDUCTION:
                    account.debt += event.points
                self.metric(
                    event.member_id,
                    Metric.POINTS_EARNED,
                    event.at,
                    -event.points,
                    self.origin(event.order_id),
                )
            elif isinstance(event, KeyRecorded):
                self.keys[event.key] += 1
            elif isinstance(event, PoolDefined):
                size = None if event.pool.generated else len(event.pool.codes)
                self.pool_size.setdefault(event.pool.id, size)
            elif isinstance(event, CodesAdded):
                self.pool_size[event.pool_id] = (self.pool_size.get(event.pool_id) or 0) + len(
                    event.codes
                )
            elif isinstance(event, RewardIssued):
                if event.fulfillment.code is not None:
                    self.issued[event.fulfillment.code] += 1
                if event.pool_id is not None:
                    self.issued_per_pool[event.pool_id] += 1
            elif isinstance(event, TrackDefined):
                if event.track.id not in self.tracks and event.track.window is Window.LIFETIME:
                    for ref in self.accounts.values():
                        total = ref.lifetime_totals.get(event.track.metric, Decimal(0))
                        ref.metrics[event.track.id] = (None, total)
                self.tracks[event.track.id] = event.track
            elif isinstance(event, TierDefined):
                self.tiers[event.tier.id] = event.tier
            elif isinstance(event, TierFloorSet):
                floors = self.accounts[event.member_id].floors
                if event.tier_id is None:
                    floors.pop(event.track_id, None)
                else:
                    floors[event.track_id] = event.tier_id
            elif isinstance(event, PeriodRolled):
                self.accounts[event.member_id].metrics.pop(event.track_id, None)
            else:
                self.on_order_event(event)

    def on_order_event(self, event: object) -> None:
        if not isinstance(event, OrderRecorded):
            return
        order = event.order
        previous = self.orders.get(order.external_id)
        self.orders[order.external_id] = order
        for record, sign in ((previous, -1), (order, 1)):
            if record is None or record.member_id is None or str(record.status) != "paid":
                continue
            net = record.amount - record.returned_amount
            if net:
                self.metric(
                    record.member_id,
                    Metric.AMOUNT_SPENT,
                    order.recorded_at,
                    sign * net,
                    order.paid_at,
                )

    def origin(self, order_id: str | None) -> datetime | None:
        order = self.orders.get(order_id) if order_id is not None else None
        return order.paid_at if order is not None else None

    def on_txn(self, txn: Transaction) -> None:
        if txn.id in self.txns:
            self.fail("duplicate_transaction_id", txn.member_id, f"id {txn.id} used twice")
        self.txns[txn.id] = txn
        if txn.status is TxnStatus.PENDING:
            return
        self.post(txn, txn.created_at)

    def post(self, txn: Transaction, at: datetime) -> None:
        account = self.accounts[txn.member_id]
        points = txn.points
        account.posted_sum += points
        if points > 0:
            account.earned += points
            lot = points
            if self.policy is ClawbackPolicy.NEGATIVE_BALANCE and account.debt:
                settled = min(lot, account.debt)
                account.debt -= settled
                account.clawed += settled
                lot -= settled
            if lot:
                key = (txn.expires_at or NEVER, txn.id)
                insort(account.lots, key)
                account.remaining[txn.id] = lot
                account.available += lot
                account.amounts[txn.id] = points
            self.metric(txn.member_id, Metric.POINTS_EARNED, at, points)
            return
        need = -points
        if txn.kind is TxnKind.EXPIRE:
            lot_id = txn.source_id
            assert lot_id is not None
            self.expired_lots[lot_id] += 1
            if self.expired_lots[lot_id] > 1:
                self.fail("lot_expired_twice", txn.member_id, f"lot {lot_id} expired again")
            source = self.txns.get(lot_id)
            if source is None or source.expires_at is None or txn.created_at < source.expires_at:
                self.fail(
                    "early_expiry",
                    txn.member_id,
                    f"lot {lot_id} expired at {txn.created_at} before its expiry instant",
                )
            if account.remaining.get(lot_id, 0) != need:
                self.fail(
                    "expiry_amount",
                    txn.member_id,
                    f"lot {lot_id} expired {need} points "
                    f"but had {account.remaining.get(lot_id, 0)} left",
                )
            account.available -= account.remaining.get(lot_id, 0)
            account.remaining[lot_id] = 0
            if source is not None and (source.expires_at or NEVER, lot_id) in account.lots:
                account.lots.remove((source.expires_at or NEVER, lot_id))
            account.expired += need
            return
        available = account.available
        take = min(need, available) if txn.kind is TxnKind.CLAWBACK else need
        if take > available:
            self.fail(
                "overdraft",
                txn.member_id,
                f"transaction {txn.id} takes {take} of {available} available points",
            )
            take = available
        left = take
        while left and account.lots:
            _, lot_id = account.lots[0]
            part = min(left, account.remaining[lot_id])
            account.remaining[lot_id] -= part
            left -= part
            if account.remaining[lot_id] == 0:
                account.lots.pop(0)
        account.available -= take - left
        if txn.kind is TxnKind.CLAWBACK:
            account.clawed += take
            account.debt += need - take
            self.metric(
                txn.member_id,
                Metric.POINTS_EARNED,
                txn.created_at,
                -need,
                self.origin(txn.order_id),
            )
        elif txn.kind is TxnKind.SETTLE:
            account.clawed += need
            account.debt -= need
        else:
            account.spent += need

    def on_resolved(self, event: AwardResolved) -> None:
        self.resolved[event.txn_id] += 1
        txn = self.txns.get(event.txn_id)
        if txn is None or txn.status is not TxnStatus.PENDING:
            self.fail("resolved_non_pending", None, f"transaction {event.txn_id} was not pending")
            return
        if self.resolved[event.txn_id] > 1:
            self.fail("resolved_twice", txn.member_id, f"award {event.txn_id} resolved again")
            return
        if event.approved:
            approved = txn._replace(status=TxnStatus.POSTED, expires_at=event.expires_at)
            self.txns[event.txn_id] = approved
            self.post(approved, event.at)
        else:
            self.txns[event.txn_id] = txn._replace(status=TxnStatus.REJECTED)

    def metric(
        self,
        member_id: int,
        metric: Metric,
        at: datetime,
        delta: Decimal | int,
        origin: datetime | None = None,
    ) -> None:
        account = self.accounts[member_id]
        totals = account.lifetime_totals
        totals[metric] = totals.get(metric, Decimal(0)) + Decimal(delta)
        for track in self.tracks.values():
            if track.metric is not metric:
                continue
            start = window_start(track.window, at, self.zone)
            if origin is not None and window_start(track.window, origin, self.zone) != start:
                continue
            period, value = account.metrics.get(track.id, (None, Decimal(0)))
            if track.window is not Window.LIFETIME and start != period:
                if period is not None and start is not None and start < period:
                    continue
                value = Decimal(0)
            account.metrics[track.id] = (start, value + Decimal(delta))

    # -- comparison with the program's state -----------------------------------------

    def compare(self) -> None:
        state = self.program.raw_state
        negative = self.policy is ClawbackPolicy.NEGATIVE_BALANCE
        for member_id, ref in self.accounts.items():
            account = state.accounts.get(member_id)
            if account is None:
                self.fail("missing_account", member_id, "member has no account")
                continue
            available = sum(ref.remaining[k[1]] for k in ref.lots)
            balance = account.available - (account.debt if negative else 0)
            if balance != ref.posted_sum:
                self.fail(
                    "balance_vs_transactions",
                    member_id,
                    f"balance {balance} != sum of posted transactions {ref.posted_sum}",
                )
            if account.available != available:
                self.fail(
                    "balance_vs_lots",
                    member_id,
                    f"available {account.available} != live lots {available}",
                )
            if balance < 0 and not negative:
                self.fail("negative_balance", member_id, f"balance {balance} under {self.policy}")
            order = account.lot_ids()
            live = {lot_id: state.remaining.get(lot_id, 0) for lot_id in order}
            expected = {k[1]: ref.remaining[k[1]] for k in ref.lots}
            if live != expected or order != [k[1] for k in ref.lots]:
                self.fail(
                    "lot_consumption",
                    member_id,
                    f"live lots {live} differ from consumption-order reference {expected}",
                )
            for lot_id, left in live.items():
                amount = ref.amounts.get(lot_id, 0)
                if not 0 < left <= amount:
                    self.fail("lot_bounds", member_id, f"lot {lot_id} has {left} of {amount}")
            totals = (account.earned, account.spent, account.expired, account.clawed_back)
            if totals != (ref.earned, ref.spent, ref.expired, ref.clawed):
                self.fail(
                    "counters",
                    member_id,
                    f"earned/spent/expired/clawed {totals} != "
                    f"{(ref.earned, ref.spent, ref.expired, ref.clawed)}",
                )
            if account.earned != account.available + account.spent + account.expired + (
                account.clawed_back
            ):
                self.fail(
                    "conservation", member_id, "earned != available + spent + expired + clawed back"
                )
            tracks_debt = negative or self.policy is ClawbackPolicy.PENDING_DEDUCTION
            if tracks_debt and account.debt != ref.debt:
                self.fail("debt", member_id, f"debt {account.debt} != {ref.debt}")
            self.check_tiers(member_id, ref, account.tiers)
        for code, count in self.issued.items():
            if count > 1:
                self.fail("code_issued_twice", None, f"coupon code {code!r} issued {count} times")
        for pool_id, count in self.issued_per_pool.items():
            size = self.pool_size.get(pool_id)
            if size is not None and count > size:
                self.fail("pool_overissued", None, f"pool {pool_id} issued {count} of {size}")
        for key, count in self.keys.items():
            if count > 1:
                self.fail("key_applied_twice", None, f"idempotency key {key!r} applied {count}x")

    def check_tiers(
        self, member_id: int, ref: _RefAccount, recorded: dict[int, int | None]
    ) -> None:
        ladders: dict[int, list[Tier]] = {}
        for tier in self.tiers.values():
            ladders.setdefault(tier.track_id, []).append(tier)
        for track_id in self.tracks:
            ladder = sorted(ladders.get(track_id, []), key=lambda t: (t.threshold, t.id))
            value = ref.metrics.get(track_id, (None, Decimal(0)))[1]
            floor_id = ref.floors.get(track_id)
            floor = self.tiers.get(floor_id) if floor_id is not None else None
            reached = tier_for(ladder, value, floor)
            expected = reached.id if reached is not None else None
            if recorded.get(track_id) != expected:
                self.fail(
                    "tier_mismatch",
                    member_id,
                    f"track {track_id}: recorded tier "
                    f"{recorded.get(track_id)} but computed {expected} from {value}",
                )

    def check_replay(self) -> None:
        from loyaltykit.program import Program

        program = self.program
        replayed = Program.replay(
            program.journal(),
            program.clock,
            name=program.name,
            clawback=program.clawback,
            timezone=program.timezone,
            started_at=program.started_at,
        )
        if replayed.state() != program.state():
            self.fail("replay_mismatch", None, "replaying the journal gives a different state")


def audit(program: Program, *, replay: bool = True) -> list[Violation]:
    """Every broken invariant of DESIGN.md section 3, as data; an empty list means clean.

    `replay=False` skips the replay-equality check (the only part that rebuilds state).
    """
    auditor = _Auditor(program)
    try:
        with program._lock:
            auditor.run(program.journal())
            auditor.compare()
            auditor.violations += check_indexes(program)
            if replay:
                auditor.check_replay()
    except Exception as exc:  # the audit reports, it never raises
        auditor.fail("audit_error", None, "".join(traceback.format_exception_only(exc)).strip())
    return auditor.violations
