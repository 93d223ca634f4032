"""The program as JSON-safe documents: its snapshot and its derived state.

Each function is a method of `Program` (bound there by name, see `loyaltykit.program`);
the journal itself, `replay` and `restore` belong to `ProgramKernel`.
"""

from __future__ import annotations

from typing import Any

from loyaltykit._kernel import ProgramKernel


def snapshot(self: ProgramKernel) -> dict[str, Any]:
    """The whole program as JSON-safe data (settings and journal)."""
    from loyaltykit.serialization import snapshot as document

    with self._lock:
        self._begin_read()
        return document(self)


def state(self: ProgramKernel) -> dict[str, Any]:
    """The current derived state as JSON-safe data; equal for a program and its replay."""
    from loyaltykit.serialization import state_document

    with self._lock:
        self._begin_read()
        return state_document(self._state)
