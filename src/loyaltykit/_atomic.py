"""The program's lock, which also makes every command all-or-nothing.

Commands validate before they emit, so a `LoyaltyError` normally leaves nothing behind.
This lock is the safety net for the rest: if a command raises after it has emitted events
(a bug, or an instant no `datetime` can hold), the outermost holder cuts the journal back
to where the command began and rebuilds the state from it, so the journal and the state
never keep half a command. The rebuild costs one fold of the journal, paid only then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

__all__ = ["AtomicLock"]


class AtomicLock:
    """A re-entrant lock whose outermost `with` block undoes its events on an exception."""

    __slots__ = ("_depth", "_journal", "_lock", "_mark", "_rollback")

    def __init__(self, journal: list[object], rollback: Callable[[int], None]) -> None:
        self._lock = threading.RLock()
        self._journal = journal
        self._rollback = rollback
        self._depth = 0
        self._mark = 0

    def __enter__(self) -> None:
        self._lock.acquire()
        if self._depth == 0:
            self._mark = len(self._journal)
        self._depth += 1

    def keep(self) -> None:
        """Keep the events emitted so far even if the command fails later (time-driven
        events a command caught up on belong to the passage of time, not to it)."""
        if self._depth == 1:
            self._mark = len(self._journal)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._depth -= 1
        try:
            if exc_type is not None and self._depth == 0 and len(self._journal) > self._mark:
                self._rollback(self._mark)
        finally:
            self._lock.release()
