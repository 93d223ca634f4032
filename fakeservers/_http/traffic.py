"""Fault injection and the request journal: what a test needs to see and disturb traffic.

Both live on the `ControlPlane` (so `/_fake/faults` and `/_fake/requests` reach them) and
`BaseApp` consults them for every vendor request; control routes are never disturbed or
journaled. An injected status is raised as `InjectedFault`, a werkzeug `HTTPException`, so
each vendor renders it in its own error format.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import attrs
from werkzeug.exceptions import HTTPException

from fakeservers._http.clock import Clock
from fakeservers._http.errors import ParseError

__all__ = ["Fault", "FaultPlan", "InjectedFault", "JournalEntry", "RequestJournal"]


@attrs.frozen
class Fault:
    """Answer `status` (0: pass through) after `delay_seconds`, for the next `remaining`
    requests whose path starts with `path_prefix` (`remaining` None: until cleared)."""

    status: int = 503
    remaining: int | None = 1
    path_prefix: str = "/"
    delay_seconds: float = 0.0


class InjectedFault(HTTPException):
    """The failure a `Fault` asked for."""

    description = "Injected by the fake's control plane."

    def __init__(self, status: int) -> None:
        super().__init__()
        self.code = status


class FaultPlan:
    """Pending faults, consumed in the order they were added."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._sleep = sleep

    def add(self, fault: Fault) -> Fault:
        if not (fault.status == 0 or 400 <= fault.status <= 599):
            raise ParseError("status", "invalid", "status must be 0 or between 400 and 599")
        if fault.remaining is not None and fault.remaining < 1:
            raise ParseError("count", "invalid", "count must be at least 1 (null: until cleared)")
        if not 0 <= fault.delay_seconds <= 60:
            raise ParseError("delay_seconds", "invalid", "delay_seconds must be between 0 and 60")
        with self._lock:
            self._faults.append(fault)
        return fault

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def apply(self, path: str) -> None:
        """Consume the first fault matching `path`: wait, then raise its status (if any)."""
        with self._lock:
            fault = next((f for f in self._faults if path.startswith(f.path_prefix)), None)
            if fault is None:
                return
            index = self._faults.index(fault)
            if fault.remaining is None:
                pass
            elif fault.remaining == 1:
                del self._faults[index]
            else:
                self._faults[index] = attrs.evolve(fault, remaining=fault.remaining - 1)
        if fault.delay_seconds:
            self._sleep(fault.delay_seconds)
        if fault.status:
            raise InjectedFault(fault.status)


@attrs.frozen
class JournalEntry:
    at: str
    method: str
    path: str
    query: str
    status: int
    endpoint: str | None


class RequestJournal:
    """The last `capacity` vendor requests (oldest first), stamped by the fake's clock."""

    def __init__(self, clock: Clock, capacity: int = 1000) -> None:
        self._clock = clock
        self._entries: deque[JournalEntry] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def record(self, method: str, path: str, query: str, status: int, endpoint: str | None) -> None:
        stamp = self._clock.now().isoformat().replace("+00:00", "Z")
        with self._lock:
            self._entries.append(JournalEntry(stamp, method, path, query, status, endpoint))

    def entries(self) -> list[JournalEntry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
