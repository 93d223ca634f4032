"""Coupon pools: where reward codes come from; every code is issued at most once."""

from __future__ import annotations

import random
from datetime import datetime

import attrs

from loyaltykit.errors import PoolExhausted, PoolExpired

__all__ = ["CouponPool", "PoolState"]


@attrs.frozen
class CouponPool:
    """Either a finite list of uploaded one-time codes, or a generator (prefix + hex suffix)."""

    id: int
    name: str
    codes: tuple[str, ...] = ()
    """Every code uploaded, at definition and later by `Program.add_codes`."""
    prefix: str | None = None
    suffix_length: int = 12
    expires_at: datetime | None = None

    @property
    def generated(self) -> bool:
        return self.prefix is not None


@attrs.define
class PoolState:
    """Mutable issuing state of one pool, kept apart from its frozen definition."""

    pool: CouponPool
    available: list[str] = attrs.field(factory=list)
    issued: set[str] = attrs.field(factory=set)

    def remaining(self) -> int | None:
        return None if self.pool.generated else len(self.available)

    def check_can_issue(self, now: datetime) -> None:
        if self.pool.expires_at is not None and now >= self.pool.expires_at:
            raise PoolExpired(f"coupon pool {self.pool.id} expired at {self.pool.expires_at}")
        if not self.pool.generated and not self.available:
            raise PoolExhausted(f"coupon pool {self.pool.id} has no codes left")

    def next_code(self, rng: random.Random) -> str:
        """The code the next issue will hand out (not yet marked issued)."""
        if not self.pool.generated:
            return self.available[0]
        while True:
            width = self.pool.suffix_length
            suffix = f"{rng.getrandbits(4 * width):0{width}x}"
            code = f"{self.pool.prefix}-{suffix}"
            if code not in self.issued:
                return code

    def mark_issued(self, code: str) -> None:
        if not self.pool.generated and self.available and self.available[0] == code:
            self.available.pop(0)
        elif not self.pool.generated and code in self.available:
            self.available.remove(code)  # a fold never fails on a fact; the audit judges it
        self.issued.add(code)
