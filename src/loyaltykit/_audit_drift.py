"""State drift: the program's incrementally kept state against the audit's own fold.

Every part of `State` that a command or the fold maintains is compared with what the
journal says it should be (`_audit_fold.Fold`), so a state that drifted from its journal is
caught without replaying it: ledger rows, lots, member totals and histories, tiers and
their change records, configuration, pools, rewards, orders, referrals, keys, ids and the
schedule of due work.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from loyaltykit.ledger import NEVER, TxnStatus, from_row
from loyaltykit.members import MemberState
from loyaltykit.orders import ClawbackPolicy
from loyaltykit.rules import window_end
from loyaltykit.state import DUE_APPROVAL, DUE_EXPIRY, DUE_ROLLOVER, State
from loyaltykit.tiers import Metric

if TYPE_CHECKING:
    from loyaltykit._audit_fold import Fold, RefAccount

__all__ = ["compare"]


def compare(fold: Fold, state: State, policy: ClawbackPolicy) -> None:
    _ledger(fold, state)
    for ref in fold.accounts.values():
        _account(fold, state, policy, ref)
    extra = set(state.accounts) - set(fold.accounts)
    if extra:
        fold.fail("unknown_account", min(extra), f"accounts {sorted(extra)} have no member")
    _tier_changes(fold, state)
    _records(fold, state)
    _due(fold, state)


def _ledger(fold: Fold, state: State) -> None:
    if len(state.txns) != len(fold.txns):
        fold.fail(
            "txn_record", None, f"{len(state.txns)} ledger rows for {len(fold.txns)} transactions"
        )
    for index, row in enumerate(state.txns):
        txn = from_row(row)
        expected = fold.txns.get(index + 1)
        if txn != expected:
            fields = txn._fields
            differ = (
                [n for n in fields if getattr(txn, n) != getattr(expected, n)]
                if expected is not None
                else ["id"]
            )
            fold.fail(
                "txn_record",
                txn.member_id,
                f"ledger row {index + 1} differs from its journal in {', '.join(differ)}",
            )
            break
    remaining = {lot: left for lot, left in state.remaining.items() if left}
    expected_remaining = {
        lot: left for ref in fold.accounts.values() for lot, left in ref.remaining.items()
    }
    _same(fold, "lot_remaining", None, "points left in lots", remaining, expected_remaining)
    _same(fold, "expired_record", None, "expired points per lot", state.expired_of, fold.expired_of)


def _account(fold: Fold, state: State, policy: ClawbackPolicy, ref: RefAccount) -> None:
    member_id = ref.member_id
    account = state.accounts.get(member_id)
    if account is None:
        fold.fail("missing_account", member_id, "member has no account")
        return
    negative = policy is ClawbackPolicy.NEGATIVE_BALANCE
    balance = account.available - (account.debt if negative else 0)
    if balance != ref.posted_sum:
        fold.fail(
            "balance_vs_transactions",
            member_id,
            f"balance {balance} != sum of posted transactions {ref.posted_sum}",
        )
    live = sum(ref.remaining[lot_id] for _, lot_id in ref.lots)
    if account.available != live:
        fold.fail("balance_vs_lots", member_id, f"available {account.available} != lots {live}")
    if balance < 0 and not negative:
        fold.fail("negative_balance", member_id, f"balance {balance} under {policy}")
    order = account.lot_ids()
    kept = {lot_id: state.remaining.get(lot_id, 0) for lot_id in order}
    expected = {lot_id: ref.remaining[lot_id] for _, lot_id in ref.lots}
    if kept != expected or order != [lot_id for _, lot_id in ref.lots]:
        fold.fail(
            "lot_consumption",
            member_id,
            f"live lots {kept} differ from consumption-order reference {expected}",
        )
    for lot_id, left in kept.items():
        amount = ref.amounts.get(lot_id, 0)
        if not 0 < left <= amount:
            fold.fail("lot_bounds", member_id, f"lot {lot_id} has {left} of {amount}")
    totals = (account.earned, account.spent, account.expired, account.clawed_back)
    expected_totals = (ref.earned, ref.spent, ref.expired, ref.clawed)
    if totals != expected_totals:
        fold.fail(
            "counters",
            member_id,
            f"earned/spent/expired/clawed {totals} != {expected_totals}",
        )
    if account.earned != account.available + account.spent + account.expired + (
        account.clawed_back
    ):
        fold.fail("conservation", member_id, "earned != available + spent + expired + clawed back")
    if account.debt != ref.debt:
        fold.fail("debt", member_id, f"debt {account.debt} != {ref.debt}")
    kept_totals = {
        "pending": account.pending,
        "written_off": account.written_off,
        "amount_spent": account.amount_spent,
        "points_metric": Decimal(account.points_metric),
    }
    ref_totals = {
        "pending": ref.pending,
        "written_off": ref.written_off,
        "amount_spent": ref.totals.get(Metric.AMOUNT_SPENT, Decimal(0)),
        "points_metric": ref.totals.get(Metric.POINTS_EARNED, Decimal(0)),
    }
    _same(fold, "account_totals", member_id, "totals", kept_totals, ref_totals)
    _same(fold, "member_transactions", member_id, "transaction ids", account.txn_ids, ref.txn_ids)
    award_times = {rule: times for rule, times in account.award_times.items() if times}
    ref_times = {rule: times for rule, times in ref.award_times.items() if times}
    _same(fold, "award_history", member_id, "award times per rule", award_times, ref_times)
    _same(fold, "tier_floor", member_id, "tier floors", account.tier_floors, ref.floors)
    _same(fold, "tier_metric", member_id, "tier metrics", account.metrics, ref.metrics)
    profile = fold.profiles.get(member_id)
    disabled = profile is not None and profile.state is MemberState.DISABLED
    if account.disabled != disabled:
        fold.fail("member_state", member_id, f"account disabled={account.disabled}")
    for track_id in fold.tracks:
        reached = fold.tier_of(ref, track_id)
        computed = reached.id if reached is not None else None
        recorded = account.tiers.get(track_id)
        if recorded != computed:
            value = ref.metrics.get(track_id, (None, Decimal(0)))[1]
            fold.fail(
                "tier_mismatch",
                member_id,
                f"track {track_id}: recorded tier {recorded} but computed {computed} from {value}",
            )


def _tier_changes(fold: Fold, state: State) -> None:
    """Every change has its record: per member and track the records chain from no tier
    to the tier held now, each one a real change."""
    held: dict[tuple[int, int], int | None] = {}
    for change in state.tier_changes:
        key = (change.member_id, change.track_id)
        before = held.get(key)
        if change.from_tier != before or change.from_tier == change.to_tier:
            fold.fail(
                "tier_change_record",
                change.member_id,
                f"track {change.track_id}: change {change.from_tier}->{change.to_tier} at "
                f"{change.at} follows tier {before}",
            )
        held[key] = change.to_tier
    for member_id, account in state.accounts.items():
        for track_id, tier_id in account.tiers.items():
            if held.get((member_id, track_id)) != tier_id:
                fold.fail(
                    "tier_change_record",
                    member_id,
                    f"track {track_id}: tier {tier_id} held without a change record",
                )


def _records(fold: Fold, state: State) -> None:
    _same(fold, "profile", None, "member profiles", state.profiles, fold.profiles)
    profiles = fold.profiles.values()
    indexes = (
        ("email", state.by_email, {p.email.lower(): p.id for p in profiles if p.email}),
        (
            "external id",
            state.by_external_id,
            {p.external_id: p.id for p in profiles if p.external_id},
        ),
        (
            "referral code",
            state.by_referral_code,
            {p.referral_code: p.id for p in profiles if p.referral_code},
        ),
    )
    for name, kept, expected in indexes:
        _same(fold, "member_index", None, f"members by {name}", kept, expected)
    for name, kept_config, ref_config in (
        ("rules", state.rules, fold.rules),
        ("offers", state.offers, fold.offers),
        ("tracks", state.tracks, fold.tracks),
        ("tiers", state.tiers, fold.tiers),
    ):
        _same(fold, "configuration", None, name, kept_config, ref_config)
    ladders = {track_id: fold.ladder(track_id) for track_id in fold.tracks}
    _same(fold, "configuration", None, "tier ladders", state.ladders, ladders)
    if state.referral_rewards != fold.referral_rewards:
        fold.fail("configuration", None, "referral rewards differ from the journal")
    pools = {
        pool_id: (kept.pool, kept.available, kept.issued) for pool_id, kept in state.pools.items()
    }
    ref_pools = {
        pool_id: (ref.pool, ref.available, ref.issued) for pool_id, ref in fold.pools.items()
    }
    _same(
        fold, "pool_state", None, "pools (definition, codes left, codes issued)", pools, ref_pools
    )
    _same(fold, "fulfillment_state", None, "rewards", state.fulfillments, fold.fulfillments)
    _same(fold, "fulfillment_state", None, "rewards by code", state.by_code, fold.by_code)
    _same(fold, "order_state", None, "orders", state.orders, fold.orders)
    _same(fold, "order_state", None, "order awards", state.order_awards, fold.order_awards)
    _same(fold, "referral_state", None, "referrals", state.referrals, fold.referrals)
    _same(
        fold,
        "referral_state",
        None,
        "referrals by receiver",
        state.referral_by_receiver,
        fold.referral_by_receiver,
    )
    _same(fold, "key_state", None, "idempotency keys", state.keys, fold.keys)
    _same(fold, "id_counters", None, "id counters", state.counters, fold.counters)


def _due(fold: Fold, state: State) -> None:
    """Every live expiring lot, awaited approval and running period has its due entry."""
    scheduled = set(state.due)
    needed: list[tuple[Any, ...]] = []
    for ref in fold.accounts.values():
        needed += [(at, DUE_EXPIRY, lot_id, 0) for at, lot_id in ref.lots if at != NEVER]
        for track_id, (period, _) in ref.metrics.items():
            track = fold.tracks.get(track_id)
            end = window_end(track.window, period) if track and period else None
            if end is not None:
                needed.append((end, DUE_ROLLOVER, ref.member_id, track_id))
    needed += [
        (t.auto_approve_at, DUE_APPROVAL, t.id, 0)
        for t in fold.txns.values()
        if t.status is TxnStatus.PENDING and t.auto_approve_at is not None
    ]
    missing = [entry for entry in needed if entry not in scheduled]
    if missing:
        fold.fail("due_schedule", None, f"due work never scheduled: {missing[0]}")


def _same(
    fold: Fold, code: str, member_id: int | None, what: str, kept: object, expected: object
) -> None:
    """Report the first difference between a kept part of the state and its reference."""
    if kept == expected:
        return
    if isinstance(kept, Mapping) and isinstance(expected, Mapping):
        for key in sorted(set(kept) | set(expected), key=repr):
            mine, theirs = kept.get(key, "<missing>"), expected.get(key, "<missing>")
            if mine != theirs:
                fold.fail(
                    code, member_id, f"{what}[{key!r}]: kept {mine!r}, journal says {theirs!r}"
                )
                return
    fold.fail(code, member_id, f"{what}: kept {kept!r}, journal says {expected!r}")
