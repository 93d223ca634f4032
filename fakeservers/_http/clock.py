"""Clock protocols the plumbing relies on, and an adjustable wall clock for served fakes.

The protocols are structural, so `loyaltykit.ManualClock` and `loyaltykit.SystemClock`
satisfy them; only the range every clock must keep to comes from the core.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from loyaltykit.clock import LATEST, within_range

__all__ = ["AdjustableClock", "Clock", "OffsetClock"]


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the current UTC instant."""

    def now(self) -> datetime: ...


@runtime_checkable
class AdjustableClock(Clock, Protocol):
    """A clock the control plane may set and advance (e.g. `loyaltykit.ManualClock`)."""

    def set(self, moment: datetime) -> datetime: ...

    def advance(self, delta: timedelta | float = 0.0) -> datetime: ...


class OffsetClock:
    """Wall time plus an adjustable offset: real ticking for interactive use, yet settable.

    `loyaltykit.ManualClock` never moves by itself, which makes a served fake stamp every
    object with the same instant; this clock keeps ticking after `set` or `advance`.
    `offset` starts it where a previous run left it; `on_change(offset)` is told every new
    offset before it applies (a persistent fake saves it there; if it raises, the clock
    stays where it was).
    """

    __slots__ = ("_base", "_lock", "_offset", "_on_change")

    def __init__(
        self,
        base: Clock,
        offset: timedelta = timedelta(0),
        on_change: Callable[[timedelta], None] | None = None,
    ) -> None:
        self._base = base
        self._offset = offset
        self._on_change = on_change
        self._lock = threading.Lock()

    @property
    def offset(self) -> timedelta:
        """How far this clock is ahead of its base (negative: behind)."""
        return self._offset

    def now(self) -> datetime:
        return self._base.now() + self._offset

    def set(self, moment: datetime) -> datetime:
        moment = within_range(moment, "moment")  # a ValueError outside the core's range
        with self._lock:
            self._move(moment - self._base.now())
            return moment

    def advance(self, delta: timedelta | float = 0.0) -> datetime:
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("cannot advance the clock backwards")
        with self._lock:
            if step > LATEST - self.now():
                raise ValueError(f"advancing by {step} would pass {LATEST.isoformat()}")
            self._move(self._offset + step)
        return self.now()

    def _move(self, offset: timedelta) -> None:
        if self._on_change is not None:
            self._on_change(offset)
        self._offset = offset
