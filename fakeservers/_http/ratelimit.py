"""A leaky-bucket rate limiter driven by an injected clock, so tests are deterministic."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from datetime import datetime

from fakeservers._http.clock import Clock
from fakeservers._http.errors import RateLimited

__all__ = ["LeakyBucket"]


class LeakyBucket:
    """Each request pours one unit into the caller's bucket, which leaks `rate` units a second.

    A request that would overflow `capacity` is refused (and not counted), so a caller who
    keeps to `rate` requests a second is never refused.
    """

    def __init__(self, clock: Clock, *, rate: float = 10.0, capacity: float = 10.0) -> None:
        self._clock = clock
        self.rate = rate
        self.capacity = capacity
        self._levels: dict[Hashable, tuple[float, datetime]] = {}
        self._lock = threading.Lock()

    def hit(self, key: Hashable) -> None:
        """Count one request for `key`; raise RateLimited if the bucket is full."""
        now = self._clock.now()
        with self._lock:
            level = self._level(key, now)
            if level + 1 > self.capacity:
                self._levels[key] = (level, now)
                raise RateLimited((level + 1 - self.capacity) / self.rate)
            self._levels[key] = (level + 1, now)

    def level(self, key: Hashable) -> float:
        """Units currently in `key`'s bucket (after leaking up to now)."""
        with self._lock:
            return self._level(key, self._clock.now())

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._levels.pop(key, None)

    def _level(self, key: Hashable, now: datetime) -> float:
        entry = self._levels.get(key)
        if entry is None:
            return 0.0
        level, since = entry
        elapsed = max((now - since).total_seconds(), 0.0)
        return max(level - elapsed * self.rate, 0.0)
