"""Time as an injected dependency: the only module allowed to read the system time.

Every part of loyaltykit asks a `Clock` for the current instant, so tests and the fake
servers can freeze, set and advance time deterministically.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_LIFETIME",
    "Clock",
    "ManualClock",
    "SystemClock",
    "ensure_utc",
    "within_range",
]

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
"""The earliest instant a `ManualClock` may show."""
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""The latest instant a `ManualClock` may show: lifetimes are capped at a century, so every
expiry, approval date and calendar window the core derives from the clock stays inside
`datetime`'s range (year 9999) instead of overflowing half-way through a command."""
MAX_LIFETIME = timedelta(days=36525)
"""A century: the longest lifetime or delay a command accepts (points, rewards, approval
delays), so every instant derived from a clock within [EARLIEST, LATEST] has a calendar."""


def ensure_utc(moment: datetime, field: str = "datetime") -> datetime:
    """Return `moment` in UTC; a naive datetime is refused because its zone is a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        from loyaltykit.errors import InvalidArgument

        raise InvalidArgument(field, f"{field} must be timezone-aware, got naive {moment!r}")
    if moment.tzinfo is UTC:
        return moment
    return moment.astimezone(UTC)


def within_range(moment: datetime, field: str = "moment") -> datetime:
    """Return `moment` in UTC if it lies in [EARLIEST, LATEST]; refuse it otherwise."""
    moment = ensure_utc(moment, field)
    if not EARLIEST <= moment <= LATEST:
        from loyaltykit.errors import InvalidArgument

        raise InvalidArgument(
            field,
            f"{field} must be between {EARLIEST.isoformat()} and {LATEST.isoformat()},"
            f" got {moment.isoformat()}",
        )
    return moment


@runtime_checkable
class Clock(Protocol):
    """Anything that can tell the current UTC instant."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that only moves when told to; shared by a program, its fakes and its tests."""

    __slots__ = ("_lock", "_now")

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = (
            within_range(start, "start") if start is not None else datetime(2024, 1, 1, tzinfo=UTC)
        )

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> datetime:
        """Jump to `moment` (backwards too: useful for seeding historical data), within
        [EARLIEST, LATEST]."""
        with self._lock:
            self._now = within_range(moment, "moment")
            return self._now

    def advance(self, delta: timedelta | float = 0.0) -> datetime:
        """Move forward by a timedelta or a number of seconds; never backwards."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            from loyaltykit.errors import InvalidArgument

            raise InvalidArgument("delta", f"cannot advance the clock by a negative {step}")
        with self._lock:
            if step > LATEST - self._now:
                from loyaltykit.errors import InvalidArgument

                raise InvalidArgument(
                    "delta", f"advancing by {step} would pass {LATEST.isoformat()}"
                )
            self._now = self._now + step
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"
