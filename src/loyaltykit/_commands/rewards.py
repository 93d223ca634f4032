"""Commands on rewards: coupon pools, reward offers, redemption and grants, fulfillments.

Each function is a method of `Program` (bound there by name, see `loyaltykit.program`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from loyaltykit import _validate as v
from loyaltykit._kernel import ProgramKernel, _enum, _evolve, _is_id, _lookup
from loyaltykit.coupons import CouponPool, PoolState
from loyaltykit.errors import (
    FulfillmentExpired,
    FulfillmentNotFound,
    InsufficientPoints,
    InvalidArgument,
    OfferInactive,
    PoolExhausted,
    PoolNotFound,
    TierNotEligible,
    TierNotFound,
)
from loyaltykit.events import (
    CodesAdded,
    FulfillmentUpdated,
    OfferDefined,
    PoolDefined,
    RewardIssued,
)
from loyaltykit.ledger import Account, Transaction, TxnKind, TxnStatus
from loyaltykit.limits import MAX_CODE
from loyaltykit.metadata import checked_metadata
from loyaltykit.rewards import (
    REDEMPTION,
    Fulfillment,
    PriceKind,
    RewardOffer,
    UsageStatus,
    price_and_value,
)

_POSTED = TxnStatus.POSTED


def add_pool(
    self: ProgramKernel,
    *,
    name: str,
    codes: Sequence[str] = (),
    prefix: str | None = None,
    suffix_length: int = 12,
    expires_at: datetime | None = None,
) -> CouponPool:
    """A coupon pool: uploaded one-time `codes`, or generated `prefix-<hex>` codes."""
    with self._lock:
        now = self._begin()
        v.text(name, "name")
        clean = _checked_codes(self, codes, set())
        if prefix is not None:
            v.code(prefix, "prefix")
            if clean:
                raise InvalidArgument("codes", "a pool has either codes or a prefix, not both")
        room = MAX_CODE - (len(prefix) + 1 if prefix is not None else 0)
        v.points(suffix_length, "suffix_length", bound=max(room, 1))
        pool = CouponPool(
            self._state.peek_id("pool"),
            name,
            clean,
            prefix,
            suffix_length,
            v.optional_moment(expires_at, "expires_at"),
        )
        self._emit(PoolDefined(pool, now))
        return pool


def add_codes(self: ProgramKernel, pool_id: int, codes: Sequence[str]) -> int:
    """Upload more one-time codes to a list pool; returns how many are now available."""
    with self._lock:
        now = self._begin()
        state = _pool_state(self, pool_id)
        if state.pool.generated:
            raise InvalidArgument("codes", f"pool {pool_id} generates its codes")
        clean = _checked_codes(self, codes, set(state.available) | state.issued)
        self._emit(CodesAdded(pool_id, clean, now))
        return len(state.available)


def update_pool(self: ProgramKernel, pool_id: int, **changes: Any) -> CouponPool:
    """Rename a pool or change its expiry; codes change through `add_codes`."""
    with self._lock:
        now = self._begin()
        state = _pool_state(self, pool_id)
        if set(changes) - {"name", "expires_at"}:
            bad = sorted(set(changes) - {"name", "expires_at"})[0]
            raise InvalidArgument(bad, f"pool field {bad!r} cannot be changed")
        if "name" in changes:
            v.text(changes["name"], "name")
        if "expires_at" in changes:
            changes["expires_at"] = v.optional_moment(changes["expires_at"], "expires_at")
        pool = attrs.evolve(state.pool, **changes)
        self._emit(PoolDefined(pool, now))
        return pool


def _checked_codes(self: ProgramKernel, codes: Iterable[str], taken: set[str]) -> tuple[str, ...]:
    """Codes are unique across the whole program: a code is issued at most once."""
    if isinstance(codes, str | bytes) or not isinstance(codes, Iterable):
        raise InvalidArgument("codes", f"codes must be a list of strings, got {v.shown(codes)}")
    codes = tuple(codes)
    for state in self._state.pools.values():
        taken = taken | set(state.available) | state.issued
    seen: set[str] = set()
    for code in codes:
        v.code(code, "codes")
        if code in seen or code in taken or code in self._state.by_code:
            raise InvalidArgument("codes", f"duplicate coupon code {code!r}")
        seen.add(code)
    return tuple(codes)


def _pool_state(self: ProgramKernel, pool_id: object) -> PoolState:
    state = _lookup(self._state.pools, pool_id)
    if state is None:
        raise PoolNotFound(pool_id)
    return state


def pool(self: ProgramKernel, pool_id: int) -> CouponPool:
    with self._lock:
        self._read_configuration()
        return _pool_state(self, pool_id).pool


def pools(self: ProgramKernel) -> list[CouponPool]:
    with self._lock:
        self._read_configuration()
        return [s.pool for s in self._state.pools.values()]


def pool_remaining(self: ProgramKernel, pool_id: int) -> int | None:
    """Codes left to issue (None for a generator pool, which never runs out)."""
    with self._lock:
        self._begin_read()
        return _pool_state(self, pool_id).remaining()


def add_offer(
    self: ProgramKernel,
    *,
    name: str,
    price_kind: PriceKind = PriceKind.FIXED,
    points_price: int = 0,
    step: int = 1,
    value_per_step: Decimal | int = Decimal(0),
    min_points: int | None = None,
    max_points: int | None = None,
    value: Decimal | int = Decimal(0),
    pool_id: int | None = None,
    active: bool = True,
    eligible_tiers: Sequence[int] = (),
    reward_lifetime: timedelta | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> RewardOffer:
    """Define a reward offer (see `RewardOffer`)."""
    with self._lock:
        now = self._begin()
        offer = _checked_offer(
            self,
            RewardOffer(
                self._state.peek_id("offer"),
                name,
                price_kind,
                points_price,
                step,
                v.money(value_per_step, "value_per_step"),
                min_points,
                max_points,
                v.money(value, "value"),
                pool_id,
                active,
                _tier_ids(eligible_tiers),
                reward_lifetime,
                checked_metadata(metadata),
            ),
        )
        self._emit(OfferDefined(offer, now))
        return offer


def update_offer(self: ProgramKernel, offer_id: int, **changes: Any) -> RewardOffer:
    with self._lock:
        now = self._begin()
        if "eligible_tiers" in changes:
            changes["eligible_tiers"] = _tier_ids(changes["eligible_tiers"])
        offer = _checked_offer(self, _evolve(self._offer(offer_id), changes, "offer"))
        self._emit(OfferDefined(offer, now))
        return offer


def _checked_offer(self: ProgramKernel, offer: RewardOffer) -> RewardOffer:
    v.text(offer.name, "name")
    kind = _enum(PriceKind, offer.price_kind, "price_kind")
    v.points(offer.points_price, "points_price", allow_zero=True)
    v.points(offer.step, "step")
    for field in ("min_points", "max_points"):
        value = getattr(offer, field)
        if value is not None:
            v.points(value, field)
    if (
        offer.min_points is not None
        and offer.max_points is not None
        and offer.min_points > offer.max_points
    ):
        raise InvalidArgument("min_points", "min_points is above max_points")
    if offer.pool_id is not None:
        _pool_state(self, offer.pool_id)
    for tier_id in offer.eligible_tiers:
        if tier_id not in self._state.tiers:
            raise TierNotFound(tier_id)
    if not isinstance(offer.active, bool):
        raise InvalidArgument("active", f"active must be a boolean, got {offer.active!r}")
    v.duration(offer.reward_lifetime, "reward_lifetime")
    return attrs.evolve(
        offer,
        price_kind=kind,
        value=v.money(offer.value, "value"),
        value_per_step=v.money(offer.value_per_step, "value_per_step"),
        metadata=checked_metadata(offer.metadata),
    )


def offer(self: ProgramKernel, offer_id: int) -> RewardOffer:
    with self._lock:
        self._read_configuration()
        return self._offer(offer_id)


def offers(self: ProgramKernel) -> list[RewardOffer]:
    with self._lock:
        self._read_configuration()
        return list(self._state.offers.values())


def redeem(
    self: ProgramKernel,
    member_id: int,
    offer_id: int,
    *,
    points: int | None = None,
    idempotency_key: str | None = None,
) -> Fulfillment:
    """Exchange points for a reward: checks eligibility, balance and the coupon pool
    before taking anything."""
    with self._lock:
        now = self._begin()

        def run() -> Fulfillment:
            account = self._account(member_id)
            offer = self._offer(offer_id)
            if not offer.active:
                raise OfferInactive(f"offer {offer.id} ({offer.name}) is inactive")
            _check_eligible(self, account, offer)
            price, value = price_and_value(offer, points)
            v.money(value, "points")  # a variable reward's value stays within range
            if price > account.available:
                raise InsufficientPoints(member_id, price, account.available)
            return issue(self, account, offer, price, value, now, REDEMPTION)

        return self._idempotent(
            idempotency_key,
            (member_id, offer_id, points),
            "redeem",
            run,
            lambda f: f"fulfillment:{f.id}",
            lambda ref: self._state.fulfillments[int(ref.split(":")[1])],
        )


def grant(
    self: ProgramKernel, member_id: int, offer_id: int, *, source: str = "grant"
) -> Fulfillment:
    """Give a reward for free (referral rewards, goodwill)."""
    with self._lock:
        now = self._begin()
        account = self._account(member_id)
        offer = self._offer(offer_id)
        v.text(source, "source", required=True)
        if source == REDEMPTION:
            raise InvalidArgument("source", "'redemption' names rewards bought with points")
        return issue(self, account, offer, 0, offer.value, now, source)


def can_issue(self: ProgramKernel, offer: RewardOffer, now: datetime) -> bool:
    if offer.pool_id is None:
        return True
    state = self._state.pools[offer.pool_id]
    try:
        state.check_can_issue(now)
    except PoolExhausted:
        return False
    return True


def _check_eligible(self: ProgramKernel, account: Account, offer: RewardOffer) -> None:
    if offer.eligible_tiers and not set(offer.eligible_tiers) & set(account.tiers.values()):
        raise TierNotEligible(
            f"offer {offer.id} is for tiers {list(offer.eligible_tiers)}; member "
            f"{account.member_id} holds {[t for t in account.tiers.values() if t]}"
        )


def issue(
    self: ProgramKernel,
    account: Account,
    offer: RewardOffer,
    price: int,
    value: Decimal,
    now: datetime,
    source: str,
) -> Fulfillment:
    code: str | None = None
    expires_at = now + offer.reward_lifetime if offer.reward_lifetime else None
    if offer.pool_id is not None:
        pool_state = self._state.pools[offer.pool_id]
        pool_state.check_can_issue(now)
        code = pool_state.next_code(self._rng)
        pool_expiry = pool_state.pool.expires_at
        if pool_expiry is not None and (expires_at is None or pool_expiry < expires_at):
            expires_at = pool_expiry
    txn_id = None
    if price:
        txn = Transaction(
            self._next_txn(),
            account.member_id,
            TxnKind.REDEEM,
            -price,
            _POSTED,
            now,
            reference=f"offer:{offer.id}",
            description=f"redeemed {offer.name}",
        )
        self._emit(txn)
        txn_id = txn.id
    fulfillment = Fulfillment(
        self._state.peek_id("fulfillment"),
        account.member_id,
        offer.id,
        price,
        value,
        code,
        now,
        now,
        expires_at,
        usage=UsageStatus.UNUSED if code else UsageStatus.UNTRACKED,
        txn_id=txn_id,
        source=source,
    )
    self._emit(RewardIssued(fulfillment, offer.pool_id))
    return fulfillment


def use_code(self: ProgramKernel, code: str, *, at: datetime | None = None) -> Fulfillment:
    """Mark the reward holding `code` used (idempotent: a used code stays as it was)."""
    with self._lock:
        now = self._begin()
        v.code(code, "code")
        when = v.optional_moment(at, "at") or now
        fulfillment_id = self._state.by_code.get(code)
        if fulfillment_id is None:
            raise FulfillmentNotFound(code)
        fulfillment = self._state.fulfillments[fulfillment_id]
        if fulfillment.usage is UsageStatus.USED:
            return fulfillment
        if fulfillment.expires_at is not None and when >= fulfillment.expires_at:
            raise FulfillmentExpired(f"code {code!r} expired at {fulfillment.expires_at}")
        used = attrs.evolve(fulfillment, usage=UsageStatus.USED, used_at=when, updated_at=now)
        self._emit(FulfillmentUpdated(used))
        return used


def fulfillment(self: ProgramKernel, fulfillment_id: int) -> Fulfillment:
    with self._lock:
        self._begin_read()
        found = self._state.fulfillments.get(fulfillment_id)
        if found is None:
            raise FulfillmentNotFound(fulfillment_id)
        return found


def fulfillment_by_code(self: ProgramKernel, code: str) -> Fulfillment:
    with self._lock:
        self._begin_read()
        fulfillment_id = self._state.by_code.get(code)
        if fulfillment_id is None:
            raise FulfillmentNotFound(code)
        return self._state.fulfillments[fulfillment_id]


def fulfillment_by_transaction(self: ProgramKernel, txn_id: int) -> Fulfillment:
    """The fulfillment a redemption transaction paid for."""
    with self._lock:
        self._begin_read()
        fulfillment_id = self._state.by_txn.get(txn_id) if isinstance(txn_id, int) else None
        if fulfillment_id is None:
            raise FulfillmentNotFound(txn_id)
        return self._state.fulfillments[fulfillment_id]


def fulfillments(self: ProgramKernel, member_id: int | None = None) -> list[Fulfillment]:
    with self._lock:
        self._begin_read()
        return [
            f
            for f in self._state.fulfillments.values()
            if member_id is None or f.member_id == member_id
        ]


def _tier_ids(value: object) -> tuple[int, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidArgument(
            "eligible_tiers", f"eligible_tiers must be a list of tier ids, got {value!r}"
        )
    ids = tuple(value)
    for tier_id in ids:
        if not _is_id(tier_id):
            raise InvalidArgument("eligible_tiers", f"tier id must be an integer, got {tier_id!r}")
    return ids
