"""How events and state snapshots are written into a store, and read back.

Events: each journal event becomes one row (type name, strict JSON text). A ledger row
(`ledger.Row`, the bulk of every journal) is written as a JSON array in `Transaction`'s
field order with its instants as ISO-8601 text, and read straight back into a row; every
other event goes through the snapshot converter (`serialization.event_to_data`), so the
store's JSON is the same vocabulary as `Program.snapshot()`.

State snapshots are a cache of the fold, never the truth: opening a program loads the
newest snapshot whose format matches this version of the code and replays the events
after it; a snapshot of another format is ignored and the journal replayed instead. They
are pickles (the fold's objects, as they are, load about ten times faster than any
rebuild from JSON), read through an unpickler that only admits the classes a `State`
holds, so a tampered snapshot can at worst be refused, never run code.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from datetime import UTC, datetime
from typing import Any

import attrs

from loyaltykit.errors import InvalidArgument
from loyaltykit.ledger import (
    AUTO_APPROVE_AT,
    CREATED_AT,
    EXPIRES_AT,
    RESOLVED_AT,
    Row,
    Transaction,
)
from loyaltykit.orders import ClawbackPolicy
from loyaltykit.state import State

__all__ = [
    "ROW_TYPE",
    "decode_event",
    "encode_event",
    "state_format",
    "state_from_bytes",
    "state_to_bytes",
]

ROW_TYPE = "Transaction"
"""The type name stored for ledger rows (the same name `Program.snapshot()` uses)."""

_INSTANTS = (CREATED_AT, EXPIRES_AT, AUTO_APPROVE_AT, RESOLVED_AT)
_dumps = json.JSONEncoder(allow_nan=False, separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads
_fromiso = datetime.fromisoformat


def encode_event(event: object) -> tuple[str, str]:
    """(type name, JSON text) of one journal event; rows and Transactions as arrays."""
    if type(event) is tuple or isinstance(event, Transaction):
        values = list(event)
        for position in _INSTANTS:
            instant = values[position]
            if instant is not None:
                values[position] = instant.isoformat()
        return ROW_TYPE, _dumps(values)
    from loyaltykit.serialization import event_to_data

    data = event_to_data(event)
    name = data.pop("type")
    return str(name), _dumps(data)


def decode_event(kind: str, text: str) -> object:
    """The inverse of `encode_event`: a row for a ledger entry, else the event object."""
    if kind == ROW_TYPE:
        values = _loads(text)
        if not isinstance(values, list) or len(values) != len(Transaction._fields):
            raise InvalidArgument("journal", f"malformed ledger row in the store: {text[:200]!r}")
        for position in _INSTANTS:
            instant = values[position]
            if instant is not None:
                values[position] = _fromiso(instant)
        row: Row = tuple(values)
        return row
    from loyaltykit.serialization import event_from_data

    data = _loads(text)
    if not isinstance(data, dict):
        raise InvalidArgument("journal", f"malformed {kind} event in the store")
    data["type"] = kind
    return event_from_data(data)


# -- state snapshots ------------------------------------------------------------------------

_STATE_MODULES = (
    "loyaltykit.coupons",
    "loyaltykit.indexes",
    "loyaltykit.ledger",
    "loyaltykit.members",
    "loyaltykit.orders",
    "loyaltykit.referrals",
    "loyaltykit.rewards",
    "loyaltykit.rules",
    "loyaltykit.tiers",
    "loyaltykit.state",
)
_ALLOWED_GLOBALS = frozenset(
    {
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "bytearray"),
        ("datetime", "datetime"),
        ("datetime", "date"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("decimal", "Decimal"),
        ("zoneinfo", "ZoneInfo"),
        ("zoneinfo._zoneinfo", "ZoneInfo._unpickle"),
        ("zoneinfo", "ZoneInfo._unpickle"),
        ("array", "array"),
        ("array", "_array_reconstructor"),
        ("collections", "deque"),
        ("collections", "OrderedDict"),
        ("sortedcontainers.sortedlist", "SortedList"),
        ("sortedcontainers.sorteddict", "SortedDict"),
        ("sortedcontainers.sortedset", "SortedSet"),
    }
)


class _StateUnpickler(pickle.Unpickler):
    """Admits only the classes a `State` is made of (no functions, no other modules)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        if module.startswith("loyaltykit.") and "." not in name:
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise pickle.UnpicklingError(f"a state snapshot may not hold {module}.{name}")


_format: str | None = None


def state_format() -> str:
    """A fingerprint of the fold's data layout: the attribute names of `State` and the
    fields of every class it holds. A snapshot is only loaded by code with the same
    fingerprint, so changing the layout (a new index, a renamed field) never misreads an
    old snapshot: it is ignored and the journal replayed."""
    global _format
    if _format is None:
        import importlib

        parts = [repr(sorted(vars(State(ClawbackPolicy.NEGATIVE_BALANCE, UTC))))]
        for module_name in _STATE_MODULES:
            module = importlib.import_module(module_name)
            for name in sorted(vars(module)):
                cls = getattr(module, name)
                if isinstance(cls, type) and cls.__module__ == module_name:
                    parts.append(f"{module_name}.{name}:{_layout(cls)}")
        digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
        _format = f"loyaltykit.state/1+{digest}"
    return _format


def _layout(cls: type) -> str:
    if attrs.has(cls):
        return ",".join(f.name for f in attrs.fields(cls))
    fields = getattr(cls, "_fields", None) or getattr(cls, "__slots__", None)
    if fields:
        return ",".join(fields)
    members = getattr(cls, "__members__", None)
    if members:
        return ",".join(members)
    return ""


_TRANSIENT = frozenset({"_handlers", "_periods"})
"""What a snapshot leaves out: the dispatch table and caches."""


def state_to_bytes(state: State) -> bytes:
    """The fold's current data as a snapshot (see the module docstring)."""
    data = {k: v for k, v in vars(state).items() if k not in _TRANSIENT}
    return pickle.dumps(data, protocol=5)


def state_from_bytes(blob: bytes, policy: ClawbackPolicy, zone: Any) -> State:
    """Rebuild a `State` from `state_to_bytes` output; `UnpicklingError` and friends
    mean the snapshot is unusable (the caller replays the journal instead)."""
    data = _StateUnpickler(io.BytesIO(blob)).load()
    if not isinstance(data, dict):
        raise pickle.UnpicklingError("a state snapshot must hold a mapping")
    state = State(policy, zone)
    expected = set(vars(state)) - _TRANSIENT
    if set(data) != expected:
        raise pickle.UnpicklingError("the snapshot's state has another layout")
    handlers = state._handlers
    vars(state).update(data)
    state._handlers = handlers
    state.policy = policy
    state.zone = zone
    state.share_ids()
    return state
